"""Cleaning of customer, contact and link fields: every door (forms, API, imports)
goes through these, so all accept and refuse the same values.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import crypto, identifiers, pii
from kehu.core.exceptions import ValidationFailed
from kehu.customers import normalize, reference
from kehu.customers.models import (
    AddressKind,
    Channel,
    DecisionRole,
    Kind,
    Size,
    Status,
    Tier,
    VipGrade,
)

CODE_RE = re.compile(r"^[A-Za-z0-9_\-./]{1,50}$")


def _merge_errors(errors: dict[str, list[str]], exc: ValidationFailed) -> None:
    for field, messages in exc.fields.items():
        errors.setdefault(field, []).extend(messages)


def clean_choice(value: Any, choices: Any, field: str, errors: dict[str, list[str]],
                 *, blank: bool = True) -> str:
    text = normalize.fold(str(value or ""))
    if not text and blank:
        return ""
    if text in choices.values:
        return text
    # Accept a label in either language ("企业", "Enterprise") as imports carry them.
    for key, label in choices.choices:
        if text.casefold() in {str(label).casefold(), str(key).casefold()}:
            return str(key)
    errors.setdefault(field, []).append(_("“%(value)s” is not one of the allowed values.")
                                        % {"value": text})
    return ""


def clean_text(value: Any, field: str, max_length: int, errors: dict[str, list[str]]) -> str:
    text = normalize.fold(str(value or "")) if value is not None else ""
    if len(text) > max_length:
        errors.setdefault(field, []).append(_("At most %(n)d characters.") % {"n": max_length})
        return text[:max_length]
    return text


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[;；,，、\n]+", value) if part.strip()]
    return list(value)


def clean_addresses(value: Any, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Addresses as ``[{"kind", "text"}]``; a plain string is the registered address."""
    result: list[dict[str, str]] = []
    items = [value] if isinstance(value, str) else (value or [])
    for item in items:
        if isinstance(item, str):
            item = {"kind": AddressKind.REGISTERED, "text": item}
        if not isinstance(item, dict):
            errors.setdefault("addresses", []).append(_("Enter the address as text."))
            continue
        text = clean_text(item.get("text"), "addresses", 300, errors)
        kind = clean_choice(item.get("kind") or AddressKind.REGISTERED, AddressKind,
                            "addresses", errors)
        if text:
            result.append({"kind": kind or AddressKind.REGISTERED, "text": text})
    return result


def clean_consent(value: Any, errors: dict[str, list[str]]) -> dict[str, bool]:
    if not value:
        return {}
    if isinstance(value, (list, tuple)):
        value = dict.fromkeys(value, True)
    if not isinstance(value, dict):
        errors.setdefault("consent", []).append(_("Give consent per channel."))
        return {}
    unknown = set(value) - set(Channel.values)
    if unknown:
        errors.setdefault("consent", []).append(
            _("Unknown channels: %(names)s.") % {"names": ", ".join(sorted(map(str, unknown)))})
    return {key: bool(value[key]) for key in Channel.values if key in value}


