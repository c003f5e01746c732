"""API: notifications (your own inbox) and reminder settings.

Thin: parse, call services/selectors, shape.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)
from kehu.notifications import selectors, services
from kehu.notifications.schemas import (
    NotificationFilters,
    NotificationOut,
    ReadAllOut,
    ReminderSettingsIn,
    ReminderSettingsOut,
    UnreadCountOut,
)

router = Router(tags=["notifications"])


@router.get("/notifications", response=responses({200: Page[NotificationOut]}))
def notification_list(request: HttpRequest, filters: Query[NotificationFilters]) -> dict:
    """Your own notifications, newest first (or unread first)."""
    qs = selectors.notification_list(actor=current_user(request), unread=filters.unread,
                                     unread_first=filters.order == "unread_first",
                                     read_via=filters.read_via, read_since=filters.read_since)
    return paginate(qs, filters)


@router.get("/notifications/unread-count", response=responses({200: UnreadCountOut}))
def notification_unread_count(request: HttpRequest) -> dict:
    return {"count": selectors.unread_count(actor=current_user(request))}


@router.post("/notifications/read-all", response=responses({200: ReadAllOut}))
@idempotent()
def notification_read_all(request: HttpRequest) -> dict:
    """Mark all your unread notifications read."""
    return {"updated": services.notification_mark_all_read(actor=current_user(request))}


@router.get("/notifications/settings", response=responses({200: ReminderSettingsOut}))
def reminder_settings_get(request: HttpRequest, response: HttpResponse) -> dict:
    """Your reminder preferences (defaults until saved, ETag ``"0"``)."""
    current = services.reminder_settings(current_user(request))
    set_etag(response, current)
    return _settings_out(current)


@router.put("/notifications/settings",
            response=responses({200: ReminderSettingsOut}, 412, 428))
@needs_if_match
def reminder_settings_put(request: HttpRequest, payload: ReminderSettingsIn,
                          response: HttpResponse) -> dict:
    """Replace your reminder preferences. Send ``If-Match`` with the ETag of the GET, as
    for every update: a change made meanwhile (on another device) gives 412."""
    current = services.reminder_settings_update(actor=current_user(request),
                                                expected_version=if_match(request),
                                                **payload.model_dump())
    set_etag(response, current)
    return _settings_out(current)


def _settings_out(current: Any) -> dict:
    return {"default_lead_minutes": current.default_lead_minutes,
            "email_enabled": current.email_enabled, "version": current.version,
            "lead_choices": list(services.LEAD_CHOICES)}


@router.post("/notifications/{notification_id}/read",
             response=responses({200: NotificationOut}, 404))
@idempotent()
def notification_read(request: HttpRequest, notification_id: DbId) -> object:
    """Mark one of your notifications read (anyone else's is 404)."""
    return services.notification_mark_read(actor=current_user(request),
                                           notification_id=notification_id)
