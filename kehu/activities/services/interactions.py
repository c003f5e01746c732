"""Writes for interactions (one contact with a customer).

Every door (form, API, import, completing a follow-up) goes through ``clean_interaction``
so that all accept and refuse the same values. A linked customer, contact or participant
must be one the actor may see / pick; otherwise the field is refused (422), never linked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import Channel, Direction, Interaction, InteractionKind
from kehu.core import access, audit
from kehu.core.exceptions import Conflict, ValidationFailed
from kehu.core.models import User
from kehu.core.placement import owned_placement
from kehu.core.versions import bump_version, check_version
from kehu.customers.selectors import contacts as contact_selectors
from kehu.customers.selectors import customers as customer_selectors
from kehu.documents import selectors as documents

if TYPE_CHECKING:
    from kehu.customers.models import Contact, Customer

MAX_DURATION_MINUTES = 24 * 60 * 7
TEXT_LIMITS = {"subject": 200, "outcome": 500, "next_step": 500, "content": 20000}
MAX_LINKS = 50


@cache
def _values(choices: Any) -> frozenset[str]:
    # ``Choices.values`` builds its list anew on every call; imports call this per row.
    return frozenset(choices.values)


def _choice(value: Any, choices: Any, field: str, errors: dict[str, list[str]]) -> str:
    """A choice by its value or its label in either language ("拜访", "Visit", "visit")."""
    text = str(value or "").strip()
    if text in _values(choices):
        return text
    for key, label in choices.choices:
        if text.casefold() in {str(label).casefold(), str(key).casefold()}:
            return str(key)
    errors.setdefault(field, []).append(
        _("“%(value)s” is not one of the allowed values.") % {"value": text})
    return ""


def clean_interaction(data: dict[str, Any]) -> dict[str, Any]:
    """Clean the given scalar fields (all errors at once); returns model values."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind":
            out[key] = _choice(value, InteractionKind, key, errors)
        elif key == "direction":
            out[key] = _choice(value or Direction.OUTBOUND, Direction, key, errors)
        elif key == "channel":
            out[key] = _choice(value or Channel.PHONE, Channel, key, errors)
        elif key == "occurred_at":
            if value is None:
                out[key] = timezone.now()
            elif not isinstance(value, dt.datetime):
                errors.setdefault(key, []).append(_("Enter a date and time."))
            else:
                out[key] = timezone.make_aware(value) if timezone.is_naive(value) else value
        elif key == "duration_minutes":
            if value in (None, ""):
                out[key] = None
            elif isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= MAX_DURATION_MINUTES:
                errors.setdefault(key, []).append(
                    _("Enter whole minutes between 0 and %(n)d.") % {"n": MAX_DURATION_MINUTES})
            else:
                out[key] = value
        elif key in TEXT_LIMITS:
            text = str(value or "").strip()
            if len(text) > TEXT_LIMITS[key]:
                errors.setdefault(key, []).append(
                    _("At most %(n)d characters.") % {"n": TEXT_LIMITS[key]})
            if key == "subject" and not text:
                errors.setdefault(key, []).append(_("This field is required."))
            out[key] = text
        else:
            errors.setdefault(key, []).append(_("Unknown field."))
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def visible_customer(actor: User, customer_id: Any, field: str = "customer_id") -> Customer:
    """A customer the actor may see (``customers.view``), else a field error."""
    customer = None
    if isinstance(customer_id, int) and not isinstance(customer_id, bool):
        customer = customer_selectors.visible_customer(actor=actor, customer_id=customer_id)
    if customer is None:
        raise ValidationFailed(fields={field: [_("Choose a customer you can see.")]})
    return customer


def customer_contacts(actor: User, customer: Customer, contact_ids: Iterable[Any],
                      field: str = "contact_ids") -> list[Contact]:
    """Contacts the actor may see that are linked to ``customer``; refuses any other."""
    ids = list(dict.fromkeys(contact_ids))
    if len(ids) > MAX_LINKS:
        raise ValidationFailed(fields={field: [_("At most %(n)d.") % {"n": MAX_LINKS}]})
    if not ids:
        return []
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise ValidationFailed(fields={field: [_("Choose contacts of this customer.")]})
    found = contact_selectors.contacts_of_among(actor=actor, customer_id=customer.pk,
                                                contact_ids=ids)
    if len(found) != len(ids):
        raise ValidationFailed(fields={field: [
            _("Choose contacts of this customer that you can see.")]})
    return found


def tenant_users(actor: User, user_ids: Iterable[Any], field: str = "participant_ids"
                 ) -> list[User]:
    ids = list(dict.fromkeys(user_ids))
    if len(ids) > MAX_LINKS:
        raise ValidationFailed(fields={field: [_("At most %(n)d.") % {"n": MAX_LINKS}]})
    if not ids:
        return []
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise ValidationFailed(fields={field: [_("Choose active users.")]})
    found = list(User.objects.filter(tenant_id=actor.tenant_id, is_active=True, pk__in=ids))
    if len(found) != len(ids):
        raise ValidationFailed(fields={field: [_("Choose active users of your company.")]})
    return found


