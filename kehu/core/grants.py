"""What a user's roles grant: permission → widest data scope, cached per request.

Pure (roles and the permission registry only), so that both the models' ``visible_to``
and the access policy (kehu.core.access) use it without importing each other.
"""

from __future__ import annotations

from typing import Any

from kehu.core.permissions import Scope

_CACHE_ATTR = "_kehu_grants"


def grants(user: Any) -> dict[str, str]:
    """Permission name → widest data scope among the user's roles that grant it."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    result: dict[str, str] = {}
    if user is not None and getattr(user, "is_authenticated", False) and user.is_active:
        for role in user.roles.all():
            for permission in role.effective_permissions():
                result[permission] = Scope.widest(result.get(permission), role.data_scope)
    setattr(user, _CACHE_ATTR, result)
    return result


def covers(held: dict[str, str], wanted: dict[str, str]) -> bool:
    """Whether ``held`` grants every permission of ``wanted`` with at least its scope."""
    return all(
        permission in held and Scope.ORDER.index(held[permission]) >= Scope.ORDER.index(scope)
        for permission, scope in wanted.items()
    )


def scope_for(user: Any, permission: str) -> str | None:
    return grants(user).get(permission)


def has_perm(user: Any, permission: str) -> bool:
    return permission in grants(user)
