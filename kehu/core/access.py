"""The access policy: what a user may do, over which records.

Reads go through ``Model.objects.visible_to(user, action)``; services use
``require`` and ``get_for`` below. Grants (kehu.core.grants) are computed once per
request (cached on the user object, which Django loads anew for every request), so role
changes apply on the user's next request; explicit shares are ``models.shared_ids``.
Dependencies run one way: access → audit → models → grants → permissions.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.exceptions import Forbidden, NotFound, ValidationFailed
from kehu.core.grants import covers as covers
from kehu.core.grants import grants as grants
from kehu.core.grants import has_perm as has_perm
from kehu.core.grants import scope_for as scope_for
from kehu.core.models import SHARE_ACTIONS as SHARE_ACTIONS
from kehu.core.models import shared_ids as shared_ids
from kehu.core.permissions import Scope

M = TypeVar("M", bound=models.Model)


def is_operator(user: Any) -> bool:
    """Whoever runs the installation (KEHU_OPERATOR_EMAILS), as opposed to its tenants'
    users: only they see the installation status page."""
    from django.conf import settings

    email = str(getattr(user, "email", "") or "").lower()
    return (bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)
            and bool(email) and email in settings.KEHU_OPERATOR_EMAILS)


def can_grant(user: Any, permissions: frozenset[str] | set[str], scope: str) -> bool:
    """A user may hand out (in a role, or a role to someone) only rights they hold."""
    return covers(grants(user), dict.fromkeys(permissions, scope))


def is_above(user: Any, subject: Any) -> bool:
    """Whether ``subject`` holds any right ``user`` lacks: such users are not theirs to
    manage (reset, unlock, re-role, deactivate)."""
    return subject.pk != user.pk and not covers(grants(user), grants(subject))


def require(user: Any, permission: str) -> None:
    """Refuse (403, audited) when no role grants the module action at all."""
    if not has_perm(user, permission):
        audit.record_denial(user, permission)
        raise Forbidden(permission_denied_detail(user, permission))


def permission_denied_detail(user: Any, permission: str) -> Any:
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
            module = getattr(model, "access_module", model._meta.model_name)
            audit.record_denial(user, f"{module}.{action}", model, pk)
    raise NotFound()
