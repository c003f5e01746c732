"""API schemas of interactions (the inline one and the refs serve follow-ups too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kehu.activities.models import Channel, Direction, InteractionKind
from kehu.core import references
from kehu.core.http import (
    DbId,
    InputSchema,
    Moment,
    PageQuery,
    PatchSchema,
    Searchable,
    current_user,
    omitted,
    stated,
)
from kehu.core.schemas.references import RecordRef, ref_resolver

KINDS = stated(InteractionKind.values)
DIRECTIONS = stated(Direction.values)
CHANNELS = stated(Channel.values)


class Ref(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class InteractionIn(InputSchema):
    customer_id: DbId
    kind: str = Field(..., description="call, visit, meeting, email, sms, wechat, note, other",
                      json_schema_extra=KINDS)
    direction: str = Field("outbound", description="outbound, inbound, internal",
                           json_schema_extra=DIRECTIONS)
    channel: str = Field("phone", description="phone, face_to_face, email, sms, wechat, web, "
                         "call_center, mobile_app, store, other", json_schema_extra=CHANNELS)
    occurred_at: Moment | None = Field(None, description="Default: now.")
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
    kind: str = omitted(json_schema_extra=KINDS)
    direction: str = omitted(json_schema_extra=DIRECTIONS)
    channel: str = omitted(json_schema_extra=CHANNELS)
    occurred_at: Moment = omitted()
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
    customer: RecordRef
    contacts: list[RecordRef]
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

    resolve_customer = staticmethod(ref_resolver("customer"))

    @staticmethod
    def resolve_contacts(obj: Any, context: Any) -> list[Any]:
        return references.refs(current_user(context["request"]), obj.contacts.all())

    @staticmethod
    def resolve_participants(obj: Any) -> list[Any]:
        return list(obj.participants.all())

    @staticmethod
    def resolve_document_count(obj: Any) -> int:
        return int(getattr(obj, "document_count", 0) or 0)


class InteractionFiltersIn(PageQuery, Searchable):
    customer_id: DbId | None = None
    contact_id: DbId | None = None
    kind: str | None = Field(None, description="One interaction type.")
    owner_id: DbId | None = None
    org_unit_id: DbId | None = Field(None, description="This unit and the units below it.")
    start: Moment | None = Field(None, description="Occurred at or after.")
    end: Moment | None = Field(None, description="Occurred before.")
    q: str = Field("", max_length=100, description="Part of the subject.")


class InteractionInline(InputSchema):
    """The interaction recorded while completing a follow-up (customer: the follow-up's)."""

    kind: str = Field(..., json_schema_extra=KINDS)
    direction: str = Field("outbound", json_schema_extra=DIRECTIONS)
    channel: str = Field("phone", json_schema_extra=CHANNELS)
    occurred_at: Moment | None = None
    duration_minutes: int | None = Field(None, ge=0, le=10080)
    subject: str = Field("", max_length=200, description="Default: the follow-up's.")
    content: str = Field("", max_length=20000)
    outcome: str = Field("", max_length=500)
    next_step: str = Field("", max_length=500)
    contact_ids: list[DbId] | None = Field(None, max_length=50,
                                           description="Default: the follow-up's contact.")
    participant_ids: list[DbId] = Field([], max_length=50)


