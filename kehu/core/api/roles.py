"""Role endpoints (``/roles``) and the permission registry (``/permissions``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import access, permissions, selectors
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)
from kehu.core.models import Role
from kehu.core.schemas.roles import (
    PermissionFilters,
    PermissionOut,
    RoleFilters,
    RoleIn,
    RoleOut,
    RolePatch,
)
from kehu.core.services import roles as services

roles_router = Router(tags=["roles"])
permissions_router = Router(tags=["permissions"])


@roles_router.get("", response=responses({200: Page[RoleOut]}))
def role_list(request: HttpRequest, filters: Query[RoleFilters]) -> dict:
    qs = selectors.role_list(actor=current_user(request), builtin=filters.builtin)
    return paginate(qs, filters, filters.ordering)


@roles_router.post("", response=responses({201: RoleOut}, 403, 409))
@idempotent()
def role_create(request: HttpRequest, payload: RoleIn, response: HttpResponse) -> Status:
    """Create a custom role: module actions plus a data scope."""
    role = services.role_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, role)
    return Status(201, role)


@roles_router.get("/{role_id}", response=responses({200: RoleOut}, 404))
def role_get(request: HttpRequest, role_id: DbId, response: HttpResponse) -> object:
    role = access.get_for(Role, current_user(request), role_id)
    set_etag(response, role)
    return role


@roles_router.patch("/{role_id}", response=responses({200: RoleOut}, 403, 404, 409, 412, 428))
@needs_if_match
def role_update(request: HttpRequest, role_id: DbId, payload: RolePatch,
                response: HttpResponse) -> object:
    """Change a custom role (built-in roles cannot be changed)."""
    role = services.role_update(
        actor=current_user(request), role_id=role_id, expected_version=if_match(request),
        **payload.changes(),
    )
    set_etag(response, role)
    return role


@roles_router.delete("/{role_id}", response=responses({204: None}, 403, 404, 409, 412, 428))
@needs_if_match
def role_delete(request: HttpRequest, role_id: DbId) -> Status:
    """Delete a custom role nobody holds any more."""
    services.role_delete(
        actor=current_user(request), role_id=role_id, expected_version=if_match(request)
    )
    return Status(204, None)


# ---------------------------------------------------------------------------- permissions


@permissions_router.get("", response=responses({200: Page[PermissionOut]}))
def permission_list(request: HttpRequest, filters: Query[PermissionFilters]) -> dict:
    """The registry of module actions that roles are made of."""
    current_user(request)
    rows = [
        {"permission": f"{module.key}.{action}", "module": module.key,
         "module_label": str(module.label), "action": action,
         "label": permissions.permission_label(f"{module.key}.{action}")}
        for module in permissions.MODULES.values() for action in module.actions
    ]
    return paginate(rows, filters)

