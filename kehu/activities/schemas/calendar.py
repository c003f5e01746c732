"""API schemas of the calendar and its feed link."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from kehu.core.http import MAX_ID
from kehu.core.schemas.references import RecordRef


class CalendarQuery(Schema):
    user: int | None = Field(None, ge=1, le=MAX_ID,
                             description="Whose calendar (default: yours).")
    start: str = Field(..., max_length=40,
                       description="A date (from its start) or an ISO 8601 date-time.")
    end: str = Field(..., max_length=40,
                     description="A date (to its end, inclusive) or an ISO 8601 date-time; "
                                 "at most 62 days after start.")


class CalendarEventOut(Schema):
    type: str = Field(..., description="followup, task or interaction")
    id: int
    title: str
    start: datetime
    end: datetime
    all_day: bool
    customer: RecordRef | None = Field(..., description="Named when you may see it, "
                                      "else redacted.")
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
