"""API schemas of notifications and reminder settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from kehu.core.http import InputSchema, PageQuery, stated
from kehu.notifications.services import LEAD_CHOICES


class NotificationFilters(PageQuery):
    unread: bool | None = Field(None, description="true: unread only; false: read only.")
    order: Literal["newest", "unread_first"] = Field(
        "newest", description="newest: newest first; unread_first: unread ones on top.")


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None
    is_read: bool
    email_status: str

    @staticmethod
    def resolve_is_read(obj: object) -> bool:
        return getattr(obj, "read_at", None) is not None


class UnreadCountOut(Schema):
    count: int


class ReadAllOut(Schema):
    updated: int = Field(..., description="How many notices were unread and are now read.")


class ReminderSettingsOut(Schema):
    default_lead_minutes: int = Field(
        ..., description="Default reminder lead for new follow-ups and tasks, in minutes.")
    email_enabled: bool
    lead_choices: list[int]


class ReminderSettingsIn(InputSchema):
    default_lead_minutes: int = Field(..., ge=0, le=10080,
                                      description="One of 0, 5, 10, 15, 30, 60, 120, 1440.",
                                      json_schema_extra=stated(LEAD_CHOICES))
    email_enabled: bool
