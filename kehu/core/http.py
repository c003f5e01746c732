"""API conventions shared by every app's Ninja router (architecture.md, "API conventions").

- ``KehuAPI``: the Ninja root with Kehu's error format on every path under it, including
  unknown paths (404) and wrong methods (405).
- ``token_auth`` / ``session_auth`` (``DEFAULT_AUTH``): bearer API tokens or the Django
  session (CSRF checked for unsafe methods); both set ``request.user``.
- ``InputSchema`` / ``PatchSchema``: input bodies reject unknown fields (422).
- ``PageQuery`` / ``Page`` / ``paginate``: declared ``limit``/``offset`` and the list shape.
- ``etag`` / ``set_etag`` / ``if_match``: ETag out, ``If-Match`` in (428 absent, 412 stale).
- ``idempotent``: ``Idempotency-Key`` on POST creates, first 2xx response replayed.
- ``responses``: the ``response=`` mapping with the documented error statuses.
- ``needs_if_match``: documents the ``If-Match`` header of PATCH/DELETE operations.

A router looks like this::

    @router.patch("/{thing_id}", response=responses({200: ThingOut}, 404, 409, 412, 428))
    @needs_if_match
    def thing_update(request, thing_id: DbId, payload: ThingPatch, response: HttpResponse):
        thing = services.thing_update(actor=current_user(request), thing_id=thing_id,
                                      expected_version=if_match(request), **payload.changes())
        set_etag(response, thing)
        return thing

Routers stay thin: parse input, call services/selectors, shape output.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import IntegrityError, models, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Schema
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.types import TCallable
from ninja.utils import check_csrf, contribute_operation_callback
from pydantic import ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from kehu.core.exceptions import AuthenticationFailed, KehuError, StaleVersion, ValidationFailed

logger = logging.getLogger("kehu.api")

# The widest primary key a database column holds; larger ids are invalid input, not 500s.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

T = TypeVar("T")

# ---------------------------------------------------------------------------- errors


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
    api.add_exception_handler(Exception, on_uncaught)


def _json_errors_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn Ninja's plain-text 404/405 into the error format."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language()
        try:
            response = view(request, *args, **kwargs)
            response.headers.setdefault("Content-Language", translation.get_language())
        except Http404:
            return _unknown_path(request)
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


def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    code, message = _HTTP_CODES[404]
    return error_response(404, code, message)


_unknown_path.csrf_exempt = True  # type: ignore[attr-defined]


class KehuAPI(NinjaAPI):
    """NinjaAPI whose every answer, even for unknown paths and methods, is JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        install_error_handlers(self)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_errors_view(pattern.callback)
        urls.append(re_path(r"^.*$", _unknown_path, name="api-unknown-path"))
        return urls


# ---------------------------------------------------------------------------- auth

_AUTH_CACHE = "_kehu_api_user"


def _activate_user(request: HttpRequest, user: Any) -> Any:
    request.user = user
    # The user's saved language wins, as UserLanguageMiddleware does for sessions.
    translation.activate(user.language)
    request.LANGUAGE_CODE = user.language
    setattr(request, _AUTH_CACHE, user)
    return user


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer kehu_…``: a personal API token acting as its user.

    A token that is unknown, expired, revoked, or whose user or tenant is inactive is
    refused with 401 at once (no fall-through to the session).
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        cached = getattr(request, _AUTH_CACHE, None)
        if cached is not None:
            return cached
        from kehu.core.auth import user_for_token

        user = user_for_token(token.strip())
        if user is None:
            raise InvalidToken()
        return _activate_user(request, user)


