"""API schemas of notifications and reminder settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from kehu.core.http import InputSchema, Moment, PageQuery, stated
from kehu.notifications.services import LEAD_CHOICES


class NotificationFilters(PageQuery):
    unread: bool | None = Field(None, description="true: unread only; false: read only.")
    read_via: Literal["one", "all", "opened"] | None = Field(
        None, description="Only notices first read this way.")
    read_since: Moment | None = Field(None, description="Only notices read at or after.")
    order: Literal["newest", "unread_first"] = Field(
        "newest", description="newest: newest first; unread_first: unread ones on top.")


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(..., description="When it was first read.")
    read_via: Literal["one", "all", "opened", ""] = Field(..., description=(
        "How it was first read: one (marked read), all (mark all read), opened (its link "
        "followed); empty while unread (or read before this was recorded)."))
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
    version: int = Field(..., description="0 until first saved; the ETag.")


class ReminderSettingsIn(InputSchema):
    default_lead_minutes: int = Field(..., ge=0, le=10080,
                                      description="One of 0, 5, 10, 15, 30, 60, 120, 1440.",
                                      json_schema_extra=stated(LEAD_CHOICES))
    email_enabled: bool
