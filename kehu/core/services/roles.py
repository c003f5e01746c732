"""Writes on roles: create, change, delete custom roles."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit, permissions
from kehu.core.exceptions import Conflict, ValidationFailed
from kehu.core.models import Role, User
from kehu.core.permissions import Scope
from kehu.core.services.base import refuse, save_changes
from kehu.core.validators import clean_name
from kehu.core.versions import check_version


def _clean_role_fields(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"], "name")
    if "description" in changes:
        description = (changes["description"] or "").strip()
        if len(description) > 300:
            raise ValidationFailed(
                fields={"description": [_("At most %(n)d characters.") % {"n": 300}]}
            )
        cleaned["description"] = description
    if "permissions" in changes:
        known = set(permissions.all_permissions())
        wanted = list(dict.fromkeys(changes["permissions"] or []))
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise ValidationFailed(
                fields={"permissions": [_("Unknown permission: %(p)s") % {"p": ", ".join(unknown)}]}
            )
        cleaned["permissions"] = sorted(wanted)
    if "data_scope" in changes:
        if changes["data_scope"] not in Scope.ORDER:
            raise ValidationFailed(fields={"data_scope": [_("Unknown data scope.")]})
        cleaned["data_scope"] = changes["data_scope"]
    return cleaned


def _ensure_can_grant_role(actor: User, wanted: set[str] | frozenset[str], scope: str) -> None:
    if not access.can_grant(actor, wanted, scope):
        raise refuse(actor, "roles.change",
                      _("A role cannot hold rights you do not have yourself."))


def _unique_role_name(tenant_id: int, name: str, exclude_pk: int | None = None) -> None:
    qs = Role.objects.filter(tenant_id=tenant_id, name=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise Conflict(fields={"name": [_("A role with this name already exists.")]})


@transaction.atomic
def role_create(
    *, actor: User, name: str, permissions: list[str], data_scope: str, description: str = ""
) -> Role:
    access.require(actor, "roles.create")
    fields = _clean_role_fields(
        {"name": name, "permissions": permissions, "data_scope": data_scope,
         "description": description}
    )
    _ensure_can_grant_role(actor, set(fields["permissions"]), fields["data_scope"])
    _unique_role_name(actor.tenant_id, fields["name"])
    role = Role.objects.create(tenant_id=actor.tenant_id, **fields)
    audit.record(actor=actor, action="role.create", obj=role,
                 changes=audit.diff(Role, {}, audit.snapshot(role)))
    return role


@transaction.atomic
def role_update(
    *, actor: User, role_id: int, expected_version: int | None = None, **changes: Any
) -> Role:
    access.require(actor, "roles.change")
    role = access.get_for(Role, actor, role_id, "change", for_update=True)
    check_version(role, expected_version)
    if role.is_builtin:
        raise Conflict(_("Built-in roles cannot be changed; create a custom role instead."))
    fields = _clean_role_fields(changes)
    # The role as it is and as it will be must both lie within the editor's own rights.
    _ensure_can_grant_role(actor, role.effective_permissions(), role.data_scope)
    _ensure_can_grant_role(
        actor, set(fields.get("permissions", role.permissions)),
        fields.get("data_scope", role.data_scope),
    )
    if "name" in fields:
        _unique_role_name(actor.tenant_id, fields["name"], role.pk)
    before = audit.snapshot(role)
    for key, value in fields.items():
        setattr(role, key, value)
    diff = save_changes(role, before)
    if diff:
        audit.record(actor=actor, action="role.update", obj=role, changes=diff)
    return role


@transaction.atomic
def role_delete(*, actor: User, role_id: int, expected_version: int | None = None) -> Role:
    """Delete a custom role nobody holds; returns it (unsaved) for the caller's message."""
    access.require(actor, "roles.delete")
    role = access.get_for(Role, actor, role_id, "delete", for_update=True)
    check_version(role, expected_version)
    if role.is_builtin:
        raise Conflict(_("Built-in roles cannot be deleted."))
    holders = role.users.count()
    if holders:
        raise Conflict(
            _("The role is still held by %(n)d users; take it from them first.") % {"n": holders}
        )
    audit.record(actor=actor, action="role.delete", obj=role,
                 changes=audit.diff(Role, audit.snapshot(role), {}))
    role.delete()
    return role