def _in_tenant(interaction: Interaction) -> dict[str, int]:
    """``through_defaults`` of the interaction's link rows: they carry its tenant."""
    return {"tenant_id": interaction.tenant_id}


def _links(interaction: Interaction) -> dict[str, list[int]]:
    return {"contacts": sorted(c.pk for c in interaction.contacts.all()),
            "participants": sorted(u.pk for u in interaction.participants.all())}


@transaction.atomic
def interaction_create(*, actor: User, customer_id: int, kind: str, subject: str,
                       contact_ids: Iterable[int] = (), participant_ids: Iterable[int] = (),
                       owner_id: int | None = None, org_unit_id: int | None = None,
                       audit_event: bool = True, **fields: Any) -> Interaction:
    """Record an interaction. ``fields``: direction, channel, occurred_at,
    duration_minutes, content, outcome, next_step."""
    access.require(actor, "interactions.create")
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    try:
        values = clean_interaction({"kind": kind, "subject": subject,
                                    "occurred_at": fields.pop("occurred_at", None), **fields})
    except ValidationFailed as exc:
        errors.update(exc.fields)
    customer = contacts = participants = None
    try:
        customer = visible_customer(actor, customer_id)
        contacts = customer_contacts(actor, customer, contact_ids)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        participants = tenant_users(actor, participant_ids)
        owner, unit = owned_placement(actor, "interactions.create", owner_id, org_unit_id)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors or customer is None:
        raise ValidationFailed(fields=errors)
    interaction = Interaction.objects.create(
        tenant_id=actor.tenant_id, owner=owner, org_unit=unit, customer=customer,
        created_by=actor, **values)
    if contacts:
        interaction.contacts.set(contacts, through_defaults=_in_tenant(interaction))
    if participants:
        interaction.participants.set(participants, through_defaults=_in_tenant(interaction))
    access.ensure_still_visible(interaction, actor)
    if audit_event:
        audit.record(actor=actor, action="interaction.create", obj=interaction,
                     changes={**audit.diff(Interaction, {}, audit.snapshot(interaction)),
                              **{k: [[], v] for k, v in _links(interaction).items() if v}})
    return interaction


@transaction.atomic
def interaction_update(*, actor: User, interaction_id: int,
                       expected_version: int | None = None, **changes: Any) -> Interaction:
    """Change fields; ``contact_ids`` / ``participant_ids`` replace the links; a new
    ``customer_id`` re-checks the contacts against it."""
    access.require(actor, "interactions.change")
    interaction = access.get_for(Interaction, actor, interaction_id, "change", for_update=True)
    check_version(interaction, expected_version)
    before = {**audit.snapshot(interaction), **_links(interaction)}
    contact_ids = changes.pop("contact_ids", None)
    participant_ids = changes.pop("participant_ids", None)
    customer_id = changes.pop("customer_id", None)
    owner_id = changes.pop("owner_id", None)
    values = clean_interaction(changes)
    customer = interaction.customer
    if customer_id is not None and customer_id != interaction.customer_id:
        customer = visible_customer(actor, customer_id)
        if contact_ids is None:
            contact_ids = [c.pk for c in interaction.contacts.all()]
    contacts = customer_contacts(actor, customer, contact_ids) if contact_ids is not None \
        else None
    participants = tenant_users(actor, participant_ids) if participant_ids is not None \
        else None
    if owner_id is not None and owner_id != interaction.owner_id:
        owner, unit = owned_placement(actor, "interactions.change", owner_id, None)
        interaction.owner, interaction.org_unit = owner, unit
    interaction.customer = customer
    for key, value in values.items():
        setattr(interaction, key, value)
    bump_version(interaction)
    if contacts is not None:
        interaction.contacts.set(contacts, through_defaults=_in_tenant(interaction))
    if participants is not None:
        interaction.participants.set(participants, through_defaults=_in_tenant(interaction))
    access.ensure_still_visible(interaction, actor)
    after = {**audit.snapshot(interaction), **_links(interaction)}
    audit.record(actor=actor, action="interaction.update", obj=interaction,
                 changes=audit.diff(Interaction, before, after))
    return interaction


@transaction.atomic
def interaction_delete(*, actor: User, interaction_id: int,
                       expected_version: int | None = None) -> None:
    access.require(actor, "interactions.delete")
    interaction = access.get_for(Interaction, actor, interaction_id, "delete", for_update=True)
    check_version(interaction, expected_version)
    if documents.has_documents(target_type="activities.interaction",
                               target_id=interaction.pk):
        raise Conflict(_("Remove the attachments of this interaction first."))
    before = {**audit.snapshot(interaction), **_links(interaction)}
    audit.record(actor=actor, action="interaction.delete", obj=interaction,
                 changes=audit.diff(Interaction, before, {}))
    interaction.delete()
