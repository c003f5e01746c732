"""REST endpoints of a customer's relationships and external ids. Thin: parse, call, shape."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from kehu.core.http import DbId, current_user, idempotent, if_match, needs_if_match, responses
from kehu.customers.schemas.relationships import (
    ExternalIdIn,
    ExternalIdOut,
    RelationshipIn,
    RelationshipOut,
)
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import relationships as relationship_services

# Mounted at /api/v1/customers, after the customers router.
relationships_router = Router(tags=["customers"])


@relationships_router.post("/{customer_id}/relationships",
                           response=responses({201: RelationshipOut}, 403, 404, 409))
@idempotent()
def relationship_add(request: HttpRequest, customer_id: DbId, payload: RelationshipIn
                     ) -> Status:
    rel = relationship_services.relationship_add(actor=current_user(request), source_id=customer_id,
                                                 **payload.model_dump())
    return Status(201, rel)


@relationships_router.delete("/{customer_id}/relationships/{relationship_id}",
                             response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def relationship_remove(request: HttpRequest, customer_id: DbId, relationship_id: DbId
                        ) -> Status:
    """If-Match carries the customer's ETag (relationships are part of the customer)."""
    customer_selectors.customer_get(actor=current_user(request), customer_id=customer_id)
    relationship_services.relationship_remove(actor=current_user(request),
                                              relationship_id=relationship_id,
                                              customer_id=customer_id,
                                              expected_version=if_match(request))
    return Status(204, None)


@relationships_router.post("/{customer_id}/external-ids",
                           response=responses({201: ExternalIdOut}, 403, 404, 409))
@idempotent()
def external_id_add(request: HttpRequest, customer_id: DbId, payload: ExternalIdIn) -> Status:
    ext = relationship_services.external_id_add(actor=current_user(request),
                                                customer_id=customer_id, **payload.model_dump())
    return Status(201, ext)


@relationships_router.delete("/{customer_id}/external-ids/{external_id_pk}",
                             response=responses({204: None}, 403, 404, 412, 428))
@needs_if_match
def external_id_remove(request: HttpRequest, customer_id: DbId, external_id_pk: DbId
                       ) -> Status:
    """If-Match carries the customer's ETag."""
    customer_selectors.customer_get(actor=current_user(request), customer_id=customer_id)
    relationship_services.external_id_remove(actor=current_user(request),
                                             external_id_pk=external_id_pk, customer_id=customer_id,
                                             expected_version=if_match(request))
    return Status(204, None)
