"""Writes of customers: create, update, status, bulk actions, reveal, hierarchy, codes.

Each service is atomic, checks access through kehu.core.access, records its audit event
in the same transaction and re-checks that the result stays visible to its writer.
Input is cleaned by ``services.cleaning``, which imports use too, so every door accepts
and refuses the same values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, LPad, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit, crypto
from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.placement import placement
from kehu.core.versions import bump_version, check_version
from kehu.customers import normalize, quality
from kehu.customers.models import Alias, Customer, CustomerTag, Kind, Status, StatusChange, Tag
from kehu.customers.services.cleaning import clean_choice, clean_customer_fields, clean_text
from kehu.customers.services.common import tags_for, visible_customer

GENERATED_CODE_RE = re.compile(r"^C\d{8,}$")
MAX_BULK = 1000


def refresh_derived(customer: Customer, *, has_contact: bool | None = None,
                    alias_names: Iterable[str] = ()) -> None:
    """Recompute what follows from the fields: name key, phone digits, search columns
    and the quality score. Call before saving."""
    customer.name_key = normalize.name_key(customer.name)
    customer.phone_digits = normalize.phone_digits(customer.phones)[:500]
    others = [customer.code, customer.uscc, customer.phone_digits]
    customer.search_text, customer.search_grams = normalize.search_document(
        [customer.name, customer.short_name, *alias_names], others)
    if has_contact is None:
        has_contact = bool(customer.pk) and customer.contact_links.exists()
    customer.quality_score, _failed = quality.assess(customer, has_contact)


def alias_names(customer: Customer) -> list[str]:
    if not customer.pk:
        return []
    return list(customer.aliases.filter(kind__in=[Alias.AliasKind.NAME, Alias.AliasKind.CODE])
                .values_list("value", flat=True))


def assign_generated_codes(tenant_id: int) -> None:
    """Give every customer of the tenant without a code its generated one, C + id."""
    Customer.objects.filter(tenant_id=tenant_id, code="").update(
        code=Concat(Value("C"), LPad(Cast("id", CharField()), 8, Value("0"))))


def _ensure_code(actor: User, code: str, customer: Customer | None) -> str:
    if not code:
        return ""
    access.require(actor, "customers.admin")
    own_generated = customer is not None and code == f"C{customer.pk:08d}"
    if GENERATED_CODE_RE.match(code) and not own_generated:
        raise ValidationFailed(fields={"code": [
            _("Codes of the form C + 8 digits are generated; choose another code.")]})
    taken = Customer.objects.filter(tenant_id=actor.tenant_id, code=code)
    if customer is not None:
        taken = taken.exclude(pk=customer.pk)
    if taken.exists():
        raise Conflict(fields={"code": [_("Another customer already has this code.")]})
    return code




def set_parent(actor: User, customer: Customer, parent_id: int | None) -> None:
    """Place ``customer`` under ``parent_id`` (None: a top-level customer), refusing
    cycles, and rewrite the hierarchy paths of its whole subtree."""
    old_path = customer.hierarchy_path
    if parent_id is None:
        customer.parent = None
        new_path = f"/{customer.pk}/"
    else:
        parent = visible_customer(actor, parent_id, field="parent_id")
        if parent.pk == customer.pk or parent.hierarchy_path.startswith(old_path or "\0"):
            raise ValidationFailed(fields={"parent_id": [
                _("A customer cannot sit under itself or one of its own subsidiaries.")]})
        customer.parent = parent
        new_path = f"{parent.hierarchy_path}{customer.pk}/"
    customer.hierarchy_path = new_path
    if old_path and old_path != new_path:
        Customer.objects.filter(tenant_id=customer.tenant_id,
                                hierarchy_path__startswith=old_path) \
            .exclude(pk=customer.pk) \
            .update(hierarchy_path=Concat(Value(new_path),
                                          Substr("hierarchy_path", len(old_path) + 1)))


def _record_status(actor: User, customer: Customer, old: str, reason: str = "") -> None:
    StatusChange.objects.create(tenant_id=customer.tenant_id, customer=customer,
                                from_status=old, to_status=customer.status, reason=reason,
                                actor=actor, changed_at=customer.status_changed_at)


@transaction.atomic
def customer_create(*, actor: User, name: str, kind: str = Kind.ENTERPRISE,
                    owner_id: int | None = None, org_unit_id: int | None = None,
                    parent_id: int | None = None, tags: Iterable[str] = (),
                    **fields: Any) -> Customer:
    access.require(actor, "customers.create")
    kind_value = clean_customer_fields({"kind": kind}, kind=kind)["kind"]
    values = clean_customer_fields({"name": name, **fields}, kind=kind_value)
    code = _ensure_code(actor, values.pop("code", ""), None)
    if owner_id is None and org_unit_id is None:
        owner_id = actor.pk
    owner, unit = placement(actor, "customers.create", owner_id, org_unit_id)
    customer = Customer(tenant_id=actor.tenant_id, kind=kind_value, owner=owner, org_unit=unit,
                        code=code, **values)
    refresh_derived(customer, has_contact=False)
    customer.save()
    set_parent(actor, customer, parent_id)
    if not code:
        customer.code = f"C{customer.pk:08d}"
    refresh_derived(customer, has_contact=False)
    customer.save()
    if tags:
        customer.tags.set(tags_for(actor, tags),
                          through_defaults={"tenant_id": customer.tenant_id})
    _record_status(actor, customer, "")
    access.ensure_still_visible(customer, actor)
    audit.record(actor=actor, action="customer.create", obj=customer,
                 changes=audit.diff(Customer, {}, audit.snapshot(customer)))
    return customer


@transaction.atomic
def customer_update(*, actor: User, customer_id: int, expected_version: int | None = None,
                    **changes: Any) -> Customer:
    """Change fields of a customer. ``status`` goes through ``customer_set_status``;
    ownership through ``customer_transfer``."""
    access.require(actor, "customers.change")
    customer = access.get_for(Customer, actor, customer_id, "change", for_update=True)
    if customer.merged_into_id:
        raise NotFound()
    check_version(customer, expected_version)
    before = audit.snapshot(customer)
    tags = changes.pop("tags", None)
    parent_given = "parent_id" in changes
    parent_id = changes.pop("parent_id", None)
    kind = changes.get("kind", customer.kind)
    values = clean_customer_fields(changes, kind=kind)
    if kind == Kind.INDIVIDUAL and "uscc" not in values and customer.uscc:
        raise ValidationFailed(fields={"kind": [
            _("Remove the credit code before making this customer an individual.")]})
    if kind != Kind.INDIVIDUAL and "id_number_hash" not in values and customer.id_number_hash:
        raise ValidationFailed(fields={"kind": [
            _("Remove the ID number before making this customer an organisation.")]})
    if "status" in values:
        raise ValidationFailed(fields={"status": [_("Change the status with its own action.")]})
    if "code" in values:
        if values["code"] == customer.code:
            values.pop("code")
        else:
            values["code"] = _ensure_code(actor, values["code"], customer) or \
                f"C{customer.pk:08d}"
    for key, value in values.items():
        setattr(customer, key, value)
    if parent_given and parent_id != customer.parent_id:
        set_parent(actor, customer, parent_id)
    old_tags = sorted(customer.tags.values_list("name", flat=True))
    if tags is not None:
        customer.tags.set(tags_for(actor, tags),
                          through_defaults={"tenant_id": customer.tenant_id})
    new_tags = sorted(customer.tags.values_list("name", flat=True))
    refresh_derived(customer, alias_names=alias_names(customer))
    extra_before = {"tags": old_tags}
    changes_diff = audit.diff(Customer, before | extra_before,
                              audit.snapshot(customer) | {"tags": new_tags})
    if changes_diff:
        bump_version(customer)
        access.ensure_still_visible(customer, actor)
        audit.record(actor=actor, action="customer.update", obj=customer, changes=changes_diff)
    return customer


@transaction.atomic
def customer_set_status(*, actor: User, customer_id: int, status: str, reason: str = "",
                        expected_version: int | None = None) -> Customer:
    access.require(actor, "customers.change")
    customer = access.get_for(Customer, actor, customer_id, "change", for_update=True)
    if customer.merged_into_id:
        raise NotFound()
    check_version(customer, expected_version)
    errors: dict[str, list[str]] = {}
    new = clean_choice(status, Status, "status", errors, blank=False)
    reason = clean_text(reason, "reason", 300, errors)
    if new == Status.BLACKLISTED and not reason:
        errors.setdefault("reason", []).append(_("Give a reason for blacklisting."))
    if errors:
        raise ValidationFailed(fields=errors)
    if new == customer.status:
        return customer
    old = customer.status
    customer.status, customer.status_changed_at = new, timezone.now()
    bump_version(customer)
    _record_status(actor, customer, old, reason)
    audit.record(actor=actor, action="customer.status", obj=customer,
                 changes={"status": [old, new], **({"reason": [None, reason]} if reason else {})})
    return customer


def bulk_targets(actor: User, customer_ids: Iterable[int]) -> list[Customer]:
    """The listed customers the actor may change; the others are left out, not an error
    (a bulk action acts only on records the user may change)."""
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    if not ids:
        raise ValidationFailed(fields={"customer_ids": [_("Choose at least one customer.")]})
    if len(ids) > MAX_BULK:
        raise ValidationFailed(fields={"customer_ids": [
            _("At most %(n)d customers at a time.") % {"n": MAX_BULK}]})
    return list(Customer.objects.visible_to(actor, "change").live()
                .filter(pk__in=ids)
                .select_for_update(of=("self",)).order_by("pk"))



@transaction.atomic
def customer_bulk_tag(*, actor: User, customer_ids: Iterable[int], add: Iterable[str] = (),
                      remove: Iterable[str] = ()) -> list[Customer]:
    access.require(actor, "customers.change")
    customers = bulk_targets(actor, customer_ids)
    to_add = tags_for(actor, add)
    remove_names = {normalize.fold(n) for n in remove}
    to_remove = list(Tag.objects.filter(tenant_id=actor.tenant_id, name__in=remove_names))
    through = CustomerTag
    for customer in customers:
        before = set(customer.tags.values_list("name", flat=True))
        if to_add:
            customer.tags.add(*to_add, through_defaults={"tenant_id": customer.tenant_id})
        if to_remove:
            through.objects.filter(tenant_id=customer.tenant_id, customer_id=customer.pk,
                                   tag__in=to_remove).delete()
        after = set(customer.tags.values_list("name", flat=True))
        if before != after:
            bump_version(customer)
            audit.record(actor=actor, action="customer.update", obj=customer,
                         changes={"tags": [sorted(before), sorted(after)]})
    return customers


@transaction.atomic
def customer_bulk_status(*, actor: User, customer_ids: Iterable[int], status: str,
                         reason: str = "") -> list[Customer]:
    access.require(actor, "customers.change")
    customers = bulk_targets(actor, customer_ids)
    return [customer_set_status(actor=actor, customer_id=c.pk, status=status, reason=reason)
            for c in customers]


REVEALABLE = ("id_number", "phones", "emails", "addresses")


@transaction.atomic
def customer_reveal(*, actor: User, customer_id: int, field: str, reason: str) -> Any:
    """The clear value of a masked field, for a role that may reveal it, with a reason;
    the reveal is audited (what, whose, why — never the value)."""
    access.require(actor, "customers.reveal_pii")
    customer = access.get_for(Customer, actor, customer_id, "reveal_pii")
    errors: dict[str, list[str]] = {}
    reason = clean_text(reason, "reason", 300, errors)
    if field not in REVEALABLE:
        errors.setdefault("field", []).append(_("This field cannot be revealed."))
    if len(reason) < 2:
        errors.setdefault("reason", []).append(_("Say why you need to see this."))
    if errors:
        raise ValidationFailed(fields=errors)
    audit.record(actor=actor, action="customer.reveal", obj=customer,
                 changes={"field": [None, field], "reason": [None, reason]})
    if field == "id_number":
        return crypto.decrypt(customer.id_number_encrypted)
    return getattr(customer, field)


