"""What the customers services share: a customer the actor may link to, tags by name, a
customer's quality score. Where a record is placed: kehu.core.placement.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.customers import normalize, quality
from kehu.customers.models import Customer, Tag


def visible_customer(actor: User, customer_id: int, action: str = "view",
                     field: str = "customer_id") -> Customer:
    customer = Customer.objects.visible_to(actor, action).live().filter(pk=customer_id).first()
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



def refresh_customer_quality(customer: Customer) -> None:
    score = quality.assess(customer, customer.contact_links.exists())[0]
    if score != customer.quality_score:
        Customer.objects.filter(pk=customer.pk).update(quality_score=score)
        customer.quality_score = score


