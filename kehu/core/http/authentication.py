"""API authentication: bearer API tokens or the Django session (CSRF checked
for unsafe methods); both set ``request.user``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from kehu.core.exceptions import KehuError
from kehu.core.http.errors import CsrfFailed, InvalidToken, NotAuthenticated

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

