"""Manager views (跟进分析): customers without contact, overdue follow-ups, activity counts.

Everything reads through ``visible_to`` of the manager, optionally narrowed to an org unit
subtree inside the area where they hold ``interactions.report``. Each function runs a
fixed number of queries whatever the amount of data (aggregates in the database; the
latest contact per customer is a correlated subquery on the ``activities_int_timeline``
index).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import FollowUp, Interaction, InteractionKind
from kehu.core import access
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import OrgUnit
from kehu.core.permissions import Scope
from kehu.customers.selectors import customers as customer_selectors

if TYPE_CHECKING:
    from kehu.core.models import User
    from kehu.customers.models import Customer

PERMISSION = "interactions.report"
DEFAULT_DAYS = 30
MAX_DAYS = 3650
DEFAULT_WEEKS = 8
MAX_RANGE_DAYS = 366


def report_units(actor: User) -> QuerySet[OrgUnit]:
    """The org units a manager may narrow a report to: those inside their report scope."""
    access.require(actor, PERMISSION)
    scope = access.scope_for(actor, PERMISSION)
    units = OrgUnit.objects.filter(tenant_id=actor.tenant_id, is_active=True)
    if scope == Scope.TENANT:
        return units.order_by("path")
    if scope == Scope.SUBTREE:
        return units.filter(path__startswith=actor.org_unit.path).order_by("path")
    return units.filter(pk=actor.org_unit_id)


def report_unit(actor: User, unit_id: int | None) -> OrgUnit | None:
    """The chosen unit, refused unless it lies inside the manager's report scope."""
    access.require(actor, PERMISSION)
    if unit_id is None:
        return None
    unit = OrgUnit.objects.filter(tenant_id=actor.tenant_id, pk=unit_id).first()
    if unit is None or not access.unit_in_scope(actor, PERMISSION, unit):
        raise ValidationFailed(fields={"unit": [_("Choose an org unit inside your area.")]})
    return unit


def _in_unit(qs: QuerySet[Any], unit: OrgUnit | None) -> QuerySet[Any]:
    return qs if unit is None else qs.filter(org_unit__path__startswith=unit.path)


def _check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(fields={"days": [
            _("Enter a number of days from 1 to %(max)d.") % {"max": MAX_DAYS}]})
    return days


# ---------------------------------------------------------------------------- no contact


def last_contact_subquery() -> Subquery:
    latest = (Interaction.objects.filter(customer_id=OuterRef("pk"))
              .order_by("-occurred_at", "-id").values("occurred_at")[:1])
    return Subquery(latest)


def uncontacted_customers(*, actor: User, days: int = DEFAULT_DAYS,
                          unit: OrgUnit | None = None, owner_id: int | None = None,
                          now: dt.datetime | None = None) -> QuerySet[Customer]:
    """Customers the manager sees whose latest interaction is older than ``days`` days,
    or who were never contacted, annotated with ``last_contact``; longest silence first."""
    access.require(actor, PERMISSION)
    cutoff = (now or timezone.now()) - dt.timedelta(days=_check_days(days))
    qs: QuerySet[Any] = (customer_selectors.visible_customers(actor=actor)
          .annotate(last_contact=last_contact_subquery())
          .filter(Q(last_contact__lt=cutoff) | Q(last_contact__isnull=True)))
    qs = _in_unit(qs, unit)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    return qs.select_related("owner", "org_unit").order_by("last_contact", "pk")


@dataclass
class CountRow:
    key: int | None
    label: str
    count: int


def uncontacted_summary(*, actor: User, days: int = DEFAULT_DAYS, unit: OrgUnit | None = None,
                        now: dt.datetime | None = None) -> dict[str, Any]:
    """Counts of silent customers per account manager (owner) and per org unit."""
    qs = uncontacted_customers(actor=actor, days=days, unit=unit, now=now).order_by()
    by_owner = [CountRow(r["owner_id"], r["owner__full_name"] or _("(no account manager)"),
                         r["n"])
                for r in qs.values("owner_id", "owner__full_name").annotate(n=Count("pk"))
                .order_by("-n", "owner__full_name")]
    by_unit = [CountRow(r["org_unit_id"], r["org_unit__name"], r["n"])
               for r in qs.values("org_unit_id", "org_unit__name").annotate(n=Count("pk"))
               .order_by("-n", "org_unit__name")]
    return {"by_owner": by_owner, "by_unit": by_unit,
            "total": sum(r.count for r in by_owner)}


