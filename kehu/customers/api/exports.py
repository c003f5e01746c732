"""REST endpoint of exports. Thin, like every router: parse input, call
``services.exports``, return the file.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback
from pydantic import ValidationError as PydanticValidationError

from kehu.core.exceptions import ValidationFailed
from kehu.core.http import InputSchema, current_user, responses, validation_fields
from kehu.customers.schemas.exports import ContactExportFilters, CustomerExportFilters, ExportIn
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import exports

# Mounted at /api/v1/exports.
exports_router = Router(tags=["exports"])


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
            actor=actor, filters=customer_selectors.CustomerFilters(**found.model_dump()),
            file_format=payload.format, reveal_reason=payload.reveal_reason)
    else:
        found = _filters(ContactExportFilters, payload.filters)
        export = exports.contact_export(actor=actor, q=found.q, customer_id=found.customer_id,
                                        file_format=payload.format,
                                        reveal_reason=payload.reveal_reason)
    return exports.response(export)