class SessionAuth(APIKeyCookie):
    """The signed-in Django session; unsafe methods must pass the CSRF check."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        cached = getattr(request, _AUTH_CACHE, None)
        if cached is not None:
            return cached
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated or not user.is_active:
            return None
        if (
            self.csrf
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise CsrfFailed()
        setattr(request, _AUTH_CACHE, user)
        return user


token_auth = BearerTokenAuth()
session_auth = SessionAuth()
DEFAULT_AUTH = [token_auth, session_auth]


def current_user(request: HttpRequest) -> Any:
    """The authenticated user of an API request (set by the auth classes)."""
    user = getattr(request, "auth", None)
    if user is None:
        raise NotAuthenticated()
    return user


def try_authenticate(request: HttpRequest) -> Any:
    """The caller if the credentials sent are valid, else None (never raises)."""
    cached = getattr(request, _AUTH_CACHE, None)
    if cached is not None:
        return cached
    for auth in DEFAULT_AUTH:
        try:
            user = auth(request)
        except (KehuError, HttpError):
            return None
        if user:
            return user
    return None


# ---------------------------------------------------------------------------- input


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class CleanText:
    """Refuses NUL characters in any text input (databases cannot store them)."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise PydanticCustomError("nul_character", "NUL characters are not allowed.")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _aware_datetimes(cls, value: Any) -> Any:
        # A date-time without an offset is read in the server's time zone.
        if isinstance(value, datetime) and timezone.is_naive(value):
            return timezone.make_aware(value)
        return value


class InputSchema(CleanText, Schema):
    """Base of every input body: unknown (or read-only) fields are rejected with 422."""

    model_config = ConfigDict(extra="forbid")


class PatchSchema(InputSchema):
    """Partial update: declare fields as ``name: str = Field(None)`` so that omitted fields
    are left alone and an explicit ``null`` on a non-nullable field is refused."""

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, for ``service(**payload.changes())``."""
        return self.model_dump(exclude_unset=True)


def omitted(**kwargs: Any) -> Any:
    """Default of a PATCH field: left out means unchanged; ``null`` is refused unless the
    field's type allows it (the default is never validated)."""
    return Field(None, **kwargs)


