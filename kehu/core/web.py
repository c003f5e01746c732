"""What every HTML page shares: sign-in and permission checks, htmx detection, service
errors shown on forms. Every app's views use these."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from kehu.core import access
from kehu.core.exceptions import Forbidden, KehuError, NotFound
from kehu.core.forms.base import KehuForm
from kehu.core.models import User

View = Callable[..., HttpResponseBase]


def require(me: Any, permission: str) -> None:
    """The 403 page (and an audited denial) when no role grants ``permission``."""
    try:
        access.require(me, permission)
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from None


def page(permission: str | None = None) -> Callable[[View], View]:
    """Signed-in users only; with ``permission``, users without it get the 403 page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                if is_htmx(request):
                    # A session that ran out mid-page: load the sign-in page whole.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = redirect_to_login(request.get_full_path()).url
                    return response
                return redirect_to_login(request.get_full_path())
            if permission is not None:
                require(request.user, permission)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        return wrapper

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def service_error(request: HttpRequest, form: KehuForm | None, exc: KehuError) -> None:
    """Field errors onto the form; otherwise the message into the messages area.

    An error that names its fields is shown only next to them: its message is the
    generic one ("some fields are invalid") and would just repeat them less precisely.
    """
    if isinstance(exc, NotFound):
        raise Http404
    if form is not None and exc.fields:
        form.add_service_error(exc)
        return
    if form is not None:
        form.add_service_error(exc)
    messages.error(request, str(exc.message))


def user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]

