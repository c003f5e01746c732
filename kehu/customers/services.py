"""Writes for customers, contacts, their links, history and identifiers.

Each service is atomic, checks access through kehu.core.access, records its audit event
in the same transaction and re-checks that the result stays visible to its writer.
Input is cleaned by ``clean_customer_fields`` / ``clean_contact_fields``, which imports
use too, so every door accepts and refuses the same values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, LPad, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit, crypto, identifiers, pii
from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.core.versions import bump_version, check_version
from kehu.customers import normalize, quality, reference
from kehu.customers.models import (
    AddressKind,
    Alias,
    Channel,
    Contact,
    Customer,
    CustomerContact,
    DecisionRole,
    ExternalId,
    Kind,
    Relationship,
    RelationshipKind,
    SavedView,
    Size,
    Status,
    StatusChange,
    Tag,
    Tier,
    Transfer,
    VipGrade,
)

GENERATED_CODE_RE = re.compile(r"^C\d{8,}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_\-./]{1,50}$")
MAX_BULK = 1000



def _merge_errors(errors: dict[str, list[str]], exc: ValidationFailed) -> None:
    for field, messages in exc.fields.items():
        errors.setdefault(field, []).extend(messages)


def _choice(value: Any, choices: Any, field: str, errors: dict[str, list[str]],
            *, blank: bool = True) -> str:
    text = normalize.fold(str(value or ""))
    if not text and blank:
        return ""
    if text in choices.values:
        return text
    # Accept a label in either language ("企业", "Enterprise") as imports carry them.
    for key, label in choices.choices:
        if text.casefold() in {str(label).casefold(), str(key).casefold()}:
            return str(key)
    errors.setdefault(field, []).append(_("“%(value)s” is not one of the allowed values.")
                                        % {"value": text})
    return ""


def _text(value: Any, field: str, max_length: int, errors: dict[str, list[str]]) -> str:
    text = normalize.fold(str(value or "")) if value is not None else ""
    if len(text) > max_length:
        errors.setdefault(field, []).append(_("At most %(n)d characters.") % {"n": max_length})
        return text[:max_length]
    return text


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[;；,，、\n]+", value) if part.strip()]
    return list(value)


def clean_addresses(value: Any, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Addresses as ``[{"kind", "text"}]``; a plain string is the registered address."""
    result: list[dict[str, str]] = []
    items = [value] if isinstance(value, str) else (value or [])
    for item in items:
        if isinstance(item, str):
            item = {"kind": AddressKind.REGISTERED, "text": item}
        if not isinstance(item, dict):
            errors.setdefault("addresses", []).append(_("Enter the address as text."))
            continue
        text = _text(item.get("text"), "addresses", 300, errors)
        kind = _choice(item.get("kind") or AddressKind.REGISTERED, AddressKind, "addresses",
                       errors)
        if text:
            result.append({"kind": kind or AddressKind.REGISTERED, "text": text})
    return result


def clean_consent(value: Any, errors: dict[str, list[str]]) -> dict[str, bool]:
    if not value:
        return {}
    if isinstance(value, (list, tuple)):
        value = dict.fromkeys(value, True)
    if not isinstance(value, dict):
        errors.setdefault("consent", []).append(_("Give consent per channel."))
        return {}
    unknown = set(value) - set(Channel.values)
    if unknown:
        errors.setdefault("consent", []).append(
            _("Unknown channels: %(names)s.") % {"names": ", ".join(sorted(map(str, unknown)))})
    return {key: bool(value[key]) for key in Channel.values if key in value}


