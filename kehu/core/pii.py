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
    """Keep the first and last character of a resident ID number."""
    value = value or ""
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_email(value: str) -> str:
    value = value or ""
    local, sep, domain = value.partition("@")
    if not sep:
        return mask_text(value)
    return (local[:1] + "***") + "@" + domain


def mask_text(value: str) -> str:
    """Addresses and free text: keep the first few characters."""
    value = value or ""
    keep = min(6, len(value) // 3)
    return value[:keep] + ("***" if value else "")


MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "email": mask_email,
    "text": mask_text,
}


def mask(kind: str, value: Any) -> Any:
    if value in (None, ""):
        return value
    return MASKERS[kind](str(value))
