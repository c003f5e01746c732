"""A user's own settings: profile, password, two-factor, API tokens."""

from __future__ import annotations

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
from kehu.core.forms.base import VersionForm
from kehu.core.forms.profile import (
    ApiTokenForm,
    PasswordChangeForm,
    ProfileForm,
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
        "token_form": ApiTokenForm(),
        "tokens": list(selectors.api_token_list(actor=me)),
        "me": me,
    }
    if me.totp_secret and not me.totp_enabled:
        import pyotp

        ctx["totp_secret"] = me.totp_secret
        ctx["totp_uri"] = pyotp.TOTP(me.totp_secret).provisioning_uri(
            name=me.email, issuer_name="Kehu")
    ctx.update(extra)
    return render(request, "core/profile/profile.html", ctx, status=status)


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


@require_POST
@page()
def totp_enable(request: HttpRequest) -> HttpResponse:
    form = TotpEnableForm(request.POST)
    if form.is_valid():
        try:
            services.totp_enable(actor=user(request), code=form.cleaned_data["code"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("profile")
    return _profile_render(request, status=422, totp_enable_form=form)


@require_POST
@page()
def totp_disable(request: HttpRequest) -> HttpResponse:
    form = TotpDisableForm(request.POST)
    if form.is_valid():
        try:
            services.totp_disable(actor=user(request), password=form.cleaned_data["password"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("profile")
    return _profile_render(request, status=422, totp_disable_form=form)


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

