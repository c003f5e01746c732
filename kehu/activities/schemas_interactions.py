"""API schemas of interactions and follow-up plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kehu.core.http import DbId, InputSchema, PageQuery, PatchSchema, omitted


class Ref(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class InteractionIn(InputSchema):
    customer_id: DbId
    kind: str = Field(..., description="call, visit, meeting, email, sms, wechat, note, other")
    direction: str = Field("outbound", description="outbound, inbound, internal")
    channel: str = Field("phone", description="phone, face_to_face, email, sms, wechat, web, "
                         "call_center, mobile_app, store, other")
    occurred_at: datetime | None = Field(None, description="Default: now.")
    duration_minutes: int | None = Field(None, ge=0, le=10080)
    subject: str = Field(..., max_length=200)
    content: str = Field("", max_length=20000)
    outcome: str = Field("", max_length=500)
    next_step: str = Field("", max_length=500)
    contact_ids: list[DbId] = Field([], max_length=50)
    participant_ids: list[DbId] = Field([], max_length=50)
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None


class InteractionPatch(PatchSchema):
    customer_id: DbId = omitted()
    kind: str = omitted()
    direction: str = omitted()
    channel: str = omitted()
    occurred_at: datetime = omitted()
    duration_minutes: int | None = omitted(ge=0, le=10080)
    subject: str = omitted(max_length=200)
    content: str = omitted(max_length=20000)
    outcome: str = omitted(max_length=500)
    next_step: str = omitted(max_length=500)
    contact_ids: list[DbId] = omitted(max_length=50)
    participant_ids: list[DbId] = omitted(max_length=50)
    owner_id: DbId = omitted()


class InteractionOut(Schema):
    id: int
    kind: str
    direction: str
    channel: str
    occurred_at: datetime
    duration_minutes: int | None
    customer: Ref
    contacts: list[Ref]
    participants: list[UserRef]
    subject: str
    content: str
    outcome: str
    next_step: str
    owner: UserRef | None
    org_unit: Ref
    created_by: UserRef | None
    document_count: int = 0
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_contacts(obj: Any) -> list[Any]:
        return list(obj.contacts.all())

    @staticmethod
    def resolve_participants(obj: Any) -> list[Any]:
        return list(obj.participants.all())

    @staticmethod
    def resolve_document_count(obj: Any) -> int:
        return int(getattr(obj, "document_count", 0) or 0)


class InteractionFiltersIn(PageQuery):
    customer_id: DbId | None = None
    contact_id: DbId | None = None
    kind: str | None = Field(None, description="One interaction type.")
    owner_id: DbId | None = None
    org_unit_id: DbId | None = Field(None, description="This unit and the units below it.")
    start: datetime | None = Field(None, description="Occurred at or after.")
    end: datetime | None = Field(None, description="Occurred before.")
    q: str | None = Field(None, max_length=100, description="Part of the subject.")


class InteractionInline(InputSchema):
    """The interaction recorded while completing a follow-up (customer: the follow-up's)."""

    kind: str
    direction: str = "outbound"
    channel: str = "phone"
    occurred_at: datetime | None = None
    duration_minutes: int | None = Field(None, ge=0, le=10080)
    subject: str = Field("", max_length=200, description="Default: the follow-up's.")
    content: str = Field("", max_length=20000)
    outcome: str = Field("", max_length=500)
    next_step: str = Field("", max_length=500)
    contact_ids: list[DbId] | None = Field(None, max_length=50,
                                           description="Default: the follow-up's contact.")
    participant_ids: list[DbId] = Field([], max_length=50)


class ImportRowError(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    dry_run: bool
    total_rows: int
    imported: int
    errors: list[ImportRowError]


# ---------------------------------------------------------------------------- follow-ups


class FollowUpIn(InputSchema):
    customer_id: DbId
    subject: str = Field(..., max_length=200)
    due_at: datetime
    contact_id: DbId | None = None
    notes: str = Field("", max_length=10000)
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None
    remind_minutes_before: int | None = Field(
        None, ge=0, le=43200, description="Default: the owner's reminder lead; send null "
        "with `no_reminder` for none.")
    no_reminder: bool = False
    recur_every: int | None = Field(None, ge=1, le=366)
    recur_unit: str = Field("", description="day, week or month (with recur_every).")


class FollowUpPatch(PatchSchema):
    subject: str = omitted(max_length=200)
    due_at: datetime = omitted()
    contact_id: DbId | None = omitted()
    notes: str = omitted(max_length=10000)
    owner_id: DbId = omitted()
    remind_minutes_before: int | None = omitted(ge=0, le=43200)
    recur_every: int | None = omitted(ge=1, le=366)
    recur_unit: str = omitted()


class FollowUpCompleteIn(InputSchema):
    interaction_id: DbId | None = Field(None, description="An existing interaction with the "
                                        "same customer that fulfilled it…")
    interaction: InteractionInline | None = Field(None, description="…or one recorded now.")
    done_at: datetime | None = None


class FollowUpCancelIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=300)
    stop_series: bool = Field(True, description="False: a recurring plan goes on with its "
                              "next follow-up.")


class FollowUpOut(Schema):
    id: int
    customer: Ref
    contact: Ref | None
    subject: str
    notes: str
    due_at: datetime
    state: str
    status: str = Field(..., description="planned, overdue, done or cancelled.")
    done_at: datetime | None
    fulfilled_by_id: int | None
    cancel_reason: str
    recur_every: int | None
    recur_unit: str
    previous_id: int | None
    remind_minutes_before: int | None
    remind_at: datetime | None
    owner: UserRef | None
    org_unit: Ref
    version: int
    created_at: datetime
    updated_at: datetime


class FollowUpFiltersIn(PageQuery):
    mine: bool = Field(False, description="Only follow-ups you own.")
    status: str | None = Field(None, description="open, planned, overdue, done, cancelled")
    customer_id: DbId | None = None
    owner_id: DbId | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
