"""REST endpoints of customers, contacts and search. Thin: parse, call, shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import access, pii
from kehu.core.exceptions import NotFound, ValidationFailed
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
from kehu.customers import search, selectors, services
from kehu.customers.models import Contact, Customer, ExternalId
from kehu.customers.schemas import (
    BulkIn,
    BulkOut,
    ContactFiltersIn,
    ContactIn,
    ContactLinkIn,
    ContactOut,
    ContactPatch,
    ContactRevealIn,
    CustomerFiltersIn,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerViewOut,
    ExternalIdIn,
    ExternalIdOut,
    LookupQuery,
    RelationshipIn,
    RelationshipOut,
    RevealIn,
    RevealOut,
    SearchOut,
    SearchQuery,
    StatusIn,
    TransferIn,
)

customers_router = Router(tags=["customers"])
contacts_router = Router(tags=["contacts"])
search_router = Router(tags=["search"])

LIST_COUNT_CAP = 10_000


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    customer = access.get_for(Customer, current_user(request), customer_id)
    if customer.merged_into_id:
        raise NotFound()
    return customer


def _with_relations(customer: Customer) -> Customer:
    return (Customer.objects.select_related("owner", "org_unit").prefetch_related("tags")
            .get(pk=customer.pk))


def _plain_input(payload: Any, **extra: Any) -> dict[str, Any]:
    return payload.model_dump(**extra)


# ---------------------------------------------------------------------------- customers


@customers_router.get("", response=responses({200: Page[CustomerOut]}))
def customer_list(request: HttpRequest, filters: Query[CustomerFiltersIn]) -> dict:
    """Customers you may see. Counts stop at 10,000 (`count_capped`)."""
    qs = selectors.customer_list(
        actor=current_user(request),
        filters=selectors.CustomerFilters.from_mapping(filters.model_dump()),
    ).prefetch_related("tags")
    return paginate(qs, filters, count_cap=LIST_COUNT_CAP)


@customers_router.post("", response=responses({201: CustomerOut}, 403, 409))
@idempotent(secret_fields=("id_number",))
def customer_create(request: HttpRequest, payload: CustomerIn, response: HttpResponse) -> Status:
    data = _plain_input(payload)
    data["status"] = data.get("status") or "potential"
    customer = services.customer_create(actor=current_user(request), **data)
    set_etag(response, customer)
    return Status(201, _with_relations(customer))


@customers_router.get("/lookup", response=responses({200: CustomerOut}, 404))
def customer_lookup(request: HttpRequest, query: Query[LookupQuery]) -> object:
    """The customer carrying an external system's id."""
    actor = current_user(request)
    ext = ExternalId.objects.filter(tenant_id=actor.tenant_id, system=query.system,
                                    external_id=query.external_id).first()
    if ext is None:
        raise NotFound()
    return _with_relations(_customer(request, ext.customer_id))


@customers_router.post("/bulk", response=responses({200: BulkOut}, 403))
@idempotent()
def customer_bulk(request: HttpRequest, payload: BulkIn) -> dict:
    """Tag, untag, change status or transfer many customers at once; acts only on those
    you may change and lists the rest as skipped."""
    actor = current_user(request)
    ids = payload.customer_ids
    if payload.action == "tag":
        done = services.customer_bulk_tag(actor=actor, customer_ids=ids, add=payload.tags)
    elif payload.action == "untag":
        done = services.customer_bulk_tag(actor=actor, customer_ids=ids, remove=payload.tags)
    elif payload.action == "status":
        done = services.customer_bulk_status(actor=actor, customer_ids=ids,
                                             status=payload.status, reason=payload.reason)
    elif payload.action == "transfer":
        done = services.customer_transfer(actor=actor, customer_ids=ids, reason=payload.reason,
                                          owner_id=payload.owner_id,
                                          org_unit_id=payload.org_unit_id)
    else:
        raise ValidationFailed(fields={"action": ["tag, untag, status, transfer"]})
    changed = [c.pk for c in done]
    return {"changed": changed, "skipped": [i for i in dict.fromkeys(ids) if i not in changed]}


@customers_router.get("/{customer_id}", response=responses({200: CustomerOut}, 404))
def customer_get(request: HttpRequest, customer_id: DbId, response: HttpResponse) -> object:
    customer = _customer(request, customer_id)
    set_etag(response, customer)
    return _with_relations(customer)


@customers_router.patch("/{customer_id}",
                        response=responses({200: CustomerOut}, 403, 404, 409, 412, 428))