def clean_customer_fields(data: dict[str, Any], *, kind: str) -> dict[str, Any]:
    """Clean the given customer fields (all errors at once); returns model values.

    ``id_number`` comes in clear and leaves as ``id_number_encrypted/_hash/_masked``.
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if key == "name":
                out["name"] = _text(value, key, 200, errors)
                if not out["name"]:
                    errors.setdefault(key, []).append(_("This field is required."))
            elif key == "short_name":
                out[key] = _text(value, key, 100, errors)
            elif key == "kind":
                out[key] = _choice(value, Kind, key, errors, blank=False)
            elif key == "uscc":
                text = normalize.fold(str(value or ""))
                if text and kind == Kind.INDIVIDUAL:
                    errors.setdefault(key, []).append(
                        _("An individual has an ID number, not a credit code."))
                elif text:
                    code = identifiers.normalize_uscc(text)
                    if code is None:
                        errors.setdefault(key, []).append(_(
                            "Not a valid unified social credit code (18 characters with a "
                            "correct check character)."))
                    out[key] = code or ""
                else:
                    out[key] = ""
            elif key == "id_number":
                text = normalize.fold(str(value or ""))
                if text and kind != Kind.INDIVIDUAL:
                    errors.setdefault(key, []).append(
                        _("Only individuals have a resident ID number."))
                    continue
                number = identifiers.normalize_id_number(text) if text else ""
                if text and number is None:
                    errors.setdefault(key, []).append(_(
                        "Not a valid resident ID number (18 characters with a correct check "
                        "character, or the old 15 digits)."))
                    continue
                out["id_number_encrypted"] = crypto.encrypt(number or "")
                out["id_number_hash"] = crypto.blind_hash(number or "")
                out["id_number_masked"] = pii.mask_id_number(number or "")
            elif key == "industry":
                text = normalize.fold(str(value or ""))
                found = reference.find_industry(text) if text else None
                if text and found is None:
                    errors.setdefault(key, []).append(
                        _("Unknown industry “%(value)s”.") % {"value": text})
                out[key] = found.code if found else ""
            elif key == "region":
                text = normalize.fold(str(value or ""))
                region = (reference.region(text) or reference.find_region(text)) if text \
                    else None
                if text and region is None:
                    errors.setdefault(key, []).append(
                        _("Unknown region “%(value)s”.") % {"value": text})
                out[key] = region.code if region else ""
            elif key == "size":
                out[key] = _choice(value, Size, key, errors)
            elif key == "tier":
                out[key] = _choice(value, Tier, key, errors) or Tier.ORDINARY
            elif key == "vip_grade":
                out[key] = _choice(value, VipGrade, key, errors)
            elif key == "status":
                out[key] = _choice(value, Status, key, errors) or Status.POTENTIAL
            elif key == "phones":
                out[key] = normalize.clean_phones(_list(value), key)
            elif key == "emails":
                out[key] = normalize.clean_emails(_list(value), key)
            elif key == "website":
                out[key] = normalize.clean_website(value, key)
            elif key == "addresses":
                out[key] = clean_addresses(value, errors)
            elif key == "consent":
                out[key] = clean_consent(value, errors)
            elif key == "notes":
                out[key] = str(value or "")[:10000]
            elif key == "code":
                text = normalize.fold(str(value or ""))
                if text and not CODE_RE.match(text):
                    errors.setdefault(key, []).append(
                        _("Letters, digits and - _ . / only, at most 50."))
                out[key] = text
            else:
                errors.setdefault(key, []).append(_("Unknown field."))
        except ValidationFailed as exc:
            _merge_errors(errors, exc)
    if errors:
        raise ValidationFailed(fields=errors)
    return out


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


def _alias_names(customer: Customer) -> list[str]:
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


def _placement(actor: User, permission: str, owner_id: int | None,
               org_unit_id: int | None) -> tuple[User | None, OrgUnit]:
    """The owner and owning unit a record may get from ``actor``: both within the
    actor's scope for ``permission``; the unit defaults to the owner's."""
    owner = None
    if owner_id is not None:
        owner = User.objects.filter(tenant_id=actor.tenant_id, pk=owner_id, is_active=True) \
            .select_related("org_unit").first()
        if owner is None:
            raise ValidationFailed(fields={"owner_id": [_("Choose an active user.")]})
    if org_unit_id is not None:
        unit = OrgUnit.objects.filter(tenant_id=actor.tenant_id, pk=org_unit_id,
                                      is_active=True).first()
        if unit is None:
            raise ValidationFailed(fields={"org_unit_id": [_("Choose an active unit.")]})
    else:
        unit = owner.org_unit if owner is not None else actor.org_unit
    if not access.unit_in_scope(actor, permission, unit):
        raise ValidationFailed(fields={"org_unit_id": [
            _("You cannot place records in this unit.")]})
    if owner is not None and owner.pk != actor.pk and \
            not access.unit_in_scope(actor, permission, owner.org_unit):
        raise ValidationFailed(fields={"owner_id": [
            _("You cannot give records to this user.")]})
    if owner is not None and access.scope_for(actor, permission) == "own" and owner != actor:
        raise ValidationFailed(fields={"owner_id": [
            _("You can only own records yourself.")]})
    return owner, unit


def _visible_customer(actor: User, customer_id: int, action: str = "view",
                      field: str = "customer_id") -> Customer:
    customer = Customer.objects.visible_to(actor, action).filter(
        pk=customer_id, merged_into__isnull=True).first()
    if customer is None:
        raise ValidationFailed(fields={field: [_("Choose a customer you can see.")]})
    return customer


def tags_for(actor: User, names: Iterable[str]) -> list[Tag]:
    """The tenant's tags by name, created when missing."""
    result = []
    for raw in names:
        name = normalize.fold(raw)[:50]
        if name:
            tag, _created = Tag.objects.get_or_create(tenant_id=actor.tenant_id, name=name)
            result.append(tag)
    return result


