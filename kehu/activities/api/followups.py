"""API: follow-up plans. Thin: parse, call services/selectors, shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.activities.api.interactions import LIST_COUNT_CAP
from kehu.activities.models import FollowUp
from kehu.activities.schemas.followups import (
    FollowUpCancelIn,
    FollowUpCompleteIn,
    FollowUpFiltersIn,
    FollowUpIn,
    FollowUpOut,
    FollowUpPatch,
)
from kehu.activities.selectors import followups as fu_selectors
from kehu.activities.services import followups as fu_services
from kehu.core import references
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)

# Tagged with interactions, as before the split (one section of the API docs).
router = Router(tags=["interactions"])


def _followup(request: HttpRequest, followup_id: int) -> FollowUp:
    return fu_selectors.followup_get(actor=current_user(request), followup_id=followup_id)


@router.get("/followups", response=responses({200: Page[FollowUpOut]}))
def followup_list(request: HttpRequest, filters: Query[FollowUpFiltersIn]) -> dict:
    """Follow-up plans you may see, by due time. `status=overdue`: planned and past due."""
    qs = fu_selectors.followup_list(
        actor=current_user(request),
        filters=fu_selectors.FollowUpFilters.from_mapping(filters.model_dump()))
    page = paginate(qs.select_related("org_unit"), filters, count_cap=LIST_COUNT_CAP)
    references.prime_objects(current_user(request), [
        record for f in page["items"] for record in (f.customer, f.contact)])
    return page


@router.post("/followups", response=responses({201: FollowUpOut}, 403))
@idempotent()
def followup_create(request: HttpRequest, payload: FollowUpIn, response: HttpResponse
                    ) -> Status:
    """Plan a follow-up. Without `remind_minutes_before` the owner's default lead applies."""
    data = payload.model_dump()
    no_reminder = data.pop("no_reminder")
    if no_reminder:
        data["remind_minutes_before"] = None
    elif data["remind_minutes_before"] is None:
        data.pop("remind_minutes_before")
    followup = fu_services.followup_create(actor=current_user(request), **data)
    set_etag(response, followup)
    return Status(201, _followup(request, followup.pk))


@router.get("/followups/{followup_id}", response=responses({200: FollowUpOut}, 404))
def followup_get(request: HttpRequest, followup_id: DbId, response: HttpResponse) -> object:
    followup = _followup(request, followup_id)
    set_etag(response, followup)
    return followup


@router.patch("/followups/{followup_id}",
              response=responses({200: FollowUpOut}, 403, 404, 412, 428))
@needs_if_match
def followup_update(request: HttpRequest, followup_id: DbId, payload: FollowUpPatch,
                    response: HttpResponse) -> object:
    followup = fu_services.followup_update(
        actor=current_user(request), followup_id=followup_id,
        expected_version=if_match(request), **payload.changes())
    set_etag(response, followup)
    return _followup(request, followup.pk)


@router.post("/followups/{followup_id}/complete",
             response=responses({200: FollowUpOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def followup_complete(request: HttpRequest, followup_id: DbId, payload: FollowUpCompleteIn,
                      response: HttpResponse) -> object:
    """Mark done with the interaction that fulfilled it (existing or recorded now). A
    recurring plan gets its next follow-up."""
    data = payload.model_dump()
    inline = data.pop("interaction")
    if inline is not None and inline.get("contact_ids") is None:
        inline.pop("contact_ids", None)
    expected = if_match(request)
    followup = fu_services.followup_complete(
        actor=current_user(request), followup_id=followup_id, expected_version=expected,
        interaction=inline, **data)
    set_etag(response, followup)
    return _followup(request, followup.pk)


@router.post("/followups/{followup_id}/cancel",
             response=responses({200: FollowUpOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def followup_cancel(request: HttpRequest, followup_id: DbId, payload: FollowUpCancelIn,
                    response: HttpResponse) -> object:
    """Cancel with a reason; a recurring plan stops unless `stop_series` is false."""
    expected = if_match(request)
    followup = fu_services.followup_cancel(
        actor=current_user(request), followup_id=followup_id, expected_version=expected,
        **payload.model_dump())
    set_etag(response, followup)
    return _followup(request, followup.pk)
