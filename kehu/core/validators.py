"""Input normalisation and validation shared by services (messages translatable)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kehu.core import phones
from kehu.core.exceptions import ValidationFailed


def clean_name(value: str | None, field: str, *, max_length: int = 100) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationFailed(fields={field: [_("This field is required.")]})
    if len(text) > max_length:
        raise ValidationFailed(
            fields={field: [_("At most %(n)d characters.") % {"n": max_length}]}
        )
    return text


def clean_email(value: str | None, field: str = "email") -> str:
    text = (value or "").strip().lower()
    if not text:
        raise ValidationFailed(fields={field: [_("This field is required.")]})
    try:
        validate_email(text)
    except DjangoValidationError:
        raise ValidationFailed(fields={field: [_("Enter a valid email address.")]}) from None
    return text


def clean_phone(value: str | None, field: str = "phone") -> str:
    """A user's phone: a mobile or a landline, normalised by ``kehu.core.phones``."""
    if not (value or "").strip():
        return ""
    try:
        phone = phones.parse(value)
    except phones.InvalidPhone:
        phone = None
    if phone is None or phone.ext or phone.kind not in (phones.MOBILE, phones.LANDLINE):
        raise ValidationFailed(fields={field: [_("Enter a valid phone number.")]})
    return phone.number


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with a message our catalogue translates (Django's zh_Hans lacks it)."""

    def get_error_message(self) -> str:
        return ngettext(
            "The password is too short: use at least %(min_length)d character.",
            "The password is too short: use at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}

    def get_help_text(self) -> str:
        return ngettext(
            "At least %(min_length)d character.",
            "At least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}


def check_password(password: str | None, user: Any = None,
                   field: str = "password") -> str:
    from django.contrib.auth.password_validation import validate_password

    if not password:
        raise ValidationFailed(fields={field: [_("This field is required.")]})
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={field: [str(m) for m in exc.messages]}) from None
    return password