def clean_customer_fields(data: dict[str, Any], *, kind: str) -> dict[str, Any]:
    """Clean the given customer fields (all errors at once); returns model values.

    ``id_number`` comes in clear and leaves as ``id_number_encrypted/_hash/_masked``.
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if key == "name":
                out["name"] = clean_text(value, key, 200, errors)
                if not out["name"]:
                    errors.setdefault(key, []).append(_("This field is required."))
            elif key == "short_name":
                out[key] = clean_text(value, key, 100, errors)
            elif key == "kind":
                out[key] = clean_choice(value, Kind, key, errors, blank=False)
            elif key == "uscc":
                text = normalize.fold(str(value or ""))
                if text and kind == Kind.INDIVIDUAL:
                    errors.setdefault(key, []).append(
                        _("An individual has an ID number, not a credit code."))
                elif text:
                    code = identifiers.normalize_uscc(text)
                    if code is None:
                        errors.setdefault(key, []).append(_(
                            "Not a valid unified social credit code (18 characters with a "
                            "correct check character)."))
                    out[key] = code or ""
                else:
                    out[key] = ""
            elif key == "id_number":
                text = normalize.fold(str(value or ""))
                if text and kind != Kind.INDIVIDUAL:
                    errors.setdefault(key, []).append(
                        _("Only individuals have a resident ID number."))
                    continue
                number = identifiers.normalize_id_number(text) if text else ""
                if text and number is None:
                    errors.setdefault(key, []).append(_(
                        "Not a valid resident ID number (18 characters with a correct check "
                        "character, or the old 15 digits)."))
                    continue
                out["id_number_encrypted"] = crypto.encrypt(number or "")
                out["id_number_hash"] = crypto.blind_hash(number or "")
                out["id_number_masked"] = pii.mask_id_number(number or "")
            elif key == "industry":
                text = normalize.fold(str(value or ""))
                found = reference.find_industry(text) if text else None
                if text and found is None:
                    errors.setdefault(key, []).append(
                        _("Unknown industry “%(value)s”.") % {"value": text})
                out[key] = found.code if found else ""
            elif key == "region":
                text = normalize.fold(str(value or ""))
                region = (reference.region(text) or reference.find_region(text)) if text \
                    else None
                if text and region is None:
                    errors.setdefault(key, []).append(
                        _("Unknown region “%(value)s”.") % {"value": text})
                out[key] = region.code if region else ""
            elif key == "size":
                out[key] = clean_choice(value, Size, key, errors)
            elif key == "tier":
                out[key] = clean_choice(value, Tier, key, errors) or Tier.ORDINARY
            elif key == "vip_grade":
                out[key] = clean_choice(value, VipGrade, key, errors)
            elif key == "status":
                out[key] = clean_choice(value, Status, key, errors) or Status.POTENTIAL
            elif key == "phones":
                out[key] = normalize.clean_phones(_list(value), key)
            elif key == "emails":
                out[key] = normalize.clean_emails(_list(value), key)
            elif key == "website":
                out[key] = normalize.clean_website(value, key)
            elif key == "addresses":
                out[key] = clean_addresses(value, errors)
            elif key == "consent":
                out[key] = clean_consent(value, errors)
            elif key == "notes":
                out[key] = str(value or "")[:10000]
            elif key == "code":
                text = normalize.fold(str(value or ""))
                if text and not CODE_RE.match(text):
                    errors.setdefault(key, []).append(
                        _("Letters, digits and - _ . / only, at most 50."))
                out[key] = text
            else:
                errors.setdefault(key, []).append(_("Unknown field."))
        except ValidationFailed as exc:
            _merge_errors(errors, exc)
    if errors:
        raise ValidationFailed(fields=errors)
    return out




def clean_contact_fields(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if key == "name":
                out[key] = clean_text(value, key, 100, errors)
                if not out[key]:
                    errors.setdefault(key, []).append(_("This field is required."))
            elif key == "gender":
                out[key] = value if value in ("", "male", "female", None) else ""
                if value not in ("", "male", "female", None):
                    errors.setdefault(key, []).append(_("Choose male or female, or leave empty."))
            elif key == "phones":
                out[key] = normalize.clean_phones(_list(value), key)
            elif key == "email":
                out[key] = normalize.clean_email(value, key)
            elif key == "wechat":
                out[key] = clean_text(value, key, 100, errors)
            elif key == "preferred_channel":
                out[key] = clean_choice(value, Channel, key, errors)
            elif key == "birthday":
                out[key] = _date(value, key, errors)
            elif key == "notes":
                out[key] = str(value or "")[:10000]
            else:
                errors.setdefault(key, []).append(_("Unknown field."))
        except ValidationFailed as exc:
            _merge_errors(errors, exc)
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalize.fold(str(value)).replace("/", "-").replace(".", "-")
    text = re.sub(r"[年月]", "-", text).rstrip("日")
    try:
        result = dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date such as 1980-05-20."))
        return None
    if result > timezone.localdate() or result.year < 1900:
        errors.setdefault(field, []).append(_("Enter a real birthday."))
    return result


def clean_link_fields(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("title", "department"):
            out[key] = clean_text(value, key, 100, errors)
        elif key == "decision_role":
            out[key] = clean_choice(value, DecisionRole, key, errors)
        elif key == "is_primary":
            out[key] = bool(value)
        else:
            errors.setdefault(key, []).append(_("Unknown field."))
    if errors:
        raise ValidationFailed(fields=errors)
    return out