# ---------------------------------------------------------------------------- customers


def _set_parent(actor: User, customer: Customer, parent_id: int | None) -> None:
    """Place ``customer`` under ``parent_id`` (None: a top-level customer), refusing
    cycles, and rewrite the hierarchy paths of its whole subtree."""
    old_path = customer.hierarchy_path
    if parent_id is None:
        customer.parent = None
        new_path = f"/{customer.pk}/"
    else:
        parent = _visible_customer(actor, parent_id, field="parent_id")
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
    owner, unit = _placement(actor, "customers.create", owner_id, org_unit_id)
    customer = Customer(tenant_id=actor.tenant_id, kind=kind_value, owner=owner, org_unit=unit,
                        code=code, **values)
    refresh_derived(customer, has_contact=False)
    customer.save()
    _set_parent(actor, customer, parent_id)
    if not code:
        customer.code = f"C{customer.pk:08d}"
    refresh_derived(customer, has_contact=False)
    customer.save()
    if tags:
        customer.tags.set(tags_for(actor, tags))
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
        _set_parent(actor, customer, parent_id)
    old_tags = sorted(customer.tags.values_list("name", flat=True))
    if tags is not None:
        customer.tags.set(tags_for(actor, tags))
    new_tags = sorted(customer.tags.values_list("name", flat=True))
    refresh_derived(customer, alias_names=_alias_names(customer))
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
    new = _choice(status, Status, "status", errors, blank=False)
    reason = _text(reason, "reason", 300, errors)
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


def _bulk_targets(actor: User, customer_ids: Iterable[int]) -> list[Customer]:
    """The listed customers the actor may change; the others are left out, not an error
    (a bulk action acts only on records the user may change)."""
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    if not ids:
        raise ValidationFailed(fields={"customer_ids": [_("Choose at least one customer.")]})
    if len(ids) > MAX_BULK:
        raise ValidationFailed(fields={"customer_ids": [
            _("At most %(n)d customers at a time.") % {"n": MAX_BULK}]})
    return list(Customer.objects.visible_to(actor, "change")
                .filter(pk__in=ids, merged_into__isnull=True)
                .select_for_update(of=("self",)).order_by("pk"))


