"""Org unit endpoints: ``/org-units``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import access, selectors
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
from kehu.core.models import OrgUnit
from kehu.core.schemas.org import OrgUnitFilters, OrgUnitIn, OrgUnitMoveIn, OrgUnitOut, OrgUnitPatch
from kehu.core.services import org as services

org_units_router = Router(tags=["org-units"])


@org_units_router.get("", response=responses({200: Page[OrgUnitOut]}))
def org_unit_list(request: HttpRequest, filters: Query[OrgUnitFilters]) -> dict:
    qs = selectors.org_unit_list(
        actor=current_user(request), under_id=filters.under, search=filters.q,
        is_active=filters.active,
    )
    return paginate(qs, filters, filters.ordering)


@org_units_router.post("", response=responses({201: OrgUnitOut}, 403, 404, 409))
@idempotent()
def org_unit_create(request: HttpRequest, payload: OrgUnitIn, response: HttpResponse) -> Status:
    unit = services.org_unit_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, unit)
    return Status(201, unit)


@org_units_router.get("/{unit_id}", response=responses({200: OrgUnitOut}, 404))
def org_unit_get(request: HttpRequest, unit_id: DbId, response: HttpResponse) -> object:
    unit = access.get_for(OrgUnit, current_user(request), unit_id)
    set_etag(response, unit)
    return unit


@org_units_router.patch("/{unit_id}",
                        response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@needs_if_match
def org_unit_update(request: HttpRequest, unit_id: DbId, payload: OrgUnitPatch,
                    response: HttpResponse) -> object:
    """Rename, retype, recode, or (de)activate a unit."""
    unit = services.org_unit_update(
        actor=current_user(request), unit_id=unit_id, expected_version=if_match(request),
        **payload.changes(),
    )
    set_etag(response, unit)
    return unit


@org_units_router.delete("/{unit_id}",
                         response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@needs_if_match
def org_unit_deactivate(request: HttpRequest, unit_id: DbId, response: HttpResponse) -> object:
    """Deactivate a unit; refused (409) while it still owns active users or records."""
    unit = services.org_unit_deactivate(
        actor=current_user(request), unit_id=unit_id, expected_version=if_match(request)
    )
    set_etag(response, unit)
    return unit


@org_units_router.post("/{unit_id}/move",
                       response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@idempotent()
@needs_if_match
def org_unit_move(request: HttpRequest, unit_id: DbId, payload: OrgUnitMoveIn,
                  response: HttpResponse) -> object:
    """Move a unit with its whole subtree under another parent (``If-Match`` required)."""
    unit = services.org_unit_move(
        actor=current_user(request), unit_id=unit_id, new_parent_id=payload.parent_id,
        expected_version=if_match(request),
    )
    set_etag(response, unit)
    return unit

