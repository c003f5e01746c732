"""A user's own settings: profile, password, two-factor, API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import DayField, KehuForm
from kehu.core.models import User


class ProfileForm(KehuForm):
    full_name = forms.CharField(label=_("Full name"), max_length=100,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(label=_("Mobile phone"), max_length=30, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PasswordChangeForm(KehuForm):
    autofocus = False

    current_password = forms.CharField(
        label=_("Current password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_confirm = forms.CharField(
        label=_("Confirm new password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("new_password") and data.get("new_password_confirm")
                and data["new_password"] != data["new_password_confirm"]):
            self.add_error("new_password_confirm", _("The two passwords do not match."))
        return data


class TotpEnableForm(KehuForm):
    code = forms.CharField(
        label=_("Code from your app"), max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TotpDisableForm(KehuForm):
    autofocus = False

    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class RecoveryCodesForm(KehuForm):
    """New recovery codes need the password: they are a way in."""

    autofocus = False

    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ApiTokenForm(KehuForm):
    autofocus = False
    field_aliases = {"expires_at": "expires"}

    name = forms.CharField(label=_("Token name"), max_length=100)
    expires = DayField(label=_("Expires on"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires")
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min,
                                   tzinfo=timezone.get_current_timezone())