@needs_if_match
def customer_update(request: HttpRequest, customer_id: DbId, payload: CustomerPatch,
                    response: HttpResponse) -> object:
    customer = services.customer_update(
        actor=current_user(request), customer_id=customer_id,
        expected_version=if_match(request), **payload.changes())
    set_etag(response, customer)
    return _with_relations(customer)


@customers_router.post("/{customer_id}/status",
                       response=responses({200: CustomerOut}, 403, 404, 412))
@idempotent()
def customer_set_status(request: HttpRequest, customer_id: DbId, payload: StatusIn,
                        response: HttpResponse) -> object:
    """Move the customer along its lifecycle; every transition is dated and kept."""
    customer = services.customer_set_status(actor=current_user(request),
                                            customer_id=customer_id, **payload.model_dump())
    set_etag(response, customer)
    return _with_relations(customer)


@customers_router.post("/{customer_id}/transfer",
                       response=responses({200: CustomerOut}, 403, 404))
@idempotent()
def customer_transfer(request: HttpRequest, customer_id: DbId, payload: TransferIn,
                      response: HttpResponse) -> object:
    """Give the customer to another account manager and/or unit, with a reason."""
    actor = current_user(request)
    _customer(request, customer_id)
    done = services.customer_transfer(actor=actor, customer_ids=[customer_id],
                                      **payload.model_dump())
    if not done:
        raise NotFound()
    set_etag(response, done[0])
    return _with_relations(done[0])


@customers_router.post("/{customer_id}/reveal", response=responses({200: RevealOut}, 403, 404))
@idempotent(secret_fields=("value",))
def customer_reveal(request: HttpRequest, customer_id: DbId, payload: RevealIn) -> dict:
    """The clear value of a masked field, with a reason; the reveal is audited."""
    value = services.customer_reveal(actor=current_user(request), customer_id=customer_id,
                                     field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}


@customers_router.get("/{customer_id}/view", response=responses({200: CustomerViewOut}, 404))
def customer_view(request: HttpRequest, customer_id: DbId) -> dict:
    """Everything about the customer: profile, hierarchy, relationships, contacts,
    ownership and status history, data quality, and the panels of other apps."""
    actor = current_user(request)
    view = selectors.customer_view(actor=actor, customer_id=customer_id)
    customer = view["customer"]
    if customer.merged_into_id:
        raise NotFound()
    hierarchy = view["hierarchy"]
    return {
        "profile": customer,
        "hierarchy": {
            "parent": _ref(customer.parent) if customer.parent else None,
            "ancestors": [_ref(c) for c in hierarchy["ancestors"]],
            "children": [_ref(c) for c in hierarchy["children"]],
            "group_root_id": hierarchy["group_root_id"],
            "group_members": hierarchy["group_members"],
            "descendants": hierarchy["descendants"],
        },
        "relationships": [
            {"id": r["relationship"].pk, "kind": r["relationship"].kind,
             "outgoing": r["outgoing"], "note": r["relationship"].note,
             "other": _ref(r["other"]) if r["visible"] else None}
            for r in view["relationships"]],
        "contacts": [
            {"id": link.contact_id, "name": link.contact.name, "title": link.title,
             "department": link.department, "decision_role": link.decision_role,
             "is_primary": link.is_primary,
             "phones": [p["number"] for p in pii.mask_phone_list(link.contact.phones)]}
            for link in view["contacts"]],
        "ownership_history": [
            {"at": t.created_at, "actor": t.actor.full_name, "reason": t.reason,
             "from_owner": t.from_owner.full_name if t.from_owner else None,
             "to_owner": t.to_owner.full_name if t.to_owner else None,
             "from_unit": t.from_unit.name, "to_unit": t.to_unit.name}
            for t in view["transfers"]],
        "status_history": [
            {"at": s.changed_at, "from": s.from_status, "to": s.to_status, "reason": s.reason,
             "actor": s.actor.full_name if s.actor else None}
            for s in view["status_history"]],
        "external_ids": view["external_ids"],
        "quality": view["quality"],
        "panels": {panel.key: data for panel, data in view["panels"]},
    }


def _ref(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "name": customer.name}


@customers_router.post("/{customer_id}/relationships",
                       response=responses({201: RelationshipOut}, 403, 404, 409))