@transaction.atomic
def customer_transfer(*, actor: User, customer_ids: Iterable[int], reason: str,
                      owner_id: int | None = None, org_unit_id: int | None = None
                      ) -> list[Customer]:
    """Give customers to another account manager and/or unit. Everything attached to
    them stays attached, so the new owner sees their full history."""
    access.require(actor, "customers.change")
    errors: dict[str, list[str]] = {}
    reason = _text(reason, "reason", 300, errors)
    if not reason:
        errors.setdefault("reason", []).append(_("Give a reason for the transfer."))
    if owner_id is None and org_unit_id is None:
        errors.setdefault("owner_id", []).append(_("Choose the new owner or unit."))
    if errors:
        raise ValidationFailed(fields=errors)
    owner, unit = _placement(actor, "customers.change", owner_id, org_unit_id)
    customers = _bulk_targets(actor, customer_ids)
    now = timezone.now()
    for customer in customers:
        if customer.owner_id == (owner.pk if owner else None) and customer.org_unit_id == unit.pk:
            continue
        Transfer.objects.create(tenant_id=actor.tenant_id, customer=customer,
                                from_owner_id=customer.owner_id, to_owner=owner,
                                from_unit_id=customer.org_unit_id, to_unit=unit, reason=reason,
                                actor=actor, created_at=now)
        changes = {"owner": [customer.owner_id, owner.pk if owner else None],
                   "org_unit": [customer.org_unit_id, unit.pk], "reason": [None, reason]}
        customer.owner, customer.org_unit = owner, unit
        bump_version(customer)
        _refresh_customer_quality(customer)
        audit.record(actor=actor, action="customer.transfer", obj=customer, changes=changes)
    return customers


@transaction.atomic
def customer_bulk_tag(*, actor: User, customer_ids: Iterable[int], add: Iterable[str] = (),
                      remove: Iterable[str] = ()) -> list[Customer]:
    access.require(actor, "customers.change")
    customers = _bulk_targets(actor, customer_ids)
    to_add = tags_for(actor, add)
    remove_names = {normalize.fold(n) for n in remove}
    to_remove = list(Tag.objects.filter(tenant_id=actor.tenant_id, name__in=remove_names))
    through = Customer.tags.through
    for customer in customers:
        before = set(customer.tags.values_list("name", flat=True))
        if to_add:
            customer.tags.add(*to_add)
        if to_remove:
            through.objects.filter(customer_id=customer.pk, tag__in=to_remove).delete()
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
    customers = _bulk_targets(actor, customer_ids)
    return [customer_set_status(actor=actor, customer_id=c.pk, status=status, reason=reason)
            for c in customers]


REVEALABLE = ("id_number", "phones", "addresses")


@transaction.atomic
def customer_reveal(*, actor: User, customer_id: int, field: str, reason: str) -> Any:
    """The clear value of a masked field, for a role that may reveal it, with a reason;
    the reveal is audited (what, whose, why — never the value)."""
    access.require(actor, "customers.reveal_pii")
    customer = access.get_for(Customer, actor, customer_id, "reveal_pii")
    errors: dict[str, list[str]] = {}
    reason = _text(reason, "reason", 300, errors)
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


# ---------------------------------------------------------------------------- relationships


@transaction.atomic
def relationship_add(*, actor: User, source_id: int, target_id: int, kind: str,
                     note: str = "") -> Relationship:
    access.require(actor, "customers.change")
    source = access.get_for(Customer, actor, source_id, "change")
    target = _visible_customer(actor, target_id, field="target_id")
    errors: dict[str, list[str]] = {}
    kind = _choice(kind, RelationshipKind, "kind", errors, blank=False)
    note = _text(note, "note", 200, errors)
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
    system = _text(system, "system", 50, errors)
    external_id = _text(external_id, "external_id", 100, errors)
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


# ---------------------------------------------------------------------------- contacts


