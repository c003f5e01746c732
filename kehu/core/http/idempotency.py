"""``Idempotency-Key`` on POST creates: the first 2xx response is replayed."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.decorators import decorate_view
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback

from kehu.core.exceptions import ValidationFailed
from kehu.core.http.authentication import try_authenticate
from kehu.core.http.conditional import document_header, set_etag
from kehu.core.http.errors import IdempotencyKeyReused, kehu_error_response

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



IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
    # A key is 1 to 200 characters once surrounding blanks are stripped.
    "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_KEY_LENGTH,
               "pattern": r"\S"},
    "description": "Any unique string: a retry with the same key and body returns the first "
                   "result instead of acting twice.",
}



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
        contribute_operation_callback(view_func, document_header(IDEMPOTENCY_PARAMETER))
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

