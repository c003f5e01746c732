"""Masking of sensitive values: phones, ID numbers, emails, addresses.

Every output path (page, API, export, audit diff, error) masks through these functions
unless the viewer's role may reveal personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits of a mobile number: 138****5678."""
    value = value or ""
    if len(value) <= 4:
        return "*" * len(value)
    if len(value) <= 7:
        return "*" * (len(value) - 4) + value[-4:]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_id_number(value: str) -> str:
    """Keep the first three and last four characters of an ID number: 110***********1234."""
    value = value or ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    """Keep the first two characters of the mailbox (one when it is short) and the
    domain: zh***@example.com."""
    value = value or ""
    local, sep, domain = value.partition("@")
    if not sep:
        return mask_text(value)
    keep = 2 if len(local) > 3 else min(1, len(local))
    return local[:keep] + "***" + "@" + domain


def mask_text(value: str) -> str:
    """Addresses and free text: keep the first few characters."""
    value = value or ""
    keep = min(6, len(value) // 3)
    return value[:keep] + ("***" if value else "")


def mask_phone_list(phones: Any) -> list[dict[str, Any]]:
    """Phones stored as ``[{"number", "kind", "ext"}]``: each number masked."""
    return [dict(p, number=mask_phone(str(p.get("number", "")))) for p in phones or []
            if isinstance(p, dict)]


def mask_email_list(emails: Any) -> list[str]:
    """Emails stored as a list of strings: each masked."""
    return [mask_email(str(e)) for e in emails or []]


def mask_address_list(addresses: Any) -> list[dict[str, Any]]:
    return [dict(a, text=mask_text(str(a.get("text", "")))) for a in addresses or []
            if isinstance(a, dict)]


LIST_MASKERS: dict[str, Callable[[Any], Any]] = {
    "phone_list": mask_phone_list,
    "address_list": mask_address_list,
    "email_list": mask_email_list,
}

MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "email": mask_email,
    "text": mask_text,
}


def mask(kind: str, value: Any) -> Any:
    if value in (None, "", []):
        return value
    if kind in LIST_MASKERS:
        return LIST_MASKERS[kind](value)
    return MASKERS[kind](str(value))
