"""Data quality of a customer record (requirement B10): completeness and validity.

Each check has a weight; the score is the weighted share of checks passed (0–100).
Values are validated on the way in, so a present value is a valid one; what lowers a
score is what is missing. The checks also name the fields the tenant page ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import CustomerContact

if TYPE_CHECKING:
    from kehu.customers.models import Customer


@dataclass(frozen=True)
class Check:
    key: str
    label: Promise
    weight: int
    passed: Callable[[Customer, bool], bool]
    # The same test as a database condition on *missing*, for tenant-wide counts.
    missing_q: Q


def _org(c: Customer) -> bool:
    return c.kind != "individual"


CHECKS: tuple[Check, ...] = (
    Check("identifier", _("Credit code or ID number"), 20,
          lambda c, _h: bool(c.uscc if _org(c) else c.id_number_hash),
          (~Q(kind="individual") & Q(uscc="")) | (Q(kind="individual") & Q(id_number_hash=""))),
    Check("phones", _("Phone"), 15, lambda c, _h: bool(c.phones), Q(phone_digits="")),
    Check("contacts", _("Contact person"), 15, lambda c, has_contact: has_contact,
          Q(~Exists(CustomerContact.objects.filter(customer=OuterRef("pk"))))),
    Check("region", _("Region"), 10, lambda c, _h: bool(c.region), Q(region="")),
    Check("industry", _("Industry"), 10,
          lambda c, _h: bool(c.industry) or not _org(c), ~Q(kind="individual") & Q(industry="")),
    Check("addresses", _("Address"), 10, lambda c, _h: bool(c.addresses), Q(addresses=[])),
    Check("emails", _("Email"), 5, lambda c, _h: bool(c.emails), Q(emails=[])),
    Check("short_name", _("Short name"), 5, lambda c, _h: bool(c.short_name), Q(short_name="")),
    Check("size", _("Size"), 5, lambda c, _h: bool(c.size) or not _org(c),
          ~Q(kind="individual") & Q(size="")),
    Check("owner", _("Account manager"), 5, lambda c, _h: c.owner_id is not None,
          Q(owner__isnull=True)),
)
TOTAL_WEIGHT = sum(check.weight for check in CHECKS)


def assess(customer: Customer, has_contact: bool) -> tuple[int, list[Check]]:
    """The score and the checks that failed."""
    failed = [check for check in CHECKS if not check.passed(customer, has_contact)]
    lost = sum(check.weight for check in failed)
    return round(100 * (TOTAL_WEIGHT - lost) / TOTAL_WEIGHT), failed
