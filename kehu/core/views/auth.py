"""Sign-in (password, then the second factor when on), sign-out and sign-up pages (the
form, "check your mailbox", and the emailed link that completes it)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.core import auth, redirects
from kehu.core.exceptions import KehuError
from kehu.core.forms.auth import LoginForm, SignupForm, TotpLoginForm
from kehu.core.forms.base import KehuForm
from kehu.core.models import User
from kehu.core.services import signup as signup_services
from kehu.core.web import service_error, user

AUTH_BACKEND = "kehu.core.auth.EmailBackend"


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = redirects.next_url(request, reverse("home"))
    form: KehuForm
    if request.method != "POST":
        return render(request, "core/auth/login.html", {"form": LoginForm(), "next": next_url})
    if "totp_code" in request.POST:
        return _login_second_step(request, next_url)
    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "core/auth/login.html", {"form": form, "next": next_url}, status=422)
    data = form.cleaned_data
    try:
        signed_in = auth.login_with_password(data["email"], data["password"])
    except auth.SecondFactorRequired as exc:
        # The password was right: remember that (not the password) for a few minutes.
        request.session[PENDING_LOGIN_KEY] = {"user_id": exc.user_id, "at": time.time()}
        return render(request, "core/auth/login_totp.html",
                      {"form": TotpLoginForm(), "next": next_url})
    except KehuError as exc:
        return _login_refused(request, next_url, str(exc.message), email=data["email"])
    login(request, signed_in, backend=AUTH_BACKEND)
    return HttpResponseRedirect(next_url)


PENDING_LOGIN_KEY = "kehu_pending_login"
PENDING_LOGIN_SECONDS = 300


def _login_refused(request: HttpRequest, next_url: str, message: str,
                   email: str = "") -> HttpResponse:
    login_form = LoginForm({"email": email, "password": ""})
    login_form.errors.clear()
    login_form.add_error(None, message)
    return render(request, "core/auth/login.html", {"form": login_form, "next": next_url},
                  status=401)


def _login_second_step(request: HttpRequest, next_url: str) -> HttpResponse:
    pending = request.session.get(PENDING_LOGIN_KEY) or {}
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_LOGIN_SECONDS:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return _login_refused(request, next_url, _("Please sign in again."))
    form = TotpLoginForm(request.POST)
    if not form.is_valid():
        return render(request, "core/auth/login_totp.html", {"form": form, "next": next_url},
                      status=422)
    try:
        signed_in = auth.login_second_factor(int(pending["user_id"]),
                                             form.cleaned_data["totp_code"])
    except auth.SecondFactorRequired as exc:
        form.add_error("totp_code", str(exc.message))
        return render(request, "core/auth/login_totp.html", {"form": form, "next": next_url},
                      status=401)
    except KehuError as exc:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return _login_refused(request, next_url, str(exc.message))
    request.session.pop(PENDING_LOGIN_KEY, None)
    login(request, signed_in, backend=AUTH_BACKEND)
    return HttpResponseRedirect(next_url)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        auth.record_logout(user(request))
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("login")


SIGNUP_EMAIL_KEY = "kehu_signup_email"


@never_cache
def signup_view(request: HttpRequest) -> HttpResponse:
    """The sign-up form. A valid form always leads to "check your mailbox", whether or not
    the email has an account (the email itself says which)."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signup_services.signup_request(
                company_name=data["company_name"], admin_name=data["admin_name"],
                email=data["email"], password=data["password"], phone=data["phone"],
                language=get_language() if get_language() in User.Language.values
                else User.Language.ZH_HANS,
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            request.session[SIGNUP_EMAIL_KEY] = data["email"]
            return redirect("signup_sent")
    status = 422 if request.method == "POST" else 200
    return render(request, "core/auth/signup.html", {"form": form}, status=status)


@never_cache
def signup_sent_view(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SIGNUP_EMAIL_KEY, "")
    if not email:
        return redirect("signup")
    return render(request, "core/auth/signup_sent.html", {
        "email": email, "hours": settings.KEHU_SIGN_UP_LINK_HOURS,
        # Development without a mail server: the link is in the server's console.
        "no_mail_server": not settings.EMAIL_HOST,
    })


@never_cache
def signup_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Opening it only shows a button: mail scanners that open links
    must not use up the single-use link; the button (POST) creates the company."""
    try:
        pending = signup_services.signup_pending(token)
    except KehuError as exc:
        return render(request, "core/auth/signup_confirm.html",
                      {"error": str(exc.message)}, status=exc.status)
    if request.method != "POST":
        return render(request, "core/auth/signup_confirm.html", {"pending": pending})
    try:
        tenant, admin = signup_services.signup_confirm(token)
    except KehuError as exc:
        return render(request, "core/auth/signup_confirm.html",
                      {"pending": pending, "error": str(exc.message) if not exc.fields else
                       " ".join(str(m) for msgs in exc.fields.values() for m in msgs)},
                      status=exc.status)
    if request.user.is_authenticated:
        logout(request)
    request.session.pop(SIGNUP_EMAIL_KEY, None)
    login(request, admin, backend=AUTH_BACKEND)
    messages.success(request, _("Welcome! %(company)s is ready.") % {"company": tenant.name})
    return redirect("home")
