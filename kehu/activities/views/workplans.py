"""Pages: weekly work plans (list with the team's week, form, detail with review and
comments). Thin: forms parse, services write, selectors read. Every action is a plain
form post that redirects; htmx swaps the comment list in place.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.activities.forms import workplans as f
from kehu.activities.forms.tasks import CommentForm
from kehu.activities.models import WorkPlan
from kehu.activities.selectors import workplans as plan_selectors
from kehu.activities.services import workplans as plan_services
from kehu.core import access
from kehu.core.exceptions import KehuError
from kehu.core.models import User
from kehu.core.web import is_htmx, page, service_error

PLANS_PER_PAGE = 20


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _week(value: str | None) -> dt.date:
    field = f.WeekField(required=False)
    try:
        day = field.clean(value)
    except DjangoValidationError:  # an unreadable week falls back to this week
        day = None
    if day is None or not 1900 <= day.year <= 2999:  # far-off weeks have no neighbours
        day = timezone.localdate()
    return plan_services.monday_of(day)


@page("workplans.view")
def workplan_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    status_form = f.PlanStatusFilter(request.GET or None)
    status = status_form.cleaned_data["status"] if status_form.is_valid() else ""
    mine = request.GET.get("mine") == "1"
    filters = plan_selectors.WorkPlanFilters(mine=mine, status=status)
    plans = plan_selectors.workplan_list(actor=me, filters=filters)
    page_obj = Paginator(plans, PLANS_PER_PAGE).get_page(request.GET.get("page"))
    week = _week(request.GET.get("week"))
    team = plan_selectors.team_week(actor=me, week=week)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "activities/workplans/workplan_list.html", {
        "page_obj": page_obj, "plans": list(page_obj), "status_form": status_form,
        "mine": mine, "query": query.urlencode(), "team": team, "week": week,
        "week_value": f.WeekField().prepare_value(week),
        "previous_week": f.WeekField().prepare_value(week - dt.timedelta(days=7)),
        "next_week": f.WeekField().prepare_value(week + dt.timedelta(days=7)),
        "submitted_count": sum(1 for _u, p in team if p and p.status != WorkPlan.Status.DRAFT),
        "can_review": access.has_perm(me, "workplans.review"),
        "can_create": access.has_perm(me, "workplans.create"),
    })


@page("workplans.create")
def workplan_create(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if request.method != "POST":
        form = f.WorkPlanForm(initial={"week_start": _week(request.GET.get("week"))})
        return render(request, "activities/workplans/workplan_form.html", {"form": form})
    form = f.WorkPlanForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan = plan_services.workplan_create(actor=me, week_start=data["week_start"],
                                                 goals=data["goals"], summary=data["summary"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Work plan saved."))
            return redirect("workplan_detail", pk=plan.pk)
    return render(request, "activities/workplans/workplan_form.html", {"form": form},
                  status=422)


@page("workplans.change")
def workplan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    plan = plan_selectors.workplan_detail(actor=me, plan_id=pk)
    if plan.owner_id != me.pk:
        raise Http404  # someone else's plan: not found, like a missing one
    initial = {"goals": plan.goals, "summary": plan.summary, "expected_version": plan.version}
    form = f.WorkPlanForm(request.POST if request.method == "POST" else None,
                          initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan_services.workplan_update(actor=me, plan_id=pk,
                                          expected_version=data["expected_version"],
                                          goals=data["goals"], summary=data["summary"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("workplan_detail", pk=pk)
    return render(request, "activities/workplans/workplan_form.html",
                  {"form": form, "plan": plan},
                  status=422 if request.method == "POST" else 200)


@page("workplans.view")
def workplan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    plan = plan_selectors.workplan_detail(actor=me, plan_id=pk)
    is_owner = plan.owner_id == me.pk
    return render(request, "activities/workplans/workplan_detail.html", {
        "plan": plan, "comments": list(plan.comments.all()), "comment_form": CommentForm(),
        "review_form": f.ReviewForm(), "is_owner": is_owner,
        "can_edit": is_owner and plan.status != WorkPlan.Status.REVIEWED,
        "can_submit": is_owner and plan.status == WorkPlan.Status.DRAFT,
        "can_review": (not is_owner and plan.status == WorkPlan.Status.SUBMITTED
                       and access.allows(me, plan, "review")),
        "can_comment": plan_services.may_comment(me, plan),
    })


@require_POST
@page("workplans.change")
def workplan_submit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        plan_services.workplan_submit(actor=_me(request), plan_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Work plan submitted for review."))
    return redirect("workplan_detail", pk=pk)


@require_POST
@page("workplans.review")
def workplan_review(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.ReviewForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        plan_services.workplan_review(actor=_me(request), plan_id=pk, comment=comment)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Work plan reviewed."))
    return redirect("workplan_detail", pk=pk)


@require_POST
@page("workplans.view")
def workplan_comment(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            plan_services.workplan_comment_add(actor=me, plan_id=pk,
                                               body=form.cleaned_data["body"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            form = CommentForm()
    if not is_htmx(request):
        if form.errors:
            messages.error(request, _("The comment could not be added."))
        return redirect("workplan_detail", pk=pk)
    plan = plan_selectors.workplan_detail(actor=me, plan_id=pk)
    return render(request, "activities/tasks/_comments.html", {
        "comments": list(plan.comments.all()), "comment_form": form, "task": plan,
        "comment_url": "workplan_comment"})


urlpatterns: list[URLPattern] = [
    path("workplans/", workplan_list, name="workplan_list"),
    path("workplans/new/", workplan_create, name="workplan_create"),
    path("workplans/<int:pk>/", workplan_detail, name="workplan_detail"),
    path("workplans/<int:pk>/edit/", workplan_edit, name="workplan_edit"),
    path("workplans/<int:pk>/submit/", workplan_submit, name="workplan_submit"),
    path("workplans/<int:pk>/review/", workplan_review, name="workplan_review"),
    path("workplans/<int:pk>/comments/", workplan_comment, name="workplan_comment"),
]
