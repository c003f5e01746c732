"""REST endpoints of personal-data requests (PIPL Art. 44–47) on an individual customer or
a contact: the export archive and the erasure; the tenant's retention rules. Thin: parse,
call, shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback

from kehu.core.http import (
    DbId,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    responses,
    set_etag,
)
from kehu.customers.models import RetentionRule
from kehu.customers.personal_data import SubjectType
from kehu.customers.schemas.privacy import (
    PersonalDataErasedOut,
    PersonalDataRequestIn,
    RetentionRuleIn,
    RetentionRuleOut,
    RetentionRulesOut,
)
from kehu.customers.selectors import privacy as selectors
from kehu.customers.services import privacy

# Mounted at /api/v1 (paths under /customers and /contacts).
privacy_router = Router(tags=["personal data"])

ARCHIVE_RESPONSES = {
    "200": {"description": "The archive: personal-data.json, personal-data.xlsx and the "
                           "documents' files under files/.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
}
# An export only reads (and is audited each time): a retry builds the archive anew.
EXPORT_IDEMPOTENCY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Accepted like on every POST; an export changes nothing, so a retry "
                   "returns a freshly built archive (and is recorded in the audit log again).",
}


def _document_key(operation: Any) -> None:
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), EXPORT_IDEMPOTENCY]
    operation.openapi_extra = extra


def _accepts_idempotency_key(view_func: TCallable) -> TCallable:
    contribute_operation_callback(view_func, _document_key)
    return view_func


def _export(request: HttpRequest, subject_type: SubjectType, record_id: int,
            payload: PersonalDataRequestIn) -> HttpResponse:
    name, data = privacy.personal_data_export(actor=current_user(request),
                                              subject_type=subject_type, record_id=record_id,
                                              reason=payload.reason)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _erase(request: HttpRequest, response: HttpResponse, subject_type: SubjectType,
           record_id: int, payload: PersonalDataRequestIn) -> dict[str, Any]:
    record = privacy.personal_data_erase(
        actor=current_user(request), subject_type=subject_type, record_id=record_id,
        reason=payload.reason, expected_version=if_match(request))
    set_etag(response, record)
    return {"type": subject_type, "id": record.pk, "name": record.name,
            "version": record.version}


@privacy_router.post("/customers/{customer_id}/personal-data/export",
                     response=responses({200: None}, 403, 404),
                     openapi_extra={"responses": ARCHIVE_RESPONSES})
@_accepts_idempotency_key
def customer_personal_data_export(request: HttpRequest, customer_id: DbId,
                                  payload: PersonalDataRequestIn) -> HttpResponse:
    """Everything Kehu holds about an individual customer, as a zip of JSON and XLSX with
    the documents' files. Needs `privacy.export`; audited with the reason."""
    return _export(request, "customer", customer_id, payload)


@privacy_router.post("/customers/{customer_id}/personal-data/erase",
                     response=responses({200: PersonalDataErasedOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def customer_personal_data_erase(request: HttpRequest, customer_id: DbId,
                                 payload: PersonalDataRequestIn,
                                 response: HttpResponse) -> dict[str, Any]:
    """Anonymise an individual customer everywhere (record, search, interactions' texts,
    documents and files; audit rows masked); the business record stays. Needs
    `privacy.erase` and change access; `If-Match` required; audited with the reason."""
    return _erase(request, response, "customer", customer_id, payload)


@privacy_router.post("/contacts/{contact_id}/personal-data/export",
                     response=responses({200: None}, 403, 404),
                     openapi_extra={"responses": ARCHIVE_RESPONSES})
@_accepts_idempotency_key
def contact_personal_data_export(request: HttpRequest, contact_id: DbId,
                                 payload: PersonalDataRequestIn) -> HttpResponse:
    """Everything Kehu holds about a contact, as for a customer."""
    return _export(request, "contact", contact_id, payload)


@privacy_router.post("/contacts/{contact_id}/personal-data/erase",
                     response=responses({200: PersonalDataErasedOut}, 403, 404, 412, 428))
@idempotent()
@needs_if_match
def contact_personal_data_erase(request: HttpRequest, contact_id: DbId,
                                payload: PersonalDataRequestIn,
                                response: HttpResponse) -> dict[str, Any]:
    """Anonymise a contact everywhere, as for a customer; `If-Match` required."""
    return _erase(request, response, "contact", contact_id, payload)


@privacy_router.get("/retention-rules", response=responses({200: RetentionRulesOut}, 403))
def retention_rule_list(request: HttpRequest) -> dict[str, Any]:
    """The tenant's retention rules, one per kind (off ones with `enabled` false and
    version 0), each with its latest dry-run report. Needs `privacy.erase`."""
    return {"items": selectors.retention_rules(current_user(request))}


@privacy_router.put("/retention-rules/{kind}",
                    response=responses({200: RetentionRuleOut}, 403, 412, 428))
@needs_if_match
def retention_rule_put(request: HttpRequest, kind: RetentionRule.Kind,
                       payload: RetentionRuleIn, response: HttpResponse) -> dict[str, Any]:
    """Set a retention rule's period (`years`, 1–50) or turn it off (`null`). Send
    `If-Match` with the rule's `version` from the list (`"0"` while off): a change made
    meanwhile gives 412. A new period drops the last dry-run report, so the worker reports
    again before deleting anything. Needs `privacy.erase`; audited."""
    actor = current_user(request)
    privacy.retention_rule_set(actor=actor, kind=kind.value, years=payload.years,
                               expected_version=if_match(request))
    row = selectors.retention_rule(actor, kind.value)
    set_etag(response, row["version"])
    return row
