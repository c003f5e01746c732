"""Sign-in and sign-up forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm


class LoginForm(KehuForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpLoginForm(KehuForm):
    """Second step: the code. The verified first step is remembered in the session."""

    totp_code = forms.CharField(
        label=_("Authentication code"), max_length=20,
        help_text=_("No phone at hand? Enter one of your recovery codes instead."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off",
                                      "spellcheck": "false"}),
    )


class SignupForm(KehuForm):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    admin_name = forms.CharField(
        label=_("Your name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=30, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        help_text=_("At least 10 characters, not entirely numeric, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Confirm password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("password") and data.get("password_confirm")
                and data["password"] != data["password_confirm"]):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data

