"""Giving customers to another account manager and/or unit."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.placement import placement
from kehu.core.versions import bump_version, check_version
from kehu.customers.models import Customer, Transfer
from kehu.customers.services.cleaning import clean_text
from kehu.customers.services.common import refresh_customer_quality
from kehu.customers.services.customers import bulk_targets


@transaction.atomic
def customer_transfer(*, actor: User, customer_ids: Iterable[int], reason: str,
                      owner_id: int | None = None, org_unit_id: int | None = None,
                      expected_version: int | None = None) -> list[Customer]:
    """Give customers to another account manager and/or unit. Everything attached to
    them stays attached, so the new owner sees their full history. ``expected_version``
    (one customer, from ``If-Match``) is checked once the row is locked."""
    access.require(actor, "customers.change")
    errors: dict[str, list[str]] = {}
    reason = clean_text(reason, "reason", 300, errors)
    if not reason:
        errors.setdefault("reason", []).append(_("Give a reason for the transfer."))
    if owner_id is None and org_unit_id is None:
        errors.setdefault("owner_id", []).append(_("Choose the new owner or unit."))
    if errors:
        raise ValidationFailed(fields=errors)
    owner, unit = placement(actor, "customers.change", owner_id, org_unit_id)
    customers = bulk_targets(actor, customer_ids)
    for customer in customers:
        check_version(customer, expected_version)
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
        refresh_customer_quality(customer)
        audit.record(actor=actor, action="customer.transfer", obj=customer, changes=changes)
    return customers