# ---------------------------------------------------------------------------- pagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageQuery(CleanText, Schema):
    """Declared paging parameters; list filters subclass this."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_ID - MAX_LIMIT)


class Page(Schema, Generic[T]):
    count: int
    count_capped: bool = Field(
        False, description="True when there are more rows than `count`: large lists stop "
        "counting at a cap rather than count every row.")
    items: list[T]
    limit: int
    offset: int


def paginate(qs: Any, query: PageQuery, ordering: str | Sequence[str] | None = None,
             count_cap: int | None = None) -> dict:
    """One page of ``qs`` (a queryset or a list) in the list shape. With ``count_cap``
    the count stops there (``count_capped``): counting a million rows costs more than the
    page itself."""
    if ordering:
        qs = qs.order_by(*([ordering] if isinstance(ordering, str) else ordering))
    capped = False
    if not isinstance(qs, models.QuerySet):
        count = len(qs)
    elif count_cap is not None:
        count = qs.order_by()[: count_cap + 1].count()
        capped = count > count_cap
        count = min(count, count_cap)
    else:
        count = qs.count()
    items = list(qs[query.offset: query.offset + query.limit])
    return {"count": count, "count_capped": capped, "items": items, "limit": query.limit,
            "offset": query.offset}


# ---------------------------------------------------------------------------- ETag / If-Match

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
    from kehu.core.exceptions import PreconditionRequired

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


# ---------------------------------------------------------------------------- idempotency

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_MAX_KEY_LENGTH = 200


class _StoreRace(Exception):
    pass


def _request_hash(request: HttpRequest) -> str:
    """Keyed hash of the request body (it may hold passwords: never a plain digest)."""
    key = settings.SECRET_KEY.encode()
    if request.content_type == "multipart/form-data":
        return _multipart_hash(request, key)
    body = request.body or b""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    message = (request.method or "").encode() + b" " + canonical
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _multipart_hash(request: HttpRequest, key: bytes) -> str:
    """The same for an upload, read from the parsed form and the (possibly on-disk) files:
    ``request.body`` would load the whole file into memory and is refused past Django's
    in-memory limit."""
    mac = hmac.new(key, (request.method or "").encode() + b" multipart", hashlib.sha256)
    for name in sorted(request.POST):
        for value in request.POST.getlist(name):
            mac.update(f"\0{name}={value}".encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            mac.update(f"\0{name}:{upload.name}:{upload.size}:".encode())
            for chunk in upload.chunks():
                mac.update(chunk)
            upload.seek(0)
    return mac.hexdigest()


def _replay(stored: Any) -> HttpResponse:
    response = JsonResponse(stored.response_body, status=stored.status_code, safe=False,
                            json_dumps_params={"ensure_ascii": False})
    response[REPLAY_HEADER] = "true"
    body = stored.response_body
    if isinstance(body, dict) and isinstance(body.get("version"), int):
        set_etag(response, body["version"])
    return response


IF_MATCH_PARAMETER = {
    "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
    "description": 'The ETag of the record as you last read it, e.g. "3" (428 when absent, '
                   "412 when the record has changed since).",
}
IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
    "schema": {"type": "string", "maxLength": _MAX_KEY_LENGTH},
    "description": "Any unique string: a retry with the same key and body returns the first "
                   "result instead of acting twice.",
}


def _document_header(parameter: dict[str, Any]) -> Callable[[Any], None]:
    def contribute(operation: Any) -> None:
        extra = dict(operation.openapi_extra or {})
        extra["parameters"] = [*extra.get("parameters", []), parameter]
        operation.openapi_extra = extra

    return contribute


def needs_if_match(view_func: TCallable) -> TCallable:
    """Documents the ``If-Match`` header of a PATCH/DELETE (the view calls ``if_match``)."""
    contribute_operation_callback(view_func, _document_header(IF_MATCH_PARAMETER))
    return view_func


def idempotent(*, secret_fields: Sequence[str] = ()) -> Callable[[TCallable], TCallable]:
    """View decorator (under the router's) for POST creates: ``Idempotency-Key``.

    With the header, the first successful (2xx) response is stored, keyed by (user, method,
    path, key), and replayed on a retry with the same body; the same key with another body
    is refused (422 ``idempotency_key_reused``). Error responses are not stored, so a
    corrected request may reuse its key. ``secret_fields`` (passwords, tokens shown once)
    are never stored: a replay carries ``null`` there.
    """

    def decorator(view_func: TCallable) -> TCallable:
        view_func = decorate_view(_idempotent_run(tuple(secret_fields)))(view_func)
        contribute_operation_callback(view_func, _document_header(IDEMPOTENCY_PARAMETER))
        return view_func

    return decorator


def _idempotent_run(secret_fields: tuple[str, ...]) -> Callable[[Callable], Callable]:
    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is None:
                return run(request, *args, **kwargs)
            key = key.strip()
            if not key or len(key) > _MAX_KEY_LENGTH:
                return kehu_error_response(ValidationFailed(fields={IDEMPOTENCY_HEADER: [
                    _("Send 1 to %(n)d characters.") % {"n": _MAX_KEY_LENGTH}]}))
            user = try_authenticate(request)
            request_hash = _request_hash(request)
            lookup = {"user": user if user is not None and user.is_authenticated else None,
                      "method": request.method, "path": request.path, "key": key}
            stored = _stored(lookup)
            if stored is not None:
                if not hmac.compare_digest(stored.request_hash, request_hash):
                    return kehu_error_response(IdempotencyKeyReused())
                return _replay(stored)
            try:
                with transaction.atomic():
                    response = run(request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        _store(lookup, request_hash, response, secret_fields)
            except _StoreRace:
                # A concurrent request with the same key won: this one's writes are undone.
                stored = _stored(lookup)
                if stored is None:  # pragma: no cover - the winner rolled back
                    raise
                if not hmac.compare_digest(stored.request_hash, request_hash):
                    return kehu_error_response(IdempotencyKeyReused())
                return _replay(stored)
            return response

        return wrapper

    return decorator


def _stored(lookup: dict[str, Any]) -> Any:
    from kehu.core.models import IdempotencyKey
    from kehu.core.tasks import IDEMPOTENCY_KEY_TTL

    stored = IdempotencyKey.objects.filter(**lookup).first()
    if stored is not None and stored.created_at < timezone.now() - IDEMPOTENCY_KEY_TTL:
        stored.delete()
        return None
    return stored


def _store(lookup: dict[str, Any], request_hash: str, response: HttpResponse,
           secret_fields: Sequence[str]) -> None:
    from kehu.core.models import IdempotencyKey

    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return
    if isinstance(body, dict):
        body = {k: (None if k in secret_fields else v) for k, v in body.items()}
    user = lookup["user"]
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                tenant_id=getattr(user, "tenant_id", None), request_hash=request_hash,
                status_code=response.status_code, response_body=body, **lookup,
            )
    except IntegrityError:
        raise _StoreRace() from None
