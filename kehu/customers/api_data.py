"""REST endpoints of exports, duplicate detection and merge, and data quality.

Thin, like every router: parse input, call kehu.customers.exports / dedup / selectors,
shape output. The schemas used only here live here.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Field, Query, Router, Schema
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback
from pydantic import ValidationError as PydanticValidationError

from kehu.core import access, pii
from kehu.core.exceptions import ValidationFailed
from kehu.core.http import (
    DbId,
    InputSchema,
    Page,
    PageQuery,
    current_user,
    idempotent,
    responses,
    set_etag,
    validation_fields,
)
from kehu.customers import dedup, exports, reference, selectors
from kehu.customers.models import Customer
from kehu.customers.schemas import CustomerOut

# Mounted at /api/v1/exports.
exports_router = Router(tags=["exports"])
# Mounted at /api/v1/customers before the customers router: /customers/merge,
# /customers/duplicates and /customers/quality come before /customers/{id}.
data_router = Router(tags=["customers"])


# ---------------------------------------------------------------------------- exports


class CustomerExportFilters(InputSchema):
    """The customer list's filters (see GET /customers), without paging."""

    q: str = Field("", max_length=100)
    kind: str = ""
    tier: str = ""
    vip_grade: str = ""
    status: list[str] = []
    size: str = ""
    region: str = ""
    industry: str = ""
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None
    tag: str = ""
    parent_id: DbId | None = None
    quality_below: int | None = Field(None, ge=0, le=101)
    ordering: str = "-created"


class ContactExportFilters(InputSchema):
    q: str = Field("", max_length=100)
    customer_id: DbId | None = None


class ExportIn(InputSchema):
    entity: Literal["customers", "contacts"]
    format: Literal["csv", "xlsx"] = "csv"
    filters: dict[str, Any] = Field({}, description="The list's filters: for customers "
                                    "those of GET /customers (q, kind, status, region, "
                                    "org_unit_id, quality_below…), for contacts q and "
                                    "customer_id.")
    reveal_reason: str = Field("", max_length=300, description=(
        "Only for users who may reveal personal data: why the file needs unmasked ID "
        "numbers, phones and addresses. Recorded in the audit log. Leave empty for the "
        "masked file."))


def _filters(schema: type[InputSchema], data: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        # Located as Ninja locates query parameters, so fields read "filters.<name>".
        errors = [dict(e, loc=("query", "filters", *e["loc"])) for e in exc.errors()]
        raise ValidationFailed(fields=validation_fields(errors)) from None


EXPORT_RESPONSES = {
    "200": {"description": "The file, as an attachment.", "content": {
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        exports.CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    }},
}


# Every POST documents Idempotency-Key (API conventions). An export only reads, so
# nothing is stored to replay: a retry builds the file anew and is audited again.
EXPORT_IDEMPOTENCY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Accepted like on every POST; an export changes nothing, so a retry "
                   "returns a freshly built file (and is recorded in the audit log again).",
}


def _document_export_key(operation: Any) -> None:
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), EXPORT_IDEMPOTENCY]
    operation.openapi_extra = extra


def _accepts_idempotency_key(view_func: TCallable) -> TCallable:
    contribute_operation_callback(view_func, _document_export_key)
    return view_func


@exports_router.post("", response=responses({200: None}, 403), openapi_extra={
    "responses": EXPORT_RESPONSES})
@_accepts_idempotency_key
def export_create(request: HttpRequest, payload: ExportIn) -> StreamingHttpResponse:
    """Download a customer or contact list as CSV (UTF-8 with BOM) or XLSX: the rows of
    the given filters that you may export, sensitive values masked. Needs the export
    permission; every export is audited."""
    actor = current_user(request)
    if payload.entity == "customers":
        found = _filters(CustomerExportFilters, payload.filters)
        export = exports.customer_export(
            actor=actor, filters=selectors.CustomerFilters(**found.model_dump()),
            file_format=payload.format, reveal_reason=payload.reveal_reason)
    else:
        found = _filters(ContactExportFilters, payload.filters)
        export = exports.contact_export(actor=actor, q=found.q, customer_id=found.customer_id,
                                        file_format=payload.format,
                                        reveal_reason=payload.reveal_reason)
    return exports.response(export)


