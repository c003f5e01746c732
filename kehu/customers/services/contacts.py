"""Writes of contacts and their links to customers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.placement import placement
from kehu.core.versions import bump_version, check_version
from kehu.customers import normalize
from kehu.customers.models import Contact, Customer, CustomerContact
from kehu.customers.services.cleaning import clean_contact_fields, clean_link_fields
from kehu.customers.services.common import (
    refresh_customer_quality,
    tags_for,
    visible_customer,
)


def refresh_contact(contact: Contact) -> None:
    contact.phone_digits = normalize.phone_digits(contact.phones)[:500]
    contact.search_text, contact.search_grams = normalize.search_document(
        [contact.name], [contact.phone_digits, contact.email, contact.wechat])



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
    refresh_customer_quality(customer)
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
        customer = visible_customer(actor, customer_id, "change")
    if owner_id is None and org_unit_id is None:
        if customer is not None:
            owner_id, org_unit_id = customer.owner_id, customer.org_unit_id
        else:
            owner_id = actor.pk
    try:
        owner, unit = placement(actor, "contacts.create", owner_id, org_unit_id)
    except ValidationFailed:
        if customer is None:
            raise
        # A contact added to a visible customer lives with that customer.
        owner, unit = customer.owner, customer.org_unit
    contact = Contact(tenant_id=actor.tenant_id, owner=owner, org_unit=unit, **values)
    refresh_contact(contact)
    contact.save()
    if tags:
        contact.tags.set(tags_for(actor, tags), through_defaults={"tenant_id": contact.tenant_id})
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
        contact.tags.set(tags_for(actor, tags), through_defaults={"tenant_id": contact.tenant_id})
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
    refresh_customer_quality(customer)


CONTACT_REVEALABLE = ("phones", "email")


@transaction.atomic
def contact_reveal(*, actor: User, contact_id: int, reason: str,
                   field: str = "phones") -> Any:
    """The contact's clear phones (or email), with a reason; the reveal is audited."""
    access.require(actor, "contacts.reveal_pii")
    contact = access.get_for(Contact, actor, contact_id, "reveal_pii")
    if field not in CONTACT_REVEALABLE:
        raise ValidationFailed(fields={"field": [_("This field cannot be revealed.")]})
    reason = normalize.fold(reason)[:300]
    if len(reason) < 2:
        raise ValidationFailed(fields={"reason": [_("Say why you need to see this.")]})
    audit.record(actor=actor, action="contact.reveal", obj=contact,
                 changes={"field": [None, field], "reason": [None, reason]})
    return list(contact.phones) if field == "phones" else contact.email


