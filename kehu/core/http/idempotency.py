"""``Idempotency-Key`` on POST creates: the first 2xx response is replayed."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.decorators import decorate_view
from ninja.types import TCallable
from ninja.utils import contribute_operation_callback

from kehu.core import busy
from kehu.core.exceptions import Conflict, DatabaseBusy, ValidationFailed
from kehu.core.http.authentication import try_authenticate
from kehu.core.http.conditional import document_header, set_etag
from kehu.core.http.errors import IdempotencyKeyReused, kehu_error_response

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_MAX_KEY_LENGTH = 200
# How long a request waits for a concurrent one with the same key to finish (then 409).
WAIT_FOR_FIRST = timedelta(seconds=20)
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


class _StoreRace(Exception):
    pass


class IdempotencyKeyInFlight(Conflict):
    default_message = gettext_lazy(
        "A request with this Idempotency-Key is still being processed. Retry in a moment.")


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
    corrected request may reuse its key. Concurrent requests with one key wait for the
    first to finish and then replay it (see ``_first_run``). ``secret_fields`` (passwords,
    tokens shown once) are never stored: a replay carries ``null`` there.
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
            if stored is None:
                try:
                    return _first_run(run, request, args, kwargs, lookup, request_hash,
                                      secret_fields)
                except _StoreRace:
                    # Another request with this key committed first: this one undid its
                    # claim and answers with the winner's response.
                    stored = _stored(lookup)
                    if stored is None:  # pragma: no cover - the winner's row expired
                        raise
                except OperationalError as exc:
                    return _still_running(exc)
            if not hmac.compare_digest(stored.request_hash, request_hash):
                return kehu_error_response(IdempotencyKeyReused())
            return _replay(stored)

        return wrapper

    return decorator


def _first_run(run: Callable[..., HttpResponse], request: HttpRequest, args: Any,
               kwargs: Any, lookup: dict[str, Any], request_hash: str,
               secret_fields: Sequence[str]) -> HttpResponse:
    """Claim the key, then run, in one transaction.

    The claim (the key's row, inserted before the create runs) is what makes concurrent
    requests with one key wait for the first instead of racing it: the unique constraint
    holds the second insert until the first transaction ends (PostgreSQL row lock; SQLite
    admits one writing transaction at a time). If the first committed a 2xx response, the
    second's insert fails and it replays that response; if the first failed, its claim is
    gone and the second runs itself. The wait is bounded by ``WAIT_FOR_FIRST``.
    """
    with transaction.atomic():
        claim = _claim(lookup, request_hash)
        response = run(request, *args, **kwargs)
        if 200 <= response.status_code < 300:
            _complete(claim, response, secret_fields)
        elif response.status_code >= 500 or transaction.get_rollback():
            transaction.set_rollback(True)  # a broken run: nothing of it is kept
        else:
            # Errors are not kept, so a corrected request may reuse its key; what the
            # run itself wrote stays as it would without a key (a failed sign-in counts).
            claim.delete()
    return response


def _still_running(exc: OperationalError) -> HttpResponse:
    if busy.is_busy(exc):
        return kehu_error_response(DatabaseBusy())
    cause = exc.__cause__
    if _LOCK_NOT_AVAILABLE in (getattr(cause, "sqlstate", None), getattr(cause, "pgcode", None)):
        return kehu_error_response(IdempotencyKeyInFlight())
    raise exc


def _stored(lookup: dict[str, Any]) -> Any:
    from kehu.core.models import IdempotencyKey
    from kehu.core.tasks import IDEMPOTENCY_KEY_TTL

    stored = IdempotencyKey.objects.filter(**lookup).first()
    if stored is not None and stored.created_at < timezone.now() - IDEMPOTENCY_KEY_TTL:
        stored.delete()
        return None
    return stored


def _claim(lookup: dict[str, Any], request_hash: str) -> Any:
    """The key's row, not yet holding a response (no one else sees it before commit)."""
    from kehu.core.models import IdempotencyKey

    user = lookup["user"]
    try:
        # The wait is set outside the savepoint so that it is reset even after a failed
        # insert (the savepoint is rolled back first).
        with _bounded_wait(), transaction.atomic():
            return IdempotencyKey.objects.create(
                tenant_id=getattr(user, "tenant_id", None), request_hash=request_hash,
                status_code=0, response_body={}, **lookup)
    except IntegrityError:
        raise _StoreRace() from None


@contextmanager
def _bounded_wait() -> Iterator[None]:
    """PostgreSQL: wait at most ``WAIT_FOR_FIRST`` for a concurrent holder of the key.
    (SQLite waits for the write lock before the transaction starts, up to its timeout.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = %s",
                       [f"{int(WAIT_FOR_FIRST.total_seconds() * 1000)}ms"])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def _complete(claim: Any, response: HttpResponse, secret_fields: Sequence[str]) -> None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        claim.delete()  # not JSON (a file): nothing to replay
        return
    if isinstance(body, dict):
        body = {k: (None if k in secret_fields else v) for k, v in body.items()}
    claim.status_code = response.status_code
    claim.response_body = body
    claim.save(update_fields=["status_code", "response_body"])
