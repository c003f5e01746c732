"""API schemas of follow-up plans."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from kehu.activities.models import RecurUnit
from kehu.activities.schemas.interactions import InteractionInline, Ref, UserRef
from kehu.core.http import DbId, InputSchema, Moment, PageQuery, PatchSchema, omitted, stated
from kehu.core.schemas.references import RecordRef, ref_resolver

RECUR_UNITS = stated(["", *RecurUnit.values])


class FollowUpIn(InputSchema):
    customer_id: DbId
    subject: str = Field(..., max_length=200)
    due_at: Moment
    contact_id: DbId | None = None
    notes: str = Field("", max_length=10000)
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None
    remind_minutes_before: int | None = Field(
        None, ge=0, le=43200, description="Default: the owner's reminder lead; send null "
        "with `no_reminder` for none.")
    no_reminder: bool = False
    recur_every: int | None = Field(None, ge=1, le=366)
    recur_unit: str = Field("", description="day, week or month (with recur_every).",
                            json_schema_extra=RECUR_UNITS)


class FollowUpPatch(PatchSchema):
    subject: str = omitted(max_length=200)
    due_at: Moment = omitted()
    contact_id: DbId | None = omitted()
    notes: str = omitted(max_length=10000)
    owner_id: DbId = omitted()
    remind_minutes_before: int | None = omitted(ge=0, le=43200)
    recur_every: int | None = omitted(ge=1, le=366)
    recur_unit: str = omitted(json_schema_extra=RECUR_UNITS)


class FollowUpCompleteIn(InputSchema):
    interaction_id: DbId | None = Field(None, description="An existing interaction with the "
                                        "same customer that fulfilled it…")
    interaction: InteractionInline | None = Field(None, description="…or one recorded now.")
    done_at: Moment | None = None


class FollowUpCancelIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=300)
    stop_series: bool = Field(True, description="False: a recurring plan goes on with its "
                              "next follow-up.")


class FollowUpOut(Schema):
    id: int
    customer: RecordRef
    contact: RecordRef | None
    subject: str
    notes: str
    due_at: datetime
    state: str

    resolve_customer = staticmethod(ref_resolver("customer"))
    resolve_contact = staticmethod(ref_resolver("contact"))
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
    due_from: Moment | None = None
    due_to: Moment | None = None
