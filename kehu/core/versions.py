"""Optimistic locking of records with a ``version`` column (the API's ETag / If-Match)."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from kehu.core.exceptions import StaleVersion


def check_version(obj: Any, expected_version: int | None) -> None:
    """Refuse a write based on an older version of ``obj`` (None: any version)."""
    if expected_version is not None and obj.version != expected_version:
        raise StaleVersion()


def bump_version(obj: Any) -> None:
    """Save ``obj`` with its version raised by one, atomically in the database."""
    obj.version = F("version") + 1
    obj.save()
    obj.refresh_from_db(fields=["version", "updated_at"])