def clean_contact_fields(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if key == "name":
                out[key] = _text(value, key, 100, errors)
                if not out[key]:
                    errors.setdefault(key, []).append(_("This field is required."))
            elif key == "gender":
                out[key] = value if value in ("", "male", "female", None) else ""
                if value not in ("", "male", "female", None):
                    errors.setdefault(key, []).append(_("Choose male or female, or leave empty."))
            elif key == "phones":
                out[key] = normalize.clean_phones(_list(value), key)
            elif key == "email":
                out[key] = normalize.clean_email(value, key)
            elif key == "wechat":
                out[key] = _text(value, key, 100, errors)
            elif key == "preferred_channel":
                out[key] = _choice(value, Channel, key, errors)
            elif key == "birthday":
                out[key] = _date(value, key, errors)
            elif key == "notes":
                out[key] = str(value or "")[:10000]
            else:
                errors.setdefault(key, []).append(_("Unknown field."))
        except ValidationFailed as exc:
            _merge_errors(errors, exc)
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalize.fold(str(value)).replace("/", "-").replace(".", "-")
    text = re.sub(r"[年月]", "-", text).rstrip("日")
    try:
        result = dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date such as 1980-05-20."))
        return None
    if result > timezone.localdate() or result.year < 1900:
        errors.setdefault(field, []).append(_("Enter a real birthday."))
    return result


def clean_link_fields(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("title", "department"):
            out[key] = _text(value, key, 100, errors)
        elif key == "decision_role":
            out[key] = _choice(value, DecisionRole, key, errors)
        elif key == "is_primary":
            out[key] = bool(value)
        else:
            errors.setdefault(key, []).append(_("Unknown field."))
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def refresh_contact(contact: Contact) -> None:
    contact.phone_digits = normalize.phone_digits(contact.phones)[:500]
    contact.search_text, contact.search_grams = normalize.search_document(
        [contact.name], [contact.phone_digits, contact.email, contact.wechat])


def _refresh_customer_quality(customer: Customer) -> None:
    score = quality.assess(customer, customer.contact_links.exists())[0]
    if score != customer.quality_score:
        Customer.objects.filter(pk=customer.pk).update(quality_score=score)
        customer.quality_score = score


def _link(actor: User, customer: Customer, contact: Contact, fields: dict[str, Any]
          ) -> CustomerContact:
    link, created = CustomerContact.objects.get_or_create(
        customer=customer, contact=contact, defaults={"tenant_id": actor.tenant_id, **fields})
    if not created:
        for key, value in fields.items():
            setattr(link, key, value)
        link.save()
    if link.is_primary:
        CustomerContact.objects.filter(customer=customer, is_primary=True) \
            .exclude(pk=link.pk).update(is_primary=False)
    _refresh_customer_quality(customer)
    return link


@transaction.atomic
def contact_create(*, actor: User, name: str, customer_id: int | None = None,
                   link: dict[str, Any] | None = None, tags: Iterable[str] = (),
                   owner_id: int | None = None, org_unit_id: int | None = None,
                   **fields: Any) -> Contact:
    """A new person, linked to ``customer_id`` when given (title, department, role…)."""
    access.require(actor, "contacts.create")
    values = clean_contact_fields({"name": name, **fields})
    link_fields = clean_link_fields(link or {})
    customer = None
    if customer_id is not None:
        customer = _visible_customer(actor, customer_id, "change")
    if owner_id is None and org_unit_id is None:
        if customer is not None:
            owner_id, org_unit_id = customer.owner_id, customer.org_unit_id
        else:
            owner_id = actor.pk
    try:
        owner, unit = _placement(actor, "contacts.create", owner_id, org_unit_id)
    except ValidationFailed:
        if customer is None:
            raise
        # A contact added to a visible customer lives with that customer.
        owner, unit = customer.owner, customer.org_unit
    contact = Contact(tenant_id=actor.tenant_id, owner=owner, org_unit=unit, **values)
    refresh_contact(contact)
    contact.save()
    if tags:
        contact.tags.set(tags_for(actor, tags))
    if customer is not None:
        _link(actor, customer, contact, link_fields)
    access.ensure_still_visible(contact, actor)
    audit.record(actor=actor, action="contact.create", obj=contact,
                 changes=audit.diff(Contact, {}, audit.snapshot(contact))
                 | ({"customer": [None, customer.pk]} if customer else {}))
    return contact


@transaction.atomic
def contact_update(*, actor: User, contact_id: int, expected_version: int | None = None,
                   **changes: Any) -> Contact:
    access.require(actor, "contacts.change")
    contact = access.get_for(Contact, actor, contact_id, "change", for_update=True)
    check_version(contact, expected_version)
    before = audit.snapshot(contact)
    tags = changes.pop("tags", None)
    values = clean_contact_fields(changes)
    for key, value in values.items():
        setattr(contact, key, value)
    old_tags = sorted(contact.tags.values_list("name", flat=True))
    if tags is not None:
        contact.tags.set(tags_for(actor, tags))
    new_tags = sorted(contact.tags.values_list("name", flat=True))
    refresh_contact(contact)
    diff = audit.diff(Contact, before | {"tags": old_tags},
                      audit.snapshot(contact) | {"tags": new_tags})
    if diff:
        bump_version(contact)
        audit.record(actor=actor, action="contact.update", obj=contact, changes=diff)
    return contact


@transaction.atomic
def contact_link(*, actor: User, contact_id: int, customer_id: int,
                 **link: Any) -> CustomerContact:
    """Make a person a contact of (another) customer, or change their place there."""
    access.require(actor, "customers.change")
    contact = access.get_for(Contact, actor, contact_id, "view")
    customer = access.get_for(Customer, actor, customer_id, "change")
    fields = clean_link_fields(link)
    result = _link(actor, customer, contact, fields)
    bump_version(contact)  # the contact's places are part of it: its ETag changes
    audit.record(actor=actor, action="contact.link", obj=contact,
                 changes={"customer": [None, customer.pk]}
                 | {k: [None, v] for k, v in fields.items()})
    return result


@transaction.atomic
def contact_unlink(*, actor: User, contact_id: int, customer_id: int,
                   expected_version: int | None = None) -> None:
    access.require(actor, "customers.change")
    contact = access.get_for(Contact, actor, contact_id, "view")
    customer = access.get_for(Customer, actor, customer_id, "change")
    link = CustomerContact.objects.filter(customer=customer, contact=contact) \
        .select_related("contact").first()
    if link is None:
        raise NotFound()
    check_version(contact, expected_version)
    bump_version(contact)
    audit.record(actor=actor, action="contact.unlink", obj=link.contact,
                 changes={"customer": [customer.pk, None]})
    link.delete()
    _refresh_customer_quality(customer)


@transaction.atomic
def contact_reveal(*, actor: User, contact_id: int, reason: str) -> list[dict[str, str]]:
    access.require(actor, "contacts.reveal_pii")
    contact = access.get_for(Contact, actor, contact_id, "reveal_pii")
    reason = normalize.fold(reason)[:300]
    if len(reason) < 2:
        raise ValidationFailed(fields={"reason": [_("Say why you need to see this.")]})
    audit.record(actor=actor, action="contact.reveal", obj=contact,
                 changes={"field": [None, "phones"], "reason": [None, reason]})
    return list(contact.phones)


# ---------------------------------------------------------------------------- saved views


@transaction.atomic
def saved_view_save(*, actor: User, name: str, query: str) -> SavedView:
    access.require(actor, "customers.view")
    errors: dict[str, list[str]] = {}
    name = _text(name, "name", 100, errors)
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    if errors:
        raise ValidationFailed(fields=errors)
    view, _created = SavedView.objects.update_or_create(
        user=actor, name=name, defaults={"tenant_id": actor.tenant_id, "query": query[:2000]})
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view_id: int) -> None:
    deleted, _detail = SavedView.objects.filter(user=actor, pk=view_id).delete()
    if not deleted:
        raise NotFound()

