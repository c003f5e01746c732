"""The calendar: a user's follow-ups, tasks and meetings/visits over a time range.

Whose calendar a viewer may open: their own, or a colleague's whose org unit lies inside
the viewer's *unit* (or wider) scope for one of the calendar modules (follow-ups, tasks,
interactions). An "own records" scope never opens anyone else's calendar. Everything shown
is still read through ``visible_to(viewer)``: a manager sees of a team member's calendar
exactly what their data scope lets them see anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import CALENDAR_KINDS, FollowUp, Interaction, Task
from kehu.core import access
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.permissions import Scope

if TYPE_CHECKING:
    from kehu.customers.models import Customer

CALENDAR_PERMISSIONS = ("followups.view", "tasks.view", "interactions.view")
MAX_RANGE_DAYS = 62
# Follow-ups and tasks are points in time; they are drawn this long.
POINT_MINUTES = 30
DEFAULT_MEETING_MINUTES = 60


@dataclass(frozen=True)
class CalendarEvent:
    type: str  # "followup" | "task" | "interaction"
    id: int
    title: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    customer: Customer | None
    status: str
    status_label: str
    url: str
    overdue: bool = False
    kind: str = ""  # the interaction's kind (visit, meeting)
    kind_label: str = ""

    @property
    def customer_out(self) -> dict[str, Any] | None:
        if self.customer is None:
            return None
        return {"id": self.customer.pk, "name": self.customer.name}


# ---------------------------------------------------------------------------- links


def _url(name: str, pk: int, fallback: tuple[str, list[Any]] | None = None) -> str:
    """The page of a record; if its area names its page differently, a sensible fallback."""
    candidates: list[tuple[str, list[Any]]] = [(name, [pk])]
    if fallback is not None:
        candidates.append(fallback)
    for candidate, args in candidates:
        try:
            return reverse(candidate, args=args)
        except NoReverseMatch:
            continue
    return reverse("calendar")


def followup_url(item: FollowUp) -> str:
    return _url("followup_detail", item.pk, ("customer_detail", [item.customer_id]))


def task_url(item: Task) -> str:
    return _url("task_detail", item.pk)


def interaction_url(item: Interaction) -> str:
    return _url("interaction_detail", item.pk, ("customer_detail", [item.customer_id]))


# ---------------------------------------------------------------------------- whose calendar


def _scope_q(viewer: User) -> Q | None:
    """Users whose calendars ``viewer`` may open besides their own (None: nobody)."""
    condition: Q | None = None
    for permission in CALENDAR_PERMISSIONS:
        scope = access.scope_for(viewer, permission)
        if scope is None or scope == Scope.OWN:
            continue
        if scope == Scope.TENANT:
            part = Q()
        elif scope == Scope.SUBTREE:
            part = Q(org_unit__path__startswith=viewer.org_unit.path)
        else:
            part = Q(org_unit_id=viewer.org_unit_id)
        condition = part if condition is None else condition | part
    return condition


def may_view_calendar(viewer: User, target: User) -> bool:
    if not viewer.is_authenticated or not viewer.is_active:
        return False
    if target.pk == viewer.pk:
        return True
    if target.tenant_id != viewer.tenant_id:
        return False
    return any(
        access.scope_for(viewer, p) not in (None, Scope.OWN)
        and access.unit_in_scope(viewer, p, target.org_unit)
        for p in CALENDAR_PERMISSIONS
    )


def calendar_users(*, viewer: User) -> QuerySet[User]:
    """Active users whose calendar ``viewer`` may open (themselves first in name order)."""
    qs = User.objects.filter(tenant_id=viewer.tenant_id, is_active=True)
    condition = _scope_q(viewer)
    qs = qs.filter(pk=viewer.pk) if condition is None else qs.filter(condition | Q(pk=viewer.pk))
    return qs.select_related("org_unit").order_by("org_unit__path", "full_name", "id")


def calendar_user(*, viewer: User, user_id: int | None) -> User:
    """The user whose calendar is asked for (the viewer when None); 404 when not allowed."""
    if user_id is None or user_id == viewer.pk:
        return viewer
    target = (User.objects.filter(tenant_id=viewer.tenant_id, pk=user_id)
              .select_related("org_unit").first())
    if target is None or not may_view_calendar(viewer, target):
        raise NotFound()
    return target


# ---------------------------------------------------------------------------- events


def _moment(value: str, field: str, *, is_end: bool) -> dt.datetime:
    """A date (its start; for an end, the start of the next day) or an ISO date-time (the
    server's time zone when it has no offset)."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={field: [_("This field is required.")]})
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if is_end:
                day += dt.timedelta(days=1)
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValidationFailed(fields={field: [
            _("Enter a date (2026-01-31) or a date and time (ISO 8601).")]}) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def parse_range(start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) asked for as text; a date ``end`` includes that whole day."""
    begin, finish = _moment(start, "start", is_end=False), _moment(end, "end", is_end=True)
    check_range(begin, finish)
    return begin, finish


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise ValidationFailed(fields={"end": [_("The end must be after the start.")]})
    if end - start > dt.timedelta(days=MAX_RANGE_DAYS):
        raise ValidationFailed(fields={"end": [
            _("Ask for at most %(days)d days at a time.") % {"days": MAX_RANGE_DAYS}]})


def calendar_events(viewer: User, user: User, start: dt.datetime,
                    end: dt.datetime) -> list[CalendarEvent]:
    """``user``'s follow-ups, tasks and visits/meetings in [start, end), as ``viewer`` may
    see them. Cancelled follow-ups and tasks are left out. Three queries."""
    check_range(start, end)
    if not may_view_calendar(viewer, user):
        raise NotFound()
    now = timezone.now()
    events: list[CalendarEvent] = []
    followups = (FollowUp.objects.visible_to(viewer)
                 .filter(owner_id=user.pk, due_at__gte=start, due_at__lt=end)
                 .exclude(state=FollowUp.State.CANCELLED).select_related("customer"))
    for f in followups:
        status = f.status
        events.append(CalendarEvent(
            type="followup", id=f.pk, title=f.subject, start=f.due_at,
            end=f.due_at + dt.timedelta(minutes=POINT_MINUTES), all_day=False,
            customer=f.customer, status=status, status_label=f.get_status_display(),
            url=followup_url(f), overdue=status == FollowUp.State.OVERDUE))
    tasks = (Task.objects.visible_to(viewer)
             .filter(owner_id=user.pk, due_at__gte=start, due_at__lt=end)
             .exclude(status=Task.Status.CANCELLED).select_related("customer"))
    for t in tasks:
        assert t.due_at is not None  # filtered on
        events.append(CalendarEvent(
            type="task", id=t.pk, title=t.title, start=t.due_at,
            end=t.due_at + dt.timedelta(minutes=POINT_MINUTES), all_day=False,
            customer=t.customer, status=str(t.status), status_label=t.get_status_display(),
            url=task_url(t),
            overdue=(t.status in (Task.Status.OPEN, Task.Status.IN_PROGRESS)
                     and t.due_at < now)))
    joined = Interaction.participants.through.objects.filter(user_id=user.pk)
    interactions = (Interaction.objects.visible_to(viewer)
                    .filter(Q(owner_id=user.pk) | Q(pk__in=joined.values("interaction_id")),
                            kind__in=list(CALENDAR_KINDS), occurred_at__gte=start,
                            occurred_at__lt=end)
                    .select_related("customer"))
    for i in interactions:
        minutes = i.duration_minutes or DEFAULT_MEETING_MINUTES
        events.append(CalendarEvent(
            type="interaction", id=i.pk, title=i.subject, start=i.occurred_at,
            end=i.occurred_at + dt.timedelta(minutes=minutes), all_day=False,
            customer=i.customer, status="done" if i.occurred_at <= now else "planned",
            status_label=_("Done") if i.occurred_at <= now else _("Planned"),
            url=interaction_url(i), kind=str(i.kind), kind_label=i.get_kind_display()))
    events.sort(key=lambda e: (e.start, e.type, e.id))
    return events
