"""Relationships between customers and their ids in external systems."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.versions import bump_version, check_version
from kehu.customers.models import Customer, ExternalId, Relationship, RelationshipKind
from kehu.customers.services.cleaning import clean_choice, clean_text
from kehu.customers.services.common import visible_customer


@transaction.atomic
def relationship_add(*, actor: User, source_id: int, target_id: int, kind: str,
                     note: str = "") -> Relationship:
    access.require(actor, "customers.change")
    source = access.get_for(Customer, actor, source_id, "change")
    target = visible_customer(actor, target_id, field="target_id")
    errors: dict[str, list[str]] = {}
    kind = clean_choice(kind, RelationshipKind, "kind", errors, blank=False)
    note = clean_text(note, "note", 200, errors)
    if source.pk == target.pk:
        errors.setdefault("target_id", []).append(_("A customer cannot relate to itself."))
    if errors:
        raise ValidationFailed(fields=errors)
    if Relationship.objects.filter(source=source, target=target, kind=kind).exists():
        raise Conflict(fields={"target_id": [_("This relationship already exists.")]})
    rel = Relationship.objects.create(tenant_id=actor.tenant_id, source=source, target=target,
                                      kind=kind, note=note)
    bump_version(source)  # relationships are part of the customer: its ETag changes
    audit.record(actor=actor, action="customer.relationship_add", obj=source,
                 changes={"relationship": [None, f"{kind} → {target.pk}"]})
    return rel


@transaction.atomic
def relationship_remove(*, actor: User, relationship_id: int, customer_id: int | None = None,
                        expected_version: int | None = None) -> None:
    """Remove a relationship of ``customer_id`` (either end, when given)."""
    access.require(actor, "customers.change")
    rel = Relationship.objects.filter(tenant_id=actor.tenant_id, pk=relationship_id) \
        .select_related("source__org_unit").first()
    if rel is None or not access.allows(actor, rel.source, "change") or (
            customer_id is not None and customer_id not in (rel.source_id, rel.target_id)):
        raise NotFound()
    check_version(rel.source, expected_version)
    bump_version(rel.source)
    audit.record(actor=actor, action="customer.relationship_remove", obj=rel.source,
                 changes={"relationship": [f"{rel.kind} → {rel.target_id}", None]})
    rel.delete()


@transaction.atomic
def external_id_add(*, actor: User, customer_id: int, system: str,
                    external_id: str) -> ExternalId:
    access.require(actor, "customers.change")
    customer = access.get_for(Customer, actor, customer_id, "change")
    errors: dict[str, list[str]] = {}
    system = clean_text(system, "system", 50, errors)
    external_id = clean_text(external_id, "external_id", 100, errors)
    for key, value in (("system", system), ("external_id", external_id)):
        if not value:
            errors.setdefault(key, []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(fields=errors)
    if ExternalId.objects.filter(tenant_id=actor.tenant_id, system=system,
                                 external_id=external_id).exists():
        raise Conflict(fields={"external_id": [
            _("This id of that system is already attached to a customer.")]})
    ext = ExternalId.objects.create(tenant_id=actor.tenant_id, customer=customer, system=system,
                                    external_id=external_id)
    bump_version(customer)
    audit.record(actor=actor, action="customer.external_id_add", obj=customer,
                 changes={"external_id": [None, f"{system}:{external_id}"]})
    return ext


@transaction.atomic
def external_id_remove(*, actor: User, external_id_pk: int, customer_id: int | None = None,
                       expected_version: int | None = None) -> None:
    access.require(actor, "customers.change")
    ext = ExternalId.objects.filter(tenant_id=actor.tenant_id, pk=external_id_pk) \
        .select_related("customer__org_unit").first()
    if ext is None or not access.allows(actor, ext.customer, "change") or (
            customer_id is not None and ext.customer_id != customer_id):
        raise NotFound()
    check_version(ext.customer, expected_version)
    bump_version(ext.customer)
    audit.record(actor=actor, action="customer.external_id_remove", obj=ext.customer,
                 changes={"external_id": [f"{ext.system}:{ext.external_id}", None]})
    ext.delete()


