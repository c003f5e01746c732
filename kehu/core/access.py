"""The access policy: what a user may do, over which records.

Reads go through ``Model.objects.visible_to(user, action)``; services use
``require`` and ``get_for`` below. Grants are computed once per request (cached on the
user object, which Django loads anew for every request), so role changes apply on the
user's next request.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from kehu.core.exceptions import Forbidden, NotFound
from kehu.core.permissions import Scope

M = TypeVar("M", bound=models.Model)

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


def can_grant(user: Any, permissions: frozenset[str] | set[str], scope: str) -> bool:
    """A user may hand out (in a role, or a role to someone) only rights they hold."""
    return covers(grants(user), dict.fromkeys(permissions, scope))


def is_above(user: Any, subject: Any) -> bool:
    """Whether ``subject`` holds any right ``user`` lacks: such users are not theirs to
    manage (reset, unlock, re-role, deactivate)."""
    return subject.pk != user.pk and not covers(grants(user), grants(subject))


SHARE_ACTIONS = {"view": False, "change": True}  # action → needs can_change


def shared_ids(user: Any, model: type[models.Model], action: str) -> list[int]:
    """Ids of ``model`` records explicitly shared with ``user`` for ``action``.

    Loaded once per request and model; most users have none, so list queries keep their
    simple plans.
    """
    if action not in SHARE_ACTIONS:
        return []
    cache: dict[tuple[str, str], list[int]] = user.__dict__.setdefault("_kehu_shares", {})
    key = (model._meta.label, action)
    if key not in cache:
        from django.contrib.contenttypes.models import ContentType

        from kehu.core.models import RecordShare

        shares = RecordShare.objects.filter(
            tenant_id=user.tenant_id, user_id=user.pk,
            content_type=ContentType.objects.get_for_model(model),
        )
        if SHARE_ACTIONS[action]:
            shares = shares.filter(can_change=True)
        cache[key] = list(shares.values_list("object_id", flat=True))
    return cache[key]


def scope_for(user: Any, permission: str) -> str | None:
    return grants(user).get(permission)


def has_perm(user: Any, permission: str) -> bool:
    return permission in grants(user)


def require(user: Any, permission: str) -> None:
    """Refuse (403, audited) when no role grants the module action at all."""
    if not has_perm(user, permission):
        from kehu.core import audit

        audit.record_denial(user, permission)
        raise Forbidden(permission_denied_detail(user, permission))


def permission_denied_detail(user: Any, permission: str) -> Any:
    from django.utils.translation import gettext as _

    return _("You do not have permission to do this (%(permission)s).") % {
        "permission": permission
    }


def allows(user: Any, obj: Any, action: str) -> bool:
    """Whether ``user`` may ``action`` this loaded record: ``visible_to`` for one row,
    without a query (lists ask it per row, e.g. to unmask a phone)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if obj.tenant_id != user.tenant_id:
        return False
    scope = scope_for(user, f"{obj.access_module}.{action}")
    if scope is None:
        return False
    if scope == Scope.TENANT or obj.in_scope(user, scope):
        return True
    return obj.pk in shared_ids(user, type(obj), action)


def unit_in_scope(user: Any, permission: str, unit: Any) -> bool:
    """Whether ``unit`` lies inside the area where ``user`` holds ``permission``."""
    scope = scope_for(user, permission)
    if scope is None or unit.tenant_id != user.tenant_id:
        return False
    return scope == Scope.TENANT or bool(unit.in_scope(user, scope))


def ensure_still_visible(obj: models.Model, user: Any) -> None:
    """Services call this after writing: the result must stay visible to its writer."""
    from django.utils.translation import gettext as _

    from kehu.core.exceptions import ValidationFailed

    manager: Any = type(obj)._default_manager
    if not manager.visible_to(user, "view").filter(pk=obj.pk).exists():
        raise ValidationFailed(_("The change would move the record outside the area you can see."))


def get_for(
    model: type[M], user: Any, pk: Any, action: str = "view", *, for_update: bool = False
) -> M:
    """The record if ``user`` may ``action`` it, else NotFound — whether missing or forbidden.

    A forbidden attempt on an existing record of the user's own tenant is audited as a
    denial; ids of other tenants are indistinguishable from missing ones.
    """
    manager: Any = model._default_manager
    try:
        qs = manager.visible_to(user, action)
        if for_update:
            qs = qs.select_for_update(of=("self",))
        return qs.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):  # type: ignore[attr-defined]
        pass
    if user is not None and getattr(user, "tenant_id", None) is not None:
        try:
            exists = manager.filter(tenant_id=user.tenant_id, pk=pk).exists()
        except (ValueError, TypeError):
            exists = False
        if exists:
            from kehu.core import audit

            module = getattr(model, "access_module", model._meta.model_name)
            audit.record_denial(user, f"{module}.{action}", model, pk)
    raise NotFound()
