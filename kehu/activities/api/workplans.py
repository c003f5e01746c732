"""API: weekly work plans. Thin: parse, call services/selectors, shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.activities.models import WorkPlan
from kehu.activities.schemas.tasks import CommentIn, CommentOut
from kehu.activities.schemas.workplans import (
    ReviewIn,
    WorkPlanDetailOut,
    WorkPlanFiltersIn,
    WorkPlanIn,
    WorkPlanOut,
    WorkPlanPatch,
)
from kehu.activities.selectors import workplans as plan_selectors
from kehu.activities.services import workplans as plan_services
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    located,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)

# Tagged with tasks, as before the split (one section of the API docs).
router = Router(tags=["tasks"])


def _plan(request: HttpRequest, plan_id: int) -> WorkPlan:
    plan = plan_selectors.workplan_detail(actor=current_user(request), plan_id=plan_id)
    plan.comment_list = list(plan.comments.all())  # type: ignore[attr-defined]
    return plan


@router.get("/workplans", response=responses({200: Page[WorkPlanOut]}))
def workplan_list(request: HttpRequest, filters: Query[WorkPlanFiltersIn]) -> dict:
    """Weekly work plans you may see: your own and your team's."""
    qs = plan_selectors.workplan_list(
        actor=current_user(request),
        filters=plan_selectors.WorkPlanFilters.from_mapping(filters.model_dump()))
    return paginate(qs, filters)


@router.post("/workplans", response=responses({201: WorkPlanDetailOut}, 403, 409))
@idempotent()
def workplan_create(request: HttpRequest, payload: WorkPlanIn, response: HttpResponse) -> Status:
    """Your plan for a week (one per week; any day of the week names it)."""
    plan = plan_services.workplan_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, plan)
    return Status(201, _plan(request, plan.pk))


@router.get("/workplans/{plan_id}", response=responses({200: WorkPlanDetailOut}, 404))
def workplan_get(request: HttpRequest, plan_id: DbId, response: HttpResponse) -> object:
    plan = _plan(request, plan_id)
    set_etag(response, plan)
    return plan


@router.patch("/workplans/{plan_id}",
              response=responses({200: WorkPlanDetailOut}, 403, 404, 409, 412, 428))
@needs_if_match
def workplan_update(request: HttpRequest, plan_id: DbId, payload: WorkPlanPatch,
                    response: HttpResponse) -> object:
    """Your own plan, while it is a draft or submitted."""
    plan = plan_services.workplan_update(actor=current_user(request), plan_id=plan_id,
                                         expected_version=if_match(request),
                                         **payload.changes())
    set_etag(response, plan)
    return _plan(request, plan.pk)


@router.post("/workplans/{plan_id}/submit",
             response=responses({200: WorkPlanDetailOut}, 403, 404, 409, 412, 428))
@idempotent()
@needs_if_match
def workplan_submit(request: HttpRequest, plan_id: DbId, response: HttpResponse) -> object:
    plan = plan_services.workplan_submit(actor=current_user(request), plan_id=plan_id,
                                         expected_version=if_match(request))
    set_etag(response, plan)
    return _plan(request, plan.pk)


@router.post("/workplans/{plan_id}/review",
             response=responses({200: WorkPlanDetailOut}, 403, 404, 409, 412, 428))
@idempotent()
@needs_if_match
def workplan_review(request: HttpRequest, plan_id: DbId, payload: ReviewIn,
                    response: HttpResponse) -> object:
    """A manager reviews a submitted plan, optionally with a comment; it is then locked."""
    plan = plan_services.workplan_review(actor=current_user(request), plan_id=plan_id,
                                         comment=payload.comment,
                                         expected_version=if_match(request))
    set_etag(response, plan)
    return _plan(request, plan.pk)


@router.post("/workplans/{plan_id}/comments", response=responses({201: CommentOut}, 403, 404))
@idempotent()
@located("/workplans/{plan_id}")  # a comment is part of its plan
def workplan_comment(request: HttpRequest, plan_id: DbId, payload: CommentIn) -> Status:
    comment = plan_services.workplan_comment_add(actor=current_user(request), plan_id=plan_id,
                                                 body=payload.body)
    return Status(201, comment)
