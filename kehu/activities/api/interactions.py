"""API: interactions (imported through `/imports`, entity `interactions`). Thin: parse,
call services/selectors, shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.activities.models import Interaction
from kehu.activities.schemas.interactions import (
    InteractionFiltersIn,
    InteractionIn,
    InteractionOut,
    InteractionPatch,
)
from kehu.activities.selectors import interactions as selectors
from kehu.activities.services import interactions as services
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

router = Router(tags=["interactions"])

LIST_COUNT_CAP = 10_000


def _interaction(request: HttpRequest, interaction_id: int) -> Interaction:
    return selectors.interaction_get(actor=current_user(request),
                                     interaction_id=interaction_id)


@router.get("/interactions", response=responses({200: Page[InteractionOut]}))
def interaction_list(request: HttpRequest, filters: Query[InteractionFiltersIn]) -> dict:
    """Interactions you may see, newest first. Counts stop at 10,000 (`count_capped`)."""
    qs = selectors.interaction_list(
        actor=current_user(request),
        filters=selectors.InteractionFilters.from_mapping(filters.model_dump()))
    page = paginate(selectors.with_details(qs), filters, count_cap=LIST_COUNT_CAP)
    references.prime_objects(current_user(request), [
        record for i in page["items"] for record in (i.customer, *i.contacts.all())])
    return page


@router.post("/interactions", response=responses({201: InteractionOut}, 403, 409))
@idempotent()
def interaction_create(request: HttpRequest, payload: InteractionIn,
                       response: HttpResponse) -> Status:
    """Record an interaction with a customer you can see (contacts: its contacts)."""
    interaction = services.interaction_create(actor=current_user(request),
                                              **payload.model_dump())
    set_etag(response, interaction)
    return Status(201, _interaction(request, interaction.pk))


@router.get("/interactions/{interaction_id}", response=responses({200: InteractionOut}, 404))
def interaction_get(request: HttpRequest, interaction_id: DbId,
                    response: HttpResponse) -> object:
    interaction = _interaction(request, interaction_id)
    set_etag(response, interaction)
    return interaction


@router.patch("/interactions/{interaction_id}",
              response=responses({200: InteractionOut}, 403, 404, 412, 428))
@needs_if_match
def interaction_update(request: HttpRequest, interaction_id: DbId, payload: InteractionPatch,
                       response: HttpResponse) -> object:
    interaction = services.interaction_update(
        actor=current_user(request), interaction_id=interaction_id,
        expected_version=if_match(request), **payload.changes())
    set_etag(response, interaction)
    return _interaction(request, interaction.pk)


@router.delete("/interactions/{interaction_id}",
               response=responses({204: None}, 403, 404, 409, 412, 428))
@needs_if_match
def interaction_delete(request: HttpRequest, interaction_id: DbId) -> Status:
    services.interaction_delete(actor=current_user(request), interaction_id=interaction_id,
                                expected_version=if_match(request))
    return Status(204, None)
