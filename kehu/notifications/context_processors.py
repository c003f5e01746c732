"""The unread-notification count for the header badge on every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def notifications(request: HttpRequest) -> dict[str, Any]:
    """``unread_notifications``: counted (one query) only when a template shows it, so
    partial responses and anonymous pages cost nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}

    def count() -> int:
        from kehu.notifications.selectors import unread_count

        return unread_count(actor=user)

    return {"unread_notifications": SimpleLazyObject(count)}
