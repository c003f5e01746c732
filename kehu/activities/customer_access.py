"""Every read activities makes of the customers app, in one place.

The architecture wants an app to use another app's selectors, never its models' managers.
Until ``kehu.customers.selectors`` offers these, each is a thin call here, so the rest of
activities never touches ``Customer.objects`` / ``Contact.objects``. A merged customer is
gone: reads use ``Customer.objects.live()`` (the one place that rule is written).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kehu.core import access
from kehu.core.exceptions import NotFound
from kehu.customers import selectors as customer_selectors
from kehu.customers.models import Contact, Customer, CustomerQuerySet

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet

    from kehu.core.models import User


# TODO(coordinator): move to kehu.customers.selectors
def visible_customers(actor: User, action: str = "view") -> CustomerQuerySet:
    """The live customers ``actor`` may ``action``."""
    return Customer.objects.visible_to(actor, action).live()


# TODO(coordinator): move to kehu.customers.selectors
def visible_customer(actor: User, customer_id: int, action: str = "view") -> Customer | None:
    """The live customer ``customer_id`` if ``actor`` may ``action`` it, else None."""
    return visible_customers(actor, action).filter(pk=customer_id).first()


# TODO(coordinator): move to kehu.customers.selectors
def customer_get(actor: User, customer_id: Any, action: str = "view") -> Customer:
    """The live customer, else NotFound (a forbidden one is audited as a denial)."""
    customer = access.get_for(Customer, actor, customer_id, action)
    if customer.merged_into_id:
        raise NotFound()
    return customer


# TODO(coordinator): move to kehu.customers.selectors
def customer_id_by_code(actor: User, code: str) -> int | None:
    """The id of the customer ``actor`` sees with this code (or, for digits, this id)."""
    visible = customer_selectors.customer_list(actor=actor)
    found = visible.filter(code__iexact=code).values_list("pk", flat=True).first()
    if found is None and code.isdigit() and len(code) < 19:
        found = visible.filter(pk=int(code)).values_list("pk", flat=True).first()
    return None if found is None else int(found)


# TODO(coordinator): move to kehu.customers.selectors
def customer_code(actor: User, customer_id: int) -> str | None:
    """The code of a customer ``actor`` sees, else None."""
    customer = customer_selectors.customer_list(actor=actor).filter(pk=customer_id).first()
    return None if customer is None else customer.code


# TODO(coordinator): move to kehu.customers.selectors
def customers_in_scope(user: User, scope: str) -> QuerySet[Any]:
    """The ids of the tenant's customers inside ``user``'s data ``scope`` (a subquery)."""
    return Customer.objects.filter(Customer.scope_q(user, scope),
                                   tenant_id=user.tenant_id).values("pk")


# TODO(coordinator): move to kehu.customers.selectors
def contact_get(actor: User, contact_id: Any) -> Contact:
    """The contact if ``actor`` may see it, else NotFound."""
    return access.get_for(Contact, actor, contact_id)


# TODO(coordinator): move to kehu.customers.selectors
def primary_customer_id(contact: Contact) -> int | None:
    """The contact's live customer: the primary link first, else the oldest link."""
    # ``customer__merged_into__isnull``: Customer.objects.live() seen through the link.
    link = contact.customer_links.filter(customer__merged_into__isnull=True) \
        .order_by("-is_primary", "id").first()
    return None if link is None else link.customer_id


# TODO(coordinator): move to kehu.customers.selectors
def contacts_of(actor: User, customer: Customer, limit: int = 200) -> list[Contact]:
    """The contacts of ``customer`` that ``actor`` may see, by name (for pickers)."""
    return list(Contact.objects.visible_to(actor).filter(customer_links__customer=customer)
                .order_by("name", "id").distinct()[:limit])


# TODO(coordinator): move to kehu.customers.selectors
def contacts_of_among(actor: User, customer_id: int, contact_ids: Iterable[int],
                      action: str = "view") -> list[Contact]:
    """Those of ``contact_ids`` that ``actor`` may see and that belong to the customer."""
    return list(Contact.objects.visible_to(actor, action)
                .filter(pk__in=list(contact_ids), customer_links__customer_id=customer_id)
                .distinct())


# TODO(coordinator): move to kehu.customers.selectors
def contacts_by_id() -> QuerySet[Contact]:
    """Contacts in id order: the queryset of a ``Prefetch`` through an access-checked
    relation (the records it follows were read through ``visible_to``)."""
    return Contact.objects.order_by("id")


# TODO(coordinator): move to kehu.customers.selectors (or its demo helpers)
def demo_customer(tenant_id: int, short_name: str) -> Customer:
    """A customer of the demo company by its short name (demo data only)."""
    return Customer.objects.get(tenant_id=tenant_id, short_name=short_name)


# TODO(coordinator): move to kehu.customers.selectors (or its demo helpers)
def demo_first_contact(tenant_id: int, customer: Customer) -> Contact | None:
    """The first contact linked to a demo customer (demo data only)."""
    return Contact.objects.filter(tenant_id=tenant_id, customer_links__customer=customer) \
        .order_by("pk").first()
