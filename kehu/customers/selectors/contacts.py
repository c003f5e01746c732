"""Reads of contacts: always through ``visible_to``."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from kehu.core.models import User
from kehu.customers.models import Contact, CustomerContact, live_q
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
