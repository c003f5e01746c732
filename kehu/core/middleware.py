"""Request id and client IP for audit rows; the user's chosen language; queued denials;
the Content-Security-Policy of every page; a busy SQLite database answered as 503 on pages."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.defaults import server_error as default_server_error

from kehu.core import audit, busy, context
from kehu.core.exceptions import DatabaseBusy, DatabaseUnavailable

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, the ASGI server rewrites it from the trusted
    proxy's X-Forwarded-For (``kehu serve`` runs uvicorn with proxy headers); reading the
    header here would let any client forge the address in the audit log."""
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        token = context.activate(context.RequestContext(request_id, client_ip(request)))
        audit.discard_denials()
        try:
            response = self.get_response(request)
            audit.flush_denials()
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request_id
        return response


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


# Only Kehu's own static files: no inline script, no inline style, no eval, no framing.
# Referrer-Policy and X-Frame-Options come from settings (SECURE_REFERRER_POLICY,
# X_FRAME_OPTIONS); frame-ancestors says the same to browsers that read CSP.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """Adds ``CONTENT_SECURITY_POLICY`` to every response that has none of its own
    (document downloads keep their ``sandbox``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class DatabaseBusyMiddleware:
    """A page whose write found the database busy (SQLite, an import running) or
    unreachable (PostgreSQL restarting) answers 503 with Retry-After and the retry
    message, not 500. The API does the same in ``kehu.core.http.errors``; a failure in a
    middleware before the view (the session read) reaches ``server_error`` below."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception
                          ) -> HttpResponse | None:
        return unavailable_response(request, exception)


def unavailable_response(request: HttpRequest, exception: BaseException
                         ) -> HttpResponse | None:
    """The 503 page for a busy or unreachable database, None for any other error."""
    if busy.is_busy(exception):
        error: type[DatabaseBusy | DatabaseUnavailable] = DatabaseBusy
    elif busy.is_unavailable(exception):
        error = DatabaseUnavailable
    else:
        return None
    try:
        body = render_to_string("503.html", {"message": error.default_message}, request=request)
    except Exception:  # the context processors read the database too
        body = render_to_string("503.html", {"message": error.default_message})
    response = HttpResponse(body, status=error.status)
    response["Retry-After"] = str(error.retry_after)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a database that went away while a middleware read it (the session,
    the user) is a 503 like in a view; anything else is the plain 500 page."""
    exception = sys.exc_info()[1]
    if exception is not None and (response := unavailable_response(request, exception)):
        return response
    return default_server_error(request)
