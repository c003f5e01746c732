"""The calendar: whose calendar a viewer may open, the range rules, and its entries.

What fills a calendar comes from the calendar-entry registry
(``kehu.activities.calendar_registry``); activities registers its follow-ups, tasks and
visits/meetings (``selectors.followups/tasks/interactions``, in ``registrations.py``).

Whose calendar a viewer may open: their own, or a colleague's whose org unit lies inside
the viewer's *unit* (or wider) scope for the permission of one of the registered sources
(follow-ups, tasks, interactions, …). An "own records" scope never opens anyone else's
calendar. Everything shown is still read through ``visible_to(viewer)``: a manager sees
of a team member's calendar exactly what their data scope lets them see anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities import calendar_registry
from kehu.activities.calendar_registry import POINT_MINUTES, CalendarEvent
from kehu.activities.models import FollowUp, Interaction, Task
from kehu.core import access, moments, references
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.permissions import Scope

__all__ = ["MAX_RANGE_DAYS", "POINT_MINUTES", "CalendarEvent", "calendar_events",
           "calendar_user", "calendar_users", "check_range", "followup_url",
           "interaction_url", "may_view_calendar", "parse_range", "task_url"]

MAX_RANGE_DAYS = 62


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
    for permission in calendar_registry.source_permissions():
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
        for p in calendar_registry.source_permissions()
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
            day = moments.check_day(dt.date.fromisoformat(text))
            if is_end:
                day += dt.timedelta(days=1)
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moments.check_moment(moment)
    except moments.OutOfRange:
        raise ValidationFailed(fields={field: [
            _("Enter a date between 1900-01-01 and 2200-12-31.")]}) from None
    except (ValueError, OverflowError):
        raise ValidationFailed(fields={field: [
            _("Enter a date (2026-01-31) or a date and time (ISO 8601).")]}) from None


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
    """``user``'s calendar in [start, end), as ``viewer`` may see it: the entries of every
    registered source (``kehu.activities.calendar_registry``) whose permission ``viewer``
    holds, by start time. activities registers follow-ups, tasks and visits/meetings."""
    check_range(start, end)
    if not may_view_calendar(viewer, user):
        raise NotFound()
    events: list[CalendarEvent] = []
    for source in calendar_registry.sources_for(viewer):
        for event in source.load(viewer, user, start, end):
            events.append(event if event.label
                          else replace(event, label=str(source.label)))
    events.sort(key=lambda e: (e.start, e.type, e.id))
    # An entry may concern a customer the viewer cannot see (a task assigned across
    # provinces, a meeting they joined): shown redacted, through the one helper.
    references.prime_objects(viewer, (e.customer for e in events))
    return [_with_customer_ref(viewer, e) for e in events]


def _with_customer_ref(viewer: User, event: CalendarEvent) -> CalendarEvent:
    shown = references.ref(viewer, event.customer)
    url = event.url
    if shown is not None and shown["redacted"] and event.customer is not None \
            and url == _url("customer_detail", event.customer.pk):
        url = reverse("calendar")  # a link to the hidden customer's page would name its id
    return replace(event, customer_ref=shown, url=url)