@idempotent()
def relationship_add(request: HttpRequest, customer_id: DbId, payload: RelationshipIn
                     ) -> Status:
    rel = services.relationship_add(actor=current_user(request), source_id=customer_id,
                                    **payload.model_dump())
    return Status(201, rel)


@customers_router.delete("/{customer_id}/relationships/{relationship_id}",
                         response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def relationship_remove(request: HttpRequest, customer_id: DbId, relationship_id: DbId
                        ) -> Status:
    """If-Match carries the customer's ETag (relationships are part of the customer)."""
    _customer(request, customer_id)
    services.relationship_remove(actor=current_user(request), relationship_id=relationship_id,
                                 customer_id=customer_id, expected_version=if_match(request))
    return Status(204, None)


@customers_router.post("/{customer_id}/external-ids",
                       response=responses({201: ExternalIdOut}, 403, 404, 409))
@idempotent()
def external_id_add(request: HttpRequest, customer_id: DbId, payload: ExternalIdIn) -> Status:
    ext = services.external_id_add(actor=current_user(request), customer_id=customer_id,
                                   **payload.model_dump())
    return Status(201, ext)


@customers_router.delete("/{customer_id}/external-ids/{external_id_pk}",
                         response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def external_id_remove(request: HttpRequest, customer_id: DbId, external_id_pk: DbId
                       ) -> Status:
    """If-Match carries the customer's ETag."""
    _customer(request, customer_id)
    services.external_id_remove(actor=current_user(request), external_id_pk=external_id_pk,
                                customer_id=customer_id, expected_version=if_match(request))
    return Status(204, None)


# ---------------------------------------------------------------------------- contacts


def _contact_out(request: HttpRequest, contact_id: int) -> Contact:
    contact = selectors.contact_list(actor=current_user(request)).select_related(
        "owner", "org_unit").prefetch_related("tags").filter(pk=contact_id).first()
    if contact is None:
        raise NotFound()
    return contact


@contacts_router.get("", response=responses({200: Page[ContactOut]}))
def contact_list(request: HttpRequest, filters: Query[ContactFiltersIn]) -> dict:
    qs = selectors.contact_list(actor=current_user(request), q=filters.q,
                                customer_id=filters.customer_id) \
        .select_related("owner", "org_unit").prefetch_related("tags")
    return paginate(qs, filters, count_cap=LIST_COUNT_CAP)


@contacts_router.post("", response=responses({201: ContactOut}, 403, 409))
@idempotent()
def contact_create(request: HttpRequest, payload: ContactIn, response: HttpResponse) -> Status:
    data = payload.model_dump()
    contact = services.contact_create(actor=current_user(request), **data)
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
    contact = services.contact_update(actor=current_user(request), contact_id=contact_id,
                                      expected_version=if_match(request), **payload.changes())
    set_etag(response, contact)
    return _contact_out(request, contact.pk)


@contacts_router.post("/{contact_id}/links", response=responses({200: ContactOut}, 403, 404))
@idempotent()
def contact_link(request: HttpRequest, contact_id: DbId, payload: ContactLinkIn) -> object:
    """Make the person a contact of a customer (or change their title, role…)."""
    services.contact_link(actor=current_user(request), contact_id=contact_id,
                          **payload.model_dump())
    return _contact_out(request, contact_id)


@contacts_router.delete("/{contact_id}/links/{customer_id}",
                        response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def contact_unlink(request: HttpRequest, contact_id: DbId, customer_id: DbId) -> Status:
    """If-Match carries the contact's ETag."""
    _contact_out(request, contact_id)
    services.contact_unlink(actor=current_user(request), contact_id=contact_id,
                            customer_id=customer_id, expected_version=if_match(request))
    return Status(204, None)


@contacts_router.post("/{contact_id}/reveal", response=responses({200: RevealOut}, 403, 404))
@idempotent(secret_fields=("value",))
def contact_reveal(request: HttpRequest, contact_id: DbId, payload: ContactRevealIn) -> dict:
    value = services.contact_reveal(actor=current_user(request), contact_id=contact_id,
                                    reason=payload.reason)
    return {"field": "phones", "value": value}


# ---------------------------------------------------------------------------- search


@search_router.get("", response=responses({200: SearchOut}))
def search_all(request: HttpRequest, query: Query[SearchQuery]) -> dict:
    """Customers and contacts by a piece of the Chinese name, pinyin or initials, a phone
    (any format, or its last 4+ digits), customer code or credit code; best first, only
    what you may see, masked."""
    return search.search(current_user(request), query.q, query.limit)
