"""Reads of tasks: always through ``visible_to``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.calendar_registry import POINT_MINUTES, CalendarEvent
from kehu.activities.models import Task, TaskComment
from kehu.activities.selectors.calendar import task_url
from kehu.activities.services.tasks import may_assign_to
from kehu.core import access, moments
from kehu.core.models import OrgUnit, User
from kehu.core.permissions import Scope

VIEWS = ("all", "mine", "assigned", "team")
OPEN_STATUSES = (Task.Status.OPEN, Task.Status.IN_PROGRESS)
ORDERINGS = {
    "due": ("due_at", "id"), "-due": ("-due_at", "-id"),
    "created": ("created_at", "id"), "-created": ("-created_at", "-id"),
    "priority": ("priority", "due_at", "id"),
}


def _moment(value: Any, *, end: bool = False) -> dt.datetime | None:
    """A date-time from a datetime, ISO text or a date (a date's end for ``end``)."""
    return moments.parse_moment(value, end=end, inclusive=True)


@dataclass
class TaskFilters:
    view: str = "all"
    status: str = ""
    priority: str = ""
    owner_id: int | None = None
    customer_id: int | None = None
    due_after: dt.datetime | None = None
    due_before: dt.datetime | None = None
    overdue: bool = False
    ordering: str = "due"

    @classmethod
    def from_mapping(cls, data: Any) -> TaskFilters:
        """From a query dict or plain dict; bad values are ignored."""

        def integer(key: str) -> int | None:
            try:
                return int(data.get(key) or "")
            except (TypeError, ValueError):
                return None

        view = str(data.get("view") or "all")
        overdue = data.get("overdue")
        return cls(
            view=view if view in VIEWS else "all",
            status=str(data.get("status") or ""), priority=str(data.get("priority") or ""),
            owner_id=integer("owner_id"), customer_id=integer("customer_id"),
            due_after=_moment(data.get("due_after")),
            due_before=_moment(data.get("due_before"), end=True),
            overdue=overdue is True or str(overdue).lower() in {"1", "true", "on", "yes"},
            ordering=str(data.get("ordering") or "due"),
        )


def task_list(*, actor: User, filters: TaskFilters | None = None) -> QuerySet[Task]:
    f = filters or TaskFilters()
    qs = Task.objects.visible_to(actor).select_related(
        "owner", "assigned_by", "customer", "org_unit")
    if f.view == "mine":
        qs = qs.filter(owner=actor)
    elif f.view == "assigned":
        qs = qs.filter(assigned_by=actor).exclude(owner=actor)
    elif f.view == "team":
        qs = qs.exclude(owner=actor)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.due_after is not None:
        qs = qs.filter(due_at__gte=f.due_after)
    if f.due_before is not None:
        qs = qs.filter(due_at__lte=f.due_before)
    if f.overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
    return qs.order_by(*ORDERINGS.get(f.ordering, ORDERINGS["due"]))


def task_detail(*, actor: User, task_id: int) -> Task:
    """The task with its people, customer and comments (authors) in a fixed number of
    queries."""
    access.get_for(Task, actor, task_id)
    comments = TaskComment.objects.select_related("author").order_by("created_at", "id")
    return (Task.objects.visible_to(actor)
            .select_related("owner", "assigned_by", "customer", "org_unit")
            .prefetch_related(Prefetch("comments", queryset=comments))
            .get(pk=task_id))


def assignable_users(*, actor: User) -> QuerySet[User]:
    """The people ``actor`` may give tasks to: themselves and, with ``tasks.assign``,
    active users in units of that permission's scope (the rule the services apply)."""
    qs = User.objects.filter(tenant_id=actor.tenant_id, is_active=True).select_related(
        "org_unit")
    scope = access.scope_for(actor, "tasks.assign")
    if scope is None or scope == Scope.OWN:
        return qs.filter(pk=actor.pk)
    if scope != Scope.TENANT:
        units = OrgUnit.objects.filter(OrgUnit.scope_q(actor, scope),
                                       tenant_id=actor.tenant_id)
        qs = qs.filter(Q(pk=actor.pk) | Q(org_unit__in=units))
    return qs.order_by("org_unit__path", "full_name", "id")


def calendar_entries(viewer: User, owner: User, start: dt.datetime,
                     end: dt.datetime) -> list[CalendarEvent]:
    """The calendar source: ``owner``'s tasks due in [start, end) that ``viewer`` may see;
    cancelled ones and tasks without a due time are left out. One query."""
    now = timezone.now()
    tasks = (Task.objects.visible_to(viewer)
             .filter(owner_id=owner.pk, due_at__gte=start, due_at__lt=end)
             .exclude(status=Task.Status.CANCELLED).select_related("customer"))
    events = []
    for t in tasks:
        assert t.due_at is not None  # filtered on
        events.append(CalendarEvent(
            type="task", id=t.pk, title=t.title, start=t.due_at,
            end=t.due_at + dt.timedelta(minutes=POINT_MINUTES), all_day=False,
            customer=t.customer, status=str(t.status), status_label=t.get_status_display(),
            url=task_url(t), overdue=t.status in OPEN_STATUSES and t.due_at < now,
            label=_("Task")))
    return events


__all__ = ["ORDERINGS", "VIEWS", "TaskFilters", "assignable_users", "calendar_entries",
           "may_assign_to", "task_detail", "task_list"]
