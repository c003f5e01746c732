"""Request id and client IP for audit rows; the user's chosen language; queued denials;
the Content-Security-Policy of every page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from kehu.core import audit, context

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
