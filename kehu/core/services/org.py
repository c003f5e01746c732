"""Writes on the org tree: create, rename, (de)activate, move units."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import Conflict, ValidationFailed
from kehu.core.models import OrgUnit, Tenant, User
from kehu.core.services.base import save_changes
from kehu.core.validators import clean_name
from kehu.core.versions import bump_version, check_version


def lock_tree(tenant_id: int) -> None:
    """Serialise a tenant's tree writes (create, move, (de)activate, user placement) so
    that concurrent moves cannot build a cycle or write a path from a stale parent.
    PostgreSQL locks the tenant row; SQLite's IMMEDIATE transactions already serialise."""
    list(Tenant.objects.select_for_update().filter(pk=tenant_id).values_list("pk"))


def _owned_record_counts(unit: OrgUnit) -> dict[str, int]:
    """Active records any app keeps under ``unit``: users, sub-units, business records."""
    counts: dict[str, int] = {}
    users = User.objects.filter(org_unit=unit, is_active=True).count()
    if users:
        counts[str(User._meta.verbose_name_plural)] = users
    children = OrgUnit.objects.filter(parent=unit, is_active=True).count()
    if children:
        counts[str(OrgUnit._meta.verbose_name_plural)] = children
    for model in apps.get_models():
        if model in (User, OrgUnit) or not issubclass(model, models.Model):
            continue
        field_names = {f.name for f in model._meta.concrete_fields}
        if "org_unit" not in field_names or not hasattr(model, "access_module"):
            continue
        if model._meta.model_name == "auditevent":
            continue
        qs = model._default_manager.filter(org_unit=unit)
        if "is_active" in field_names:
            qs = qs.filter(is_active=True)
        n = qs.count()
        if n:
            counts[str(model._meta.verbose_name_plural)] = n
    return counts


@transaction.atomic
def org_unit_create(
    *, actor: User, parent_id: int, name: str, kind: str = OrgUnit.Kind.OTHER, code: str = ""
) -> OrgUnit:
    access.require(actor, "org.create")
    lock_tree(actor.tenant_id)
    parent = access.get_for(OrgUnit, actor, parent_id, "create")
    if not parent.is_active:
        raise ValidationFailed(fields={"parent_id": [_("The parent unit is deactivated.")]})
    name = clean_name(name, "name")
    if kind not in OrgUnit.Kind.values:
        raise ValidationFailed(fields={"kind": [_("Unknown unit type.")]})
    if _sibling_name_taken(actor.tenant_id, parent.pk, name):
        raise Conflict(fields={"name": [_("A unit with this name already exists here.")]})
    unit = OrgUnit.objects.create(
        tenant_id=actor.tenant_id, parent=parent, name=name, kind=kind, code=_clean_code(code),
        depth=parent.depth + 1,
    )
    unit.path = f"{parent.path}{unit.pk}/"
    unit.save(update_fields=["path"])
    access.ensure_still_visible(unit, actor)
    audit.record(actor=actor, action="org_unit.create", obj=unit,
                 changes=audit.diff(OrgUnit, {}, audit.snapshot(unit)))
    return unit


@transaction.atomic
def org_unit_update(
    *, actor: User, unit_id: int, expected_version: int | None = None, **changes: Any
) -> OrgUnit:
    """Rename or retype a unit, change its code, or (de)activate it."""
    access.require(actor, "org.change")
    lock_tree(actor.tenant_id)
    unit = access.get_for(OrgUnit, actor, unit_id, "change", for_update=True)
    check_version(unit, expected_version)
    before = audit.snapshot(unit)
    if "name" in changes:
        name = clean_name(changes["name"], "name")
        if name != unit.name and _sibling_name_taken(
            unit.tenant_id, unit.parent_id, name, exclude_pk=unit.pk
        ):
            raise Conflict(fields={"name": [_("A unit with this name already exists here.")]})
        unit.name = name
    if "code" in changes:
        unit.code = _clean_code(changes["code"])
    if "kind" in changes:
        if changes["kind"] not in OrgUnit.Kind.values:
            raise ValidationFailed(fields={"kind": [_("Unknown unit type.")]})
        unit.kind = changes["kind"]
    if "is_active" in changes and changes["is_active"] != unit.is_active:
        if changes["is_active"]:
            if unit.parent_id and not OrgUnit.objects.get(pk=unit.parent_id).is_active:
                raise ValidationFailed(
                    fields={"is_active": [_("Reactivate the parent unit first.")]}
                )
        else:
            _refuse_deactivation(unit)
        unit.is_active = bool(changes["is_active"])
    diff = save_changes(unit, before)
    if diff:
        audit.record(actor=actor, action="org_unit.update", obj=unit, changes=diff)
    return unit


