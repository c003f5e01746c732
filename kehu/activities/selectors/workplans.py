"""Reads of weekly work plans: always through ``visible_to``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from kehu.activities.models import WorkPlan, WorkPlanComment
from kehu.activities.services.workplans import monday_of
from kehu.core import access, moments
from kehu.core.models import OrgUnit, Role, User
from kehu.core.permissions import Scope


def _day(value: Any) -> dt.date | None:
    return moments.parse_day(value)


@dataclass
class WorkPlanFilters:
    mine: bool = False
    owner_id: int | None = None
    week_from: dt.date | None = None
    week_to: dt.date | None = None
    status: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> WorkPlanFilters:
        try:
            owner_id: int | None = int(data.get("owner_id") or "")
        except (TypeError, ValueError):
            owner_id = None
        mine = data.get("mine")
        return cls(mine=mine is True or str(mine).lower() in {"1", "true", "on", "yes"},
                   owner_id=owner_id, week_from=_day(data.get("week_from")),
                   week_to=_day(data.get("week_to")), status=str(data.get("status") or ""))


def workplan_list(*, actor: User, filters: WorkPlanFilters | None = None) -> QuerySet[WorkPlan]:
    f = filters or WorkPlanFilters()
    qs = WorkPlan.objects.visible_to(actor).select_related("owner", "org_unit", "reviewed_by")
    if f.mine:
        qs = qs.filter(owner=actor)
    if f.owner_id is not None:
        qs = qs.filter(owner_id=f.owner_id)
    if f.week_from is not None:
        qs = qs.filter(week_start__gte=monday_of(f.week_from))
    if f.week_to is not None:
        qs = qs.filter(week_start__lte=f.week_to)
    if f.status:
        qs = qs.filter(status=f.status)
    return qs.order_by("-week_start", "owner__full_name", "id")


def workplan_detail(*, actor: User, plan_id: int) -> WorkPlan:
    access.get_for(WorkPlan, actor, plan_id)
    comments = WorkPlanComment.objects.select_related("author").order_by("created_at", "id")
    return (WorkPlan.objects.visible_to(actor)
            .select_related("owner", "org_unit", "reviewed_by")
            .prefetch_related(Prefetch("comments", queryset=comments))
            .get(pk=plan_id))


def _planner_role_ids(tenant_id: int) -> list[int]:
    """Roles that write plans without reviewing them: account managers."""
    return [role.pk for role in Role.objects.filter(tenant_id=tenant_id)
            if {"workplans.create"} <= set(role.effective_permissions())
            and "workplans.review" not in role.effective_permissions()]


def team_week(*, actor: User, week: dt.date) -> list[tuple[User, WorkPlan | None]]:
    """For a manager: each account manager in their review area and their plan for
    ``week`` (None when they have not written one). Empty without ``workplans.review``."""
    scope = access.scope_for(actor, "workplans.review")
    if scope is None:
        return []
    week = monday_of(week)
    people = User.objects.filter(tenant_id=actor.tenant_id, is_active=True,
                                 roles__in=_planner_role_ids(actor.tenant_id)) \
        .exclude(pk=actor.pk).select_related("org_unit").distinct()
    if scope == Scope.OWN:
        return []
    if scope != Scope.TENANT:
        people = people.filter(org_unit__in=OrgUnit.objects.filter(
            OrgUnit.scope_q(actor, scope), tenant_id=actor.tenant_id))
    people_list = list(people.order_by("org_unit__path", "full_name", "id"))
    plans = {p.owner_id: p for p in WorkPlan.objects.visible_to(actor).filter(
        week_start=week, owner__in=[u.pk for u in people_list])}
    return [(user, plans.get(user.pk)) for user in people_list]
