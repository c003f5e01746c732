"""Core REST endpoints, one module per feature: sign-up, tokens, profile, org units,
users, roles, permissions, audit.

Thin by design: parse input, call services and selectors (which check access and write the
audit), shape output. Conventions come from kehu.core.http.
"""

from ninja import Router

from kehu.core.api.audit import audit_router
from kehu.core.api.auth import auth_router
from kehu.core.api.org import org_units_router
from kehu.core.api.profile import profile_router
from kehu.core.api.roles import permissions_router, roles_router
from kehu.core.api.users import users_router

_FEATURE_ROUTERS = (auth_router, profile_router, org_units_router, users_router, roles_router,
                    permissions_router, audit_router)

# OpenAPI operation ids stay those of the single module this package replaced
# (``kehu_core_api_<view>``), so clients generated from the spec keep their names.
for _feature_router in _FEATURE_ROUTERS:
    for _path_view in _feature_router.path_operations.values():
        for _operation in _path_view.operations:
            _operation.operation_id = f"kehu_core_api_{_operation.view_func.__name__}"

router = Router()
router.add_router("/auth", auth_router)
router.add_router("/auth", profile_router)
router.add_router("/org-units", org_units_router)
router.add_router("/users", users_router)
router.add_router("/roles", roles_router)
router.add_router("/permissions", permissions_router)
router.add_router("/audit-events", audit_router)
