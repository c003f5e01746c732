"""The one check for ``next`` / return URLs, used in links as well as redirects.

Only same-origin relative paths pass: one leading slash (not ``//host`` nor ``/\\host``),
no scheme, no host, no control characters. Anything else gives the default.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_path(target: str, request: HttpRequest) -> bool:
    """True for a same-origin relative path such as ``/customers/?page=2``."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return False
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return False
    return url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def safe_next(request: HttpRequest, target: str | None, default: str) -> str:
    """``target`` when it is a safe relative path, else ``default``."""
    return target if target and is_safe_path(target, request) else default


def next_url(request: HttpRequest, default: str) -> str:
    """The request's ``next`` (POST, then GET) when safe, else ``default``."""
    return safe_next(request, request.POST.get("next") or request.GET.get("next"), default)