def _sibling_name_taken(tenant_id: int, parent_id: int | None, name: str,
                        exclude_pk: int | None = None) -> bool:
    """Sibling units have distinct names (the constraint core_unique_sibling_name)."""
    siblings = OrgUnit.objects.filter(tenant_id=tenant_id, parent_id=parent_id, name=name)
    if exclude_pk is not None:
        siblings = siblings.exclude(pk=exclude_pk)
    return siblings.exists()


def _clean_code(value: str | None) -> str:
    code = (value or "").strip()
    if len(code) > 50:
        raise ValidationFailed(fields={"code": [_("At most %(n)d characters.") % {"n": 50}]})
    return code


def _refuse_deactivation(unit: OrgUnit) -> None:
    if unit.parent_id is None:
        raise ValidationFailed(
            fields={"is_active": [_("The company's root unit cannot be deactivated.")]}
        )
    counts = _owned_record_counts(unit)
    if counts:
        detail = _(", ").join(f"{label}: {n}" for label, n in counts.items())
        raise Conflict(
            _("This unit still owns active records (%(detail)s). Move or deactivate them first.")
            % {"detail": detail},
            fields={"is_active": [detail]},
        )


def org_unit_deactivate(*, actor: User, unit_id: int,
                        expected_version: int | None = None) -> OrgUnit:
    return org_unit_update(actor=actor, unit_id=unit_id, expected_version=expected_version,
                           is_active=False)


@transaction.atomic
def org_unit_move(
    *, actor: User, unit_id: int, new_parent_id: int, expected_version: int | None = None
) -> OrgUnit:
    """Move a unit with its whole subtree under another parent: one UPDATE of the paths."""
    access.require(actor, "org.change")
    lock_tree(actor.tenant_id)
    unit = access.get_for(OrgUnit, actor, unit_id, "change", for_update=True)
    check_version(unit, expected_version)
    new_parent = access.get_for(OrgUnit, actor, new_parent_id, "change")
    if unit.parent_id is None:
        raise ValidationFailed(fields={"parent_id": [_("The root unit cannot be moved.")]})
    if unit.parent_id == new_parent.pk:
        return unit  # already there: nothing to do, nothing to audit
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed(
            fields={"parent_id": [_("A unit cannot be moved under itself or its own sub-unit.")]}
        )
    if not new_parent.is_active:
        raise ValidationFailed(fields={"parent_id": [_("The new parent unit is deactivated.")]})
    if _sibling_name_taken(unit.tenant_id, new_parent.pk, unit.name, exclude_pk=unit.pk):
        raise Conflict(
            fields={"parent_id": [_("The new parent already has a unit with this name.")]}
        )
    old_parent_id = unit.parent_id
    old_path = unit.path
    new_path = f"{new_parent.path}{unit.pk}/"
    depth_delta = new_parent.depth + 1 - unit.depth
    OrgUnit.objects.filter(tenant_id=unit.tenant_id, path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    unit.refresh_from_db()
    unit.parent = new_parent
    bump_version(unit)
    access.ensure_still_visible(unit, actor)
    audit.record(actor=actor, action="org_unit.move", obj=unit,
                 changes={"parent": [old_parent_id, new_parent.pk]})
    return unit