# ---------------------------------------------------------------------------- overdue


def overdue_followups(*, actor: User, unit: OrgUnit | None = None,
                      owner_id: int | None = None,
                      now: dt.datetime | None = None) -> QuerySet[FollowUp]:
    """Planned follow-ups past their due time that the manager sees, oldest first."""
    access.require(actor, PERMISSION)
    qs: QuerySet[Any] = FollowUp.objects.visible_to(actor).filter(
        state=FollowUp.State.PLANNED, due_at__lt=now or timezone.now())
    qs = _in_unit(qs, unit)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    return qs.select_related("owner", "customer").order_by("due_at", "pk")


def overdue_summary(*, actor: User, unit: OrgUnit | None = None,
                    now: dt.datetime | None = None) -> list[CountRow]:
    qs = overdue_followups(actor=actor, unit=unit, now=now).order_by()
    return [CountRow(r["owner_id"], r["owner__full_name"] or _("(no owner)"), r["n"])
            for r in qs.values("owner_id", "owner__full_name").annotate(n=Count("pk"))
            .order_by("-n", "owner__full_name")]


# ---------------------------------------------------------------------------- activity


def default_range(now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    today = timezone.localdate(now) if now else timezone.localdate()
    return today - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1), today


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if end < start:
        raise ValidationFailed(fields={"end": [_("The end is before the start.")]})
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationFailed(fields={"end": [
            _("Choose a range of at most %(days)d days.") % {"days": MAX_RANGE_DAYS}]})
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def activity_counts(*, actor: User, start: dt.date, end: dt.date,
                    unit: OrgUnit | None = None) -> dict[str, Any]:
    """Interactions the manager sees from ``start`` to ``end`` (whole local days),
    counted per person × type and per ISO week × type (two queries)."""
    access.require(actor, PERMISSION)
    since, until = _bounds(start, end)
    qs = _in_unit(Interaction.objects.visible_to(actor)
                  .filter(occurred_at__gte=since, occurred_at__lt=until), unit).order_by()
    kinds = list(InteractionKind)
    people: dict[Any, dict[str, Any]] = {}
    for r in qs.values("owner_id", "owner__full_name", "kind").annotate(n=Count("pk")):
        row = people.setdefault(r["owner_id"], {
            "key": r["owner_id"], "label": r["owner__full_name"] or _("(no owner)"),
            "counts": defaultdict(int), "total": 0})
        row["counts"][r["kind"]] += r["n"]
        row["total"] += r["n"]
    weeks: dict[dt.date, dict[str, Any]] = {}
    tz = timezone.get_current_timezone()
    for r in (qs.annotate(week=TruncWeek("occurred_at", tzinfo=tz))
              .values("week", "kind").annotate(n=Count("pk"))):
        week = r["week"]
        day = week.date() if isinstance(week, dt.datetime) else week
        row = weeks.setdefault(day, {"week": day, "iso": day.isocalendar()[:2],
                                     "counts": defaultdict(int), "total": 0})
        row["counts"][r["kind"]] += r["n"]
        row["total"] += r["n"]
    # Every week of the range, also the empty ones, so a quiet week shows as zero.
    first = start - dt.timedelta(days=start.weekday())
    day = first
    while day <= end:
        weeks.setdefault(day, {"week": day, "iso": day.isocalendar()[:2],
                               "counts": defaultdict(int), "total": 0})
        day += dt.timedelta(weeks=1)

    def cells(row: dict[str, Any]) -> list[int]:
        return [row["counts"].get(k.value, 0) for k in kinds]

    person_rows = sorted(people.values(), key=lambda r: (-r["total"], str(r["label"])))
    week_rows = [weeks[k] for k in sorted(weeks)]
    totals: defaultdict[str, int] = defaultdict(int)
    for row in person_rows:
        for k, n in row["counts"].items():
            totals[k] += n
    return {
        "kinds": [(k.value, k.label) for k in kinds],
        "by_person": [{**r, "cells": cells(r)} for r in person_rows],
        "by_week": [{**r, "cells": cells(r)} for r in week_rows],
        "totals": [totals.get(k.value, 0) for k in kinds],
        "total": sum(totals.values()),
        "start": start, "end": end,
    }
