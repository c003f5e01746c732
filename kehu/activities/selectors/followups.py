"""Reads of follow-up plans: always through ``FollowUp.objects.visible_to``.

``status`` filters by what users see: ``overdue`` is a planned follow-up past its due
time (never stored), ``planned`` the ones still ahead, ``open`` both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.calendar_registry import POINT_MINUTES, CalendarEvent
from kehu.activities.models import FollowUp
from kehu.activities.selectors.calendar import followup_url
from kehu.activities.selectors.interactions import _integer, parse_moment
from kehu.core import access
from kehu.core.models import User

STATUSES = ("open", "planned", "overdue", "done", "cancelled")
OPEN_LIMIT = 20


def status_q(status: str, now: dt.datetime | None = None) -> Q:
    now = now or timezone.now()
    if status == "overdue":
        return Q(state=FollowUp.State.PLANNED, due_at__lt=now)
    if status == "planned":
        return Q(state=FollowUp.State.PLANNED, due_at__gte=now)
    if status == "open":
        return Q(state=FollowUp.State.PLANNED)
    return Q(state=status)


@dataclass
class FollowUpFilters:
    mine: bool = False
    status: str = ""
    customer_id: int | None = None
    owner_id: int | None = None
    due_from: dt.datetime | None = None
    due_to: dt.datetime | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> FollowUpFilters:
        status = str(data.get("status") or "")
        mine = data.get("mine")
        if isinstance(mine, str):
            mine = mine.lower() in ("1", "true", "yes", "on")
        return cls(
            mine=bool(mine), status=status if status in STATUSES else "",
            customer_id=_integer(data.get("customer_id")),
            owner_id=_integer(data.get("owner_id")),
            due_from=parse_moment(data.get("due_from")),
            due_to=parse_moment(data.get("due_to"), end=True),
        )


def followup_list(*, actor: User, filters: FollowUpFilters | None = None,
                  now: dt.datetime | None = None, action: str = "view") -> QuerySet[FollowUp]:
    f = filters or FollowUpFilters()
    qs = FollowUp.objects.visible_to(actor, action)
    if f.mine:
        qs = qs.filter(owner_id=actor.pk)
    if f.status:
        qs = qs.filter(status_q(f.status, now))
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.due_from is not None:
        qs = qs.filter(due_at__gte=f.due_from)
    if f.due_to is not None:
        qs = qs.filter(due_at__lt=f.due_to)
    return qs.select_related("customer", "contact", "owner", "fulfilled_by") \
        .order_by("due_at", "id")


def followup_get(*, actor: User, followup_id: int) -> FollowUp:
    """One follow-up ``actor`` may see, with what its API shape shows; else NotFound."""
    access.get_for(FollowUp, actor, followup_id)
    return FollowUp.objects.select_related("customer", "contact", "owner", "org_unit") \
        .get(pk=followup_id)


def followup_item(fu: FollowUp) -> dict[str, Any]:
    return {
        "id": fu.pk, "subject": fu.subject, "status": fu.status,
        "status_label": fu.get_status_display(), "due_at": fu.due_at.isoformat(),
        "when": timezone.localtime(fu.due_at).strftime("%Y-%m-%d %H:%M"),
        "contact": {"id": fu.contact.pk, "name": fu.contact.name} if fu.contact else None,
        "owner": {"id": fu.owner.pk, "name": fu.owner.full_name} if fu.owner else None,
        "recurring": bool(fu.recur_every),
    }


def customer_open_followups(*, actor: User, customer_id: int) -> dict[str, Any]:
    """The customer's open follow-ups (overdue first, as they come by due time)."""
    qs = followup_list(actor=actor, filters=FollowUpFilters(status="open",
                                                            customer_id=customer_id))
    rows = list(qs[:OPEN_LIMIT])
    return {"count": len(rows) if len(rows) < OPEN_LIMIT else qs.count(),
            "items": [followup_item(fu) for fu in rows]}


def calendar_entries(viewer: User, owner: User, start: dt.datetime,
                     end: dt.datetime) -> list[CalendarEvent]:
    """The calendar source: ``owner``'s follow-ups due in [start, end) that ``viewer`` may
    see; cancelled ones are left out. One query."""
    followups = (FollowUp.objects.visible_to(viewer)
                 .filter(owner_id=owner.pk, due_at__gte=start, due_at__lt=end)
                 .exclude(state=FollowUp.State.CANCELLED).select_related("customer"))
    events = []
    for f in followups:
        status = f.status
        events.append(CalendarEvent(
            type="followup", id=f.pk, title=f.subject, start=f.due_at,
            end=f.due_at + dt.timedelta(minutes=POINT_MINUTES), all_day=False,
            customer=f.customer, status=status, status_label=f.get_status_display(),
            url=followup_url(f), overdue=status == FollowUp.State.OVERDUE,
            label=_("Follow-up")))
    return events
