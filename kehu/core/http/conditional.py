"""ETag out, ``If-Match`` in (428 absent, 412 stale), and its OpenAPI header."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback

from kehu.core.exceptions import PreconditionRequired, StaleVersion

_ETAG_RE = re.compile(r'^\s*(?:W/)?"([^"]*)"\s*$')


def etag(obj_or_version: Any) -> str:
    version = getattr(obj_or_version, "version", obj_or_version)
    return f'"{version}"'


def set_etag(response: HttpResponse, obj_or_version: Any) -> None:
    response["ETag"] = etag(obj_or_version)


def if_match(request: HttpRequest) -> int | None:
    """The version the client last saw, from ``If-Match``.

    Absent → 428; ``*`` → None (any version); an entity tag that is no version of any
    record, or several of them → 412.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired()
    if header.strip() == "*":
        return None
    tags = [t for t in header.split(",") if t.strip()]
    if len(tags) != 1:
        raise StaleVersion()
    match = _ETAG_RE.match(tags[0]) or re.match(r"^\s*(\d+)\s*$", tags[0])
    if not match or not match.group(1).isdigit() or len(match.group(1)) > 18:
        raise StaleVersion()
    return int(match.group(1))



IF_MATCH_PARAMETER = {
    "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
    "description": 'The ETag of the record as you last read it, e.g. "3" (428 when absent, '
                   "412 when the record has changed since).",
}



def document_header(parameter: dict[str, Any]) -> Callable[[Any], None]:
    def contribute(operation: Any) -> None:
        extra = dict(operation.openapi_extra or {})
        extra["parameters"] = [*extra.get("parameters", []), parameter]
        operation.openapi_extra = extra

    return contribute


def needs_if_match(view_func: TCallable) -> TCallable:
    """Documents the ``If-Match`` header of a PATCH/DELETE (the view calls ``if_match``)."""
    contribute_operation_callback(view_func, document_header(IF_MATCH_PARAMETER))
    return view_func

