"""REST endpoints of contacts. Thin: parse, call, shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import references
from kehu.core.exceptions import NotFound
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
from kehu.customers.api.customers import LIST_COUNT_CAP
from kehu.customers.models import Contact
from kehu.customers.schemas.contacts import (
    ContactFiltersIn,
    ContactIn,
    ContactLinkIn,
    ContactOut,
    ContactPatch,
    ContactRevealIn,
)
from kehu.customers.schemas.customers import RevealOut
from kehu.customers.selectors import contacts as contact_selectors
from kehu.customers.services import contacts as contact_services

contacts_router = Router(tags=["contacts"])


def _contact_out(request: HttpRequest, contact_id: int) -> Contact:
    contact = contact_selectors.contact_list(actor=current_user(request)).select_related(
        "owner", "org_unit").prefetch_related("tags").filter(pk=contact_id).first()
    if contact is None:
        raise NotFound()
    return contact


@contacts_router.get("", response=responses({200: Page[ContactOut]}))
def contact_list(request: HttpRequest, filters: Query[ContactFiltersIn]) -> dict:
    qs = contact_selectors.contact_list(actor=current_user(request), q=filters.q,
                                        customer_id=filters.customer_id) \
        .select_related("owner", "org_unit").prefetch_related("tags")
    page = paginate(qs, filters, count_cap=LIST_COUNT_CAP)
    references.prime_objects(current_user(request), (
        link.customer for contact in page["items"] for link in contact.customer_links.all()))
    return page


@contacts_router.post("", response=responses({201: ContactOut}, 403, 409))
@idempotent()
def contact_create(request: HttpRequest, payload: ContactIn, response: HttpResponse) -> Status:
    data = payload.model_dump()
    contact = contact_services.contact_create(actor=current_user(request), **data)
    set_etag(response, contact)
    return Status(201, _contact_out(request, contact.pk))


@contacts_router.get("/{contact_id}", response=responses({200: ContactOut}, 404))
def contact_get(request: HttpRequest, contact_id: DbId, response: HttpResponse) -> object:
    contact = _contact_out(request, contact_id)
    set_etag(response, contact)
    return contact


@contacts_router.patch("/{contact_id}",
                       response=responses({200: ContactOut}, 403, 404, 412, 428))
@needs_if_match
def contact_update(request: HttpRequest, contact_id: DbId, payload: ContactPatch,
                   response: HttpResponse) -> object:
    contact = contact_services.contact_update(actor=current_user(request), contact_id=contact_id,
                                              expected_version=if_match(request),
                                              **payload.changes())
    set_etag(response, contact)
    return _contact_out(request, contact.pk)


@contacts_router.post("/{contact_id}/links", response=responses({200: ContactOut}, 403, 404))
@idempotent()
def contact_link(request: HttpRequest, contact_id: DbId, payload: ContactLinkIn) -> object:
    """Make the person a contact of a customer (or change their title, role…)."""
    contact_services.contact_link(actor=current_user(request), contact_id=contact_id,
                                  **payload.model_dump())
    return _contact_out(request, contact_id)


@contacts_router.delete("/{contact_id}/links/{customer_id}",
                        response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def contact_unlink(request: HttpRequest, contact_id: DbId, customer_id: DbId) -> Status:
    """If-Match carries the contact's ETag."""
    _contact_out(request, contact_id)
    contact_services.contact_unlink(actor=current_user(request), contact_id=contact_id,
                                    customer_id=customer_id, expected_version=if_match(request))
    return Status(204, None)


@contacts_router.post("/{contact_id}/reveal", response=responses({200: RevealOut}, 403, 404))
@idempotent(secret_fields=("value",))
def contact_reveal(request: HttpRequest, contact_id: DbId, payload: ContactRevealIn) -> dict:
    value = contact_services.contact_reveal(actor=current_user(request), contact_id=contact_id,
                                            reason=payload.reason, field=payload.field)
    return {"field": payload.field, "value": value}
