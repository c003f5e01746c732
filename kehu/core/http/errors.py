"""The error format (``{"error": {"code", "message", "fields"}}``) on every path
under ``KehuAPI``, including unknown paths (404) and wrong methods (405)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kehu.core import busy
from kehu.core.exceptions import (
    AuthenticationFailed,
    DatabaseBusy,
    DatabaseUnavailable,
    KehuError,
    ValidationFailed,
)

logger = logging.getLogger("kehu.api")



class NotAuthenticated(KehuError):
    status = 401
    code = "not_authenticated"
    default_message = gettext_lazy(
        "Sign in, or send an API token as “Authorization: Bearer …”."
    )


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"
    default_message = gettext_lazy("The API token is invalid, expired or revoked.")


class CsrfFailed(KehuError):
    status = 403
    code = "csrf_failed"
    default_message = gettext_lazy(
        "The CSRF check failed. Send the CSRF token with requests made from a signed-in session."
    )


class IdempotencyKeyReused(KehuError):
    status = 422
    code = "idempotency_key_reused"
    default_message = gettext_lazy(
        "This Idempotency-Key was already used for a different request. Use a new key."
    )


_HTTP_CODES: dict[int, tuple[str, Any]] = {
    400: ("bad_request", gettext_lazy("The request could not be read.")),
    401: ("not_authenticated", NotAuthenticated.default_message),
    403: ("permission_denied", gettext_lazy("You do not have permission to do this.")),
    404: ("not_found", gettext_lazy("Not found.")),
    405: ("method_not_allowed", gettext_lazy("This method is not allowed here.")),
    429: ("throttled", gettext_lazy("Too many requests. Wait a moment and try again.")),
    500: ("server_error", gettext_lazy("Something went wrong on our side. Try again later.")),
}

# Pydantic error types → translatable messages (pydantic's own texts are English only).
_VALIDATION_MESSAGES: dict[str, Any] = {
    "missing": gettext_lazy("This field is required."),
    "extra_forbidden": gettext_lazy("Unknown field."),
    "string_type": gettext_lazy("Enter text."),
    "string_too_long": gettext_lazy("At most %(max_length)s characters."),
    "string_too_short": gettext_lazy("At least %(min_length)s characters."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "greater_than_equal": gettext_lazy("Enter a value of at least %(ge)s."),
    "less_than_equal": gettext_lazy("Enter a value of at most %(le)s."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "list_type": gettext_lazy("Enter a list."),
    "too_long": gettext_lazy("Too many items."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "enum": gettext_lazy("Choose one of: %(expected)s."),
    "datetime_type": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_from_date_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "model_attributes_type": gettext_lazy("Send a JSON object."),
    "model_type": gettext_lazy("Send a JSON object."),
    "dict_type": gettext_lazy("Send a JSON object."),
    "json_invalid": gettext_lazy("The body is not valid JSON."),
    "nul_character": gettext_lazy("NUL characters are not allowed."),
    "timezone_aware": gettext_lazy("Give the time zone offset, e.g. +08:00."),
    "value_error": gettext_lazy("Enter a valid value."),
    "moment_range": gettext_lazy("Enter a date between 1900-01-01 and 2200-12-31."),
    "search_conflict": gettext_lazy(
        "q and search are one parameter: give one of them, or the same text in both."),
}


def error_body(code: str, message: Any, fields: dict[str, list[str]] | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": str(message),
            "fields": {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()},
        }
    }


def error_response(status: int, code: str, message: Any,
                   fields: dict[str, list[str]] | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, fields), status=status,
                            json_dumps_params={"ensure_ascii": False})
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="kehu"'
    if code == DatabaseBusy.code:
        response["Retry-After"] = str(DatabaseBusy.retry_after)
    elif code == DatabaseUnavailable.code:
        response["Retry-After"] = str(DatabaseUnavailable.retry_after)
    return response


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    """Every error response: ``{"error": {"code", "message", "fields"}}``."""

    error: ErrorDetail


def responses(ok: dict[int, Any], *error_statuses: int) -> dict[int, Any]:
    """A ``response=`` mapping: the success schema plus the documented error statuses
    (401 and 422 always apply)."""
    return {**ok, **dict.fromkeys(sorted({401, 422, *error_statuses}), ErrorOut)}


def kehu_error_response(exc: KehuError) -> JsonResponse:
    message = exc.message
    fields = exc.fields or {}
    # A generic message with a single field-level reason: the reason is the clearer message.
    if message is exc.default_message and len(fields) == 1:
        only = next(iter(fields.values()))
        if only:
            message = only[0]
    return error_response(exc.status, exc.code, message, fields)


def _field_name(loc: Sequence[Any]) -> str:
    """``("body", "payload", "name")`` → ``name``; ``("query", "limit")`` → ``limit``."""
    parts = list(loc)
    source = parts.pop(0) if parts else ""
    if source == "body" and len(parts) > 1:
        parts.pop(0)  # the view's parameter name, not part of the client's document
    return ".".join(str(p) for p in parts) or "__all__"


def validation_fields(errors: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        template = _VALIDATION_MESSAGES.get(err.get("type", ""))
        ctx = {k: (", ".join(map(str, v)) if isinstance(v, list | tuple) else v)
               for k, v in (err.get("ctx") or {}).items()}
        if template is None:
            message = _("Enter a valid value.")
        else:
            try:
                message = str(template) % ctx if "%(" in str(template) else str(template)
            except (KeyError, TypeError, ValueError):
                message = _("Enter a valid value.")
        fields.setdefault(_field_name(err.get("loc", ())), []).append(message)
    return fields


def install_error_handlers(api: NinjaAPI) -> None:
    def on_kehu_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return kehu_error_response(exc)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return kehu_error_response(ValidationFailed(fields=validation_fields(exc.errors)))

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        return kehu_error_response(NotAuthenticated())

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("error", str(exc)))
        return error_response(exc.status_code, code, message)

    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        code, message = _HTTP_CODES[404]
        return error_response(404, code, message)

    def on_database_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if busy.is_busy(exc):  # SQLite: a running import holds the write lock
            return kehu_error_response(DatabaseBusy())
        if busy.is_unavailable(exc):  # PostgreSQL restarting: retry, nothing was saved
            logger.warning("Database unavailable in %s %s: %s", request.method, request.path,
                           exc)
            return kehu_error_response(DatabaseUnavailable())
        return on_uncaught(request, exc)

    def on_uncaught(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        # As Django does for its own 500s: error reporters (and the test client) hear of it.
        got_request_exception.send(sender=None, request=request)
        code, message = _HTTP_CODES[500]
        return error_response(500, code, message)

    api.add_exception_handler(KehuError, on_kehu_error)
    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(DatabaseError, on_database_error)
    api.add_exception_handler(Exception, on_uncaught)


def json_errors_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn Ninja's plain-text 404/405 into the error format."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language()
        try:
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Content-Language", translation.get_language())
        except Http404:
            return unknown_path(request)
        finally:
            # A token user's language applies to this request only, not to the thread.
            if language:
                translation.activate(language)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            code, message = _HTTP_CODES[405]
            replacement = error_response(405, code, message)
            if response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    code, message = _HTTP_CODES[404]
    return error_response(404, code, message)


unknown_path.csrf_exempt = True  # type: ignore[attr-defined]

