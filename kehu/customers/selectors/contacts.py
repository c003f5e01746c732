"""Reads of contacts: always through ``visible_to``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from kehu.core import access
from kehu.core.models import User
from kehu.customers.models import Contact, Customer, CustomerContact, live_q
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.selectors import search


def contact_list(*, actor: User, q: str = "", customer_id: int | None = None,
                 action: str = "view") -> QuerySet[Contact]:
    qs = Contact.objects.visible_to(actor, action)
    if q:
        match = search.condition(Contact, q)
        qs = qs.filter(match) if match is not None else qs.none()
    if customer_id is not None:
        qs = qs.filter(customer_links__customer_id=customer_id)
    return qs.prefetch_related(
        Prefetch("customer_links",
                 queryset=CustomerContact.objects.select_related("customer")
                 .filter(live_q("customer")))
    ).order_by("-id")


def contact_links(*, actor: User, contact: Contact) -> list[CustomerContact]:
    """The contact's places at the (live) customers ``actor`` may see."""
    links = list(CustomerContact.objects.filter(live_q("customer"), contact=contact)
                 .select_related("customer", "customer__org_unit").order_by("id"))
    visible = set(customer_selectors.customer_list(actor=actor)
                  .filter(pk__in=[link.customer_id for link in links])
                  .values_list("pk", flat=True))
    return [link for link in links if link.customer_id in visible]


def contact_get(*, actor: User, contact_id: Any) -> Contact:
    """The contact if ``actor`` may see it, else NotFound."""
    return access.get_for(Contact, actor, contact_id)


def primary_customer_id(*, contact: Contact) -> int | None:
    """The contact's live customer: the primary link first, else the oldest link."""
    link = contact.customer_links.filter(live_q("customer")).order_by("-is_primary", "id").first()
    return None if link is None else link.customer_id


def contacts_of(*, actor: User, customer: Customer, limit: int = 200) -> list[Contact]:
    """The contacts of ``customer`` that ``actor`` may see, by name (for pickers)."""
    return list(Contact.objects.visible_to(actor).filter(customer_links__customer=customer)
                .order_by("name", "id").distinct()[:limit])


def contacts_of_among(*, actor: User, customer_id: int, contact_ids: Iterable[int],
                      action: str = "view") -> list[Contact]:
    """Those of ``contact_ids`` that ``actor`` may see and that belong to the customer."""
    return list(Contact.objects.visible_to(actor, action)
                .filter(pk__in=list(contact_ids), customer_links__customer_id=customer_id)
                .distinct())


def contacts_by_id() -> QuerySet[Contact]:
    """Contacts in id order: the queryset of a ``Prefetch`` through an access-checked
    relation (the records it follows were read through ``visible_to``)."""
    return Contact.objects.order_by("id")
