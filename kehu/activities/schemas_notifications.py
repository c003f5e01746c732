"""API schemas of notifications, reminder settings, the calendar and its feed link."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from kehu.core.http import MAX_ID, InputSchema, PageQuery


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
                                      description="One of 0, 5, 10, 15, 30, 60, 120, 1440.")
    email_enabled: bool


class CalendarQuery(Schema):
    user: int | None = Field(None, ge=1, le=MAX_ID,
                             description="Whose calendar (default: yours).")
    start: str = Field(..., max_length=40,
                       description="A date (from its start) or an ISO 8601 date-time.")
    end: str = Field(..., max_length=40,
                     description="A date (to its end, inclusive) or an ISO 8601 date-time; "
                                 "at most 62 days after start.")


class CustomerRef(Schema):
    id: int
    name: str


class CalendarEventOut(Schema):
    type: str = Field(..., description="followup, task or interaction")
    id: int
    title: str
    start: datetime
    end: datetime
    all_day: bool
    customer: CustomerRef | None
    status: str
    overdue: bool
    kind: str = Field(..., description="For interactions: visit or meeting.")
    url: str


class CalendarUserOut(Schema):
    id: int
    name: str


class CalendarOut(Schema):
    user: CalendarUserOut
    start: datetime
    end: datetime
    events: list[CalendarEventOut]


class CalendarFeedOut(Schema):
    active: bool
    prefix: str | None
    created_at: datetime | None
    last_used_at: datetime | None


class CalendarFeedCreatedOut(Schema):
    url: str | None = Field(..., description="The secret feed address, shown this once.")
    prefix: str
    created_at: datetime
