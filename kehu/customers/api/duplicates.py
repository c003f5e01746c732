"""REST endpoints of duplicate detection and merge. Thin: parse, call, shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from kehu.core.http import Page, PageQuery, current_user, idempotent, responses, set_etag
from kehu.customers.models import Customer
from kehu.customers.schemas.customers import CustomerOut
from kehu.customers.schemas.duplicates import DuplicatePairOut, MergeIn
from kehu.customers.selectors import duplicates as duplicate_selectors
from kehu.customers.services import merge as merge_services

# Mounted at /api/v1/customers before the customers router: /customers/merge and
# /customers/duplicates come before /customers/{id}.
duplicates_router = Router(tags=["customers"])


@duplicates_router.post("/merge", response=responses({200: CustomerOut}, 403, 404, 412))
@idempotent()
def customer_merge(request: HttpRequest, payload: MergeIn, response: HttpResponse) -> object:
    """Merge two customers: every related record moves to the survivor, the loser's
    identifiers stay as aliases, the loser redirects to the survivor. Needs
    customers.admin and change on both customers."""
    versions = {payload.survivor_id: payload.survivor_version,
                payload.loser_id: payload.loser_version}
    survivor = merge_services.customer_merge(
        actor=current_user(request), survivor_id=payload.survivor_id,
        loser_id=payload.loser_id,
        expected_versions={k: v for k, v in versions.items() if v is not None})
    set_etag(response, survivor)
    return (Customer.objects.select_related("owner", "org_unit").prefetch_related("tags")
            .get(pk=survivor.pk))




@duplicates_router.get("/duplicates", response=responses({200: Page[DuplicatePairOut]}, 403))
def duplicate_list(request: HttpRequest, query: Query[PageQuery]) -> dict:
    """Pairs of customers that may be the same (same credit code, ID number or phone, or
    similar names), most certain first. Needs customers.admin."""
    total, pairs = duplicate_selectors.duplicate_page(actor=current_user(request),
                                                      limit=query.limit, offset=query.offset)
    return {"count": total, "count_capped": False, "items": pairs, "limit": query.limit,
            "offset": query.offset}
