"""What the customers services share: where a record may be placed (owner and unit),
a customer the actor may link to, tags by name, a customer's quality score.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.customers import normalize, quality
from kehu.customers.models import Customer, Tag


def placement(actor: User, permission: str, owner_id: int | None,
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
    if access.scope_for(actor, permission) == "own":
        # A record without owner would leave the actor's sight at once: with "own" scope
        # the actor owns what they create (the form, the API and the import alike).
        if owner is None:
            owner = actor
        elif owner != actor:
            raise ValidationFailed(fields={"owner_id": [
                _("You can only own records yourself.")]})
    return owner, unit


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


