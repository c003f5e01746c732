"""REST endpoints of customers. Thin: parse, call, shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import pii, references
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
from kehu.customers.models import Customer, ExternalId
from kehu.customers.schemas.customers import (
    BulkIn,
    BulkOut,
    CustomerFiltersIn,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerViewOut,
    LookupQuery,
    RevealIn,
    RevealOut,
    StatusIn,
    TransferIn,
)
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import customers as customer_services
from kehu.customers.services import transfers as transfer_services

customers_router = Router(tags=["customers"])

LIST_COUNT_CAP = 10_000


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    return customer_selectors.customer_get(actor=current_user(request),
                                           customer_id=customer_id)


def _with_relations(customer: Customer) -> Customer:
    return (Customer.objects.select_related("owner", "org_unit").prefetch_related("tags")
            .get(pk=customer.pk))


def _plain_input(payload: Any, **extra: Any) -> dict[str, Any]:
    return payload.model_dump(**extra)



@customers_router.get("", response=responses({200: Page[CustomerOut]}))
def customer_list(request: HttpRequest, filters: Query[CustomerFiltersIn]) -> dict:
    """Customers you may see. Counts stop at 10,000 (`count_capped`)."""
    qs = customer_selectors.customer_list(
        actor=current_user(request),
        filters=customer_selectors.CustomerFilters.from_mapping(filters.model_dump()),
    ).prefetch_related("tags")
    return paginate(qs, filters, count_cap=LIST_COUNT_CAP)


@customers_router.post("", response=responses({201: CustomerOut}, 403, 409))
@idempotent(secret_fields=("id_number",))
def customer_create(request: HttpRequest, payload: CustomerIn, response: HttpResponse) -> Status:
    data = _plain_input(payload)
    data["status"] = data.get("status") or "potential"
    customer = customer_services.customer_create(actor=current_user(request), **data)
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
        done = customer_services.customer_bulk_tag(actor=actor, customer_ids=ids, add=payload.tags)
    elif payload.action == "untag":
        done = customer_services.customer_bulk_tag(actor=actor, customer_ids=ids,
                                                   remove=payload.tags)
    elif payload.action == "status":
        done = customer_services.customer_bulk_status(actor=actor, customer_ids=ids,
                                                      status=payload.status, reason=payload.reason)
    elif payload.action == "transfer":
        done = transfer_services.customer_transfer(actor=actor, customer_ids=ids,
                                                   reason=payload.reason, owner_id=payload.owner_id,
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
    customer = customer_services.customer_update(
        actor=current_user(request), customer_id=customer_id,
        expected_version=if_match(request), **payload.changes())
    set_etag(response, customer)
    return _with_relations(customer)


@customers_router.post("/{customer_id}/status",
                       response=responses({200: CustomerOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def customer_set_status(request: HttpRequest, customer_id: DbId, payload: StatusIn,
                        response: HttpResponse) -> object:
    """Move the customer along its lifecycle; every transition is dated and kept."""
    customer = customer_services.customer_set_status(
        actor=current_user(request), customer_id=customer_id,
        expected_version=if_match(request), **payload.model_dump())
    set_etag(response, customer)
    return _with_relations(customer)


@customers_router.post("/{customer_id}/transfer",
                       response=responses({200: CustomerOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def customer_transfer(request: HttpRequest, customer_id: DbId, payload: TransferIn,
                      response: HttpResponse) -> object:
    """Give the customer to another account manager and/or unit, with a reason."""
    actor = current_user(request)
    _customer(request, customer_id)
    done = transfer_services.customer_transfer(actor=actor, customer_ids=[customer_id],
                                               expected_version=if_match(request),
                                               **payload.model_dump())
    if not done:
        raise NotFound()
    set_etag(response, done[0])
    return _with_relations(done[0])


@customers_router.post("/{customer_id}/reveal", response=responses({200: RevealOut}, 403, 404))
@idempotent(secret_fields=("value",))
def customer_reveal(request: HttpRequest, customer_id: DbId, payload: RevealIn) -> dict:
    """The clear value of a masked field, with a reason; the reveal is audited."""
    value = customer_services.customer_reveal(actor=current_user(request), customer_id=customer_id,
                                              field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}


@customers_router.get("/{customer_id}/view", response=responses({200: CustomerViewOut}, 404))
def customer_view(request: HttpRequest, customer_id: DbId) -> dict:
    """Everything about the customer: profile, hierarchy, relationships, contacts,
    ownership and status history, data quality, and the panels of other apps."""
    actor = current_user(request)
    view = customer_selectors.customer_view(actor=actor, customer_id=customer_id)
    customer = view["customer"]
    if customer.merged_into_id:
        raise NotFound()
    hierarchy = view["hierarchy"]
    # What the selector read through ``visible_to`` is known: showing it costs no query.
    # (A contact is visible to whoever may see one of its customers.)
    references.mark(actor, [*hierarchy["ancestors"], *hierarchy["children"],
                            *(link.contact for link in view["contacts"])], True)
    for r in view["relationships"]:
        references.mark(actor, [r["other"]], r["visible"])
    ancestor_ids = {a.pk for a in hierarchy["ancestors"]}
    references.mark(actor, [customer.parent], customer.parent_id in ancestor_ids)
    return {
        "profile": customer,
        "hierarchy": {
            "parent": references.ref(actor, customer.parent),
            "ancestors": references.refs(actor, hierarchy["ancestors"]),
            "children": references.refs(actor, hierarchy["children"]),
            "group_root_id": hierarchy["group_root_id"],
            "group_members": hierarchy["group_members"],
            "descendants": hierarchy["descendants"],
        },
        "relationships": [
            {"id": r["relationship"].pk, "kind": r["relationship"].kind,
             "outgoing": r["outgoing"], "note": r["relationship"].note,
             "other": references.ref(actor, r["other"])}
            for r in view["relationships"]],
        "contacts": [
            {**(references.ref(actor, link.contact) or {}), "title": link.title,
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