# ---------------------------------------------------------------------------- merge


class MergeIn(InputSchema):
    survivor_id: DbId = Field(..., description="The customer that stays.")
    loser_id: DbId = Field(..., description="The customer merged into it (kept as a "
                           "tombstone that redirects).")
    survivor_version: int | None = Field(None, description="The versions you saw (ETags): "
                                         "412 if either changed since.")
    loser_version: int | None = None


@data_router.post("/merge", response=responses({200: CustomerOut}, 403, 404, 412))
@idempotent()
def customer_merge(request: HttpRequest, payload: MergeIn, response: HttpResponse) -> object:
    """Merge two customers: every related record moves to the survivor, the loser's
    identifiers stay as aliases, the loser redirects to the survivor. Needs
    customers.admin and change on both customers."""
    versions = {payload.survivor_id: payload.survivor_version,
                payload.loser_id: payload.loser_version}
    survivor = dedup.customer_merge(
        actor=current_user(request), survivor_id=payload.survivor_id,
        loser_id=payload.loser_id,
        expected_versions={k: v for k, v in versions.items() if v is not None})
    set_etag(response, survivor)
    return (Customer.objects.select_related("owner", "org_unit").prefetch_related("tags")
            .get(pk=survivor.pk))


# ---------------------------------------------------------------------------- duplicates


class DuplicateCustomerOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    uscc: str
    id_number: str = Field(..., alias="id_number_masked", description="Masked.")
    phones: list[str] = Field(..., description="Masked.")
    region_name: str
    owner: str
    org_unit: str
    version: int

    @staticmethod
    def resolve_phones(obj: Any) -> list[str]:
        return [p["number"] for p in pii.mask_phone_list(obj.phones)]

    @staticmethod
    def resolve_region_name(obj: Any) -> str:
        found = reference.region(obj.region) if obj.region else None
        return found.full_name if found else ""

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return obj.owner.full_name if obj.owner else ""

    @staticmethod
    def resolve_org_unit(obj: Any) -> str:
        return str(obj.org_unit.name)


class DuplicatePairOut(Schema):
    a: DuplicateCustomerOut
    b: DuplicateCustomerOut
    score: int = Field(..., description="0–100: how sure the finder is.")
    reasons: list[str] = Field(..., description="uscc, id_number, phone, name")
    reason_labels: list[str]


@data_router.get("/duplicates", response=responses({200: Page[DuplicatePairOut]}, 403))
def duplicate_list(request: HttpRequest, query: Query[PageQuery]) -> dict:
    """Pairs of customers that may be the same (same credit code, ID number or phone, or
    similar names), most certain first. Needs customers.admin."""
    total, pairs = dedup.duplicate_page(actor=current_user(request), limit=query.limit,
                                        offset=query.offset)
    return {"count": total, "count_capped": False, "items": pairs, "limit": query.limit,
            "offset": query.offset}


# ---------------------------------------------------------------------------- quality


class UnitQualityOut(Schema):
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit__name")
    customers: int
    average: float


class FieldQualityOut(Schema):
    key: str
    label: str
    missing: int
    share: int = Field(..., description="Percent of customers missing it.")
    weight: int


class QualityReportOut(Schema):
    customers: int
    average: int
    by_unit: list[UnitQualityOut]
    fields: list[FieldQualityOut]


@data_router.get("/quality", response=responses({200: QualityReportOut}, 403))
def quality_report(request: HttpRequest) -> dict:
    """Data quality over the customers you see: average score by owning unit (worst
    first) and the fields most often missing. Needs customers.export, like the page
    (a report over many customers)."""
    actor = current_user(request)
    access.require(actor, "customers.export")
    return selectors.quality_report(actor=actor)
