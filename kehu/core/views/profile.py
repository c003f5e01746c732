"""A user's own settings: profile, password, two-factor, API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.core import selectors
from kehu.core.exceptions import KehuError
from kehu.core.forms.base import KehuForm, VersionForm
from kehu.core.forms.profile import (
    ApiTokenForm,
    PasswordChangeForm,
    ProfileForm,
    RecoveryCodesForm,
    TotpDisableForm,
    TotpEnableForm,
)
from kehu.core.models import User
from kehu.core.services import profile as services
from kehu.core.web import page, service_error, user


def _profile_render(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    me = User.objects.select_related("org_unit", "tenant").get(pk=user(request).pk)
    ctx: dict[str, Any] = {
        "profile_form": ProfileForm(initial={
            "full_name": me.full_name, "phone": me.phone, "language": me.language,
            "version": me.version}),
        "password_form": PasswordChangeForm(),
        "totp_enable_form": TotpEnableForm(),
        "totp_disable_form": TotpDisableForm(),
        "recovery_form": RecoveryCodesForm(prefix="recovery"),
        "token_form": ApiTokenForm(),
        "tokens": list(selectors.api_token_list(actor=me)),
        "me": me,
    }
    if me.totp_secret and not me.totp_enabled:
        import pyotp

        ctx["totp_secret"] = me.totp_secret
        ctx["totp_uri"] = pyotp.TOTP(me.totp_secret).provisioning_uri(
            name=me.email, issuer_name="Kehu")
        ctx["totp_qr"] = _qr_data_uri(ctx["totp_uri"])
    ctx["recovery_codes_left"] = len(me.totp_recovery_codes or [])
    ctx.update(extra)
    return render(request, "core/profile/profile.html", ctx, status=status)


def _qr_data_uri(text: str) -> str:
    """The QR code of ``text`` as an SVG data URI for an <img>: drawn here (segno), no
    outside service sees the secret, and the strict CSP allows ``img-src data:``."""
    import segno

    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2, dark="#000",
                                                        light="#fff"))


@never_cache
@page()
def profile(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _profile_render(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.profile_update(actor=user(request), expected_version=data.pop("version"),
                                    **data)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            # The next page is in the newly chosen language: so is the message about it.
            translation.activate(data["language"])
            messages.success(request, _("Your profile is saved."))
            return redirect("profile")
    return _profile_render(request, status=422, profile_form=form)


@require_POST
@page()
def profile_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            me, revoked = services.profile_change(
                actor=user(request), current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            update_session_auth_hash(request, me)
            messages.success(request, _("Your password is changed."))
            if revoked:
                messages.info(request, _("%(n)d API tokens were revoked.") % {"n": revoked})
            return redirect("profile")
    return _profile_render(request, status=422, password_form=form)


@require_POST
@page()
def totp_setup(request: HttpRequest) -> HttpResponse:
    try:
        services.totp_setup(actor=user(request))
    except KehuError as exc:
        service_error(request, None, exc)
    return redirect(reverse("profile") + "#two-factor")


def _two_factor_step(request: HttpRequest, form: KehuForm, form_key: str,
                     act: Callable[[dict[str, Any]], HttpResponse]) -> HttpResponse:
    """The shape every two-factor action shares: a valid form runs ``act`` (a service
    call and its answer); a refusal shows the profile again with the form's errors."""
    if form.is_valid():
        try:
            return act(form.cleaned_data)
        except KehuError as exc:
            service_error(request, form, exc)
    return _profile_render(request, status=422, **{form_key: form})


def _codes_shown(request: HttpRequest, codes: list[str], message: str) -> HttpResponse:
    # Rendered, not redirected to: the codes exist in this response only.
    messages.success(request, message)
    return _profile_render(request, recovery_codes=codes)


def _done(request: HttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("profile") + "#two-factor")


@never_cache
@require_POST
@page()
def totp_enable(request: HttpRequest) -> HttpResponse:
    me = user(request)
    return _two_factor_step(
        request, TotpEnableForm(request.POST), "totp_enable_form",
        lambda data: _codes_shown(
            request, services.totp_enable(actor=me, code=data["code"])[1],
            _("Two-factor authentication is on.")))


@never_cache
@require_POST
@page()
def totp_recovery_codes(request: HttpRequest) -> HttpResponse:
    me = user(request)
    return _two_factor_step(
        request, RecoveryCodesForm(request.POST, prefix="recovery"), "recovery_form",
        lambda data: _codes_shown(
            request, services.totp_recovery_codes_renew(actor=me, password=data["password"]),
            _("New recovery codes are ready; the old ones no longer work.")))


@require_POST
@page()
def totp_disable(request: HttpRequest) -> HttpResponse:
    me = user(request)

    def act(data: dict[str, Any]) -> HttpResponse:
        services.totp_disable(actor=me, password=data["password"])
        return _done(request, _("Two-factor authentication is off."))

    return _two_factor_step(request, TotpDisableForm(request.POST), "totp_disable_form", act)


@never_cache
@require_POST
@page()
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plaintext = services.api_token_create(
                actor=user(request), name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            return _profile_render(request, new_token=token, new_token_plaintext=plaintext)
    return _profile_render(request, status=422, token_form=form)


@require_POST
@page()
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    form = VersionForm(request.POST)
    form.is_valid()
    try:
        token = services.api_token_revoke(actor=user(request), token_id=pk,
                                          expected_version=form.cleaned_data.get("version"))
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect(reverse("profile") + "#tokens")
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect(reverse("profile") + "#tokens")

