"""API schemas of contacts. Phones leave masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from kehu.core import pii, references
from kehu.core.http import (
    Day,
    DbId,
    InputSchema,
    PageQuery,
    PatchSchema,
    Searchable,
    current_user,
    omitted,
    stated,
)
from kehu.core.schemas.references import RecordRef
from kehu.customers.models import DecisionRole
from kehu.customers.schemas.common import PhoneIn, PhoneOut, Ref, UserRef


class LinkIn(InputSchema):
    title: str = Field("", max_length=100)
    department: str = Field("", max_length=100)
    decision_role: str = Field("", json_schema_extra=stated(["", *DecisionRole.values]))
    is_primary: bool = False


class ContactIn(InputSchema):
    name: str = Field(..., max_length=100)
    gender: str = ""
    phones: list[str | PhoneIn] = []
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=100)
    preferred_channel: str = ""
    birthday: Day | None = None
    tags: list[str] = []
    notes: str = Field("", max_length=10000)
    customer_id: DbId | None = None
    link: LinkIn | None = None


class ContactPatch(PatchSchema):
    name: str = omitted(max_length=100)
    gender: str = omitted()
    phones: list[str | PhoneIn] = omitted()
    email: str = omitted(max_length=254)
    wechat: str = omitted(max_length=100)
    preferred_channel: str = omitted()
    birthday: Day | None = omitted()
    tags: list[str] = omitted()
    notes: str = omitted(max_length=10000)


class ContactLinkIn(LinkIn):
    customer_id: DbId


class ContactLinkOut(Schema):
    customer: RecordRef
    title: str
    department: str
    decision_role: str
    is_primary: bool


class ContactOut(Schema):
    id: int
    name: str
    gender: str
    phones: list[PhoneOut]
    email: str = Field(..., description="Masked: zh***@example.com.")
    wechat: str
    preferred_channel: str
    birthday: date | None
    tags: list[str]
    notes: str
    customers: list[ContactLinkOut] = Field(
        ..., description="The contact's places at customers you may see.")
    hidden_customers: int = Field(
        ..., description="How many other customers the contact is linked to: not named.")
    owner: UserRef | None
    org_unit: Ref
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phones(obj: Any) -> list[dict[str, Any]]:
        return pii.mask_phone_list(obj.phones)

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return str(pii.mask("email", obj.email))

    @staticmethod
    def resolve_customers(obj: Any, context: Any) -> list[Any]:
        return _links(obj, context)[0]

    @staticmethod
    def resolve_hidden_customers(obj: Any, context: Any) -> int:
        return _links(obj, context)[1]


def _links(contact: Any, context: Any) -> tuple[list[Any], int]:
    """The contact's links split by whether the viewer may see their customer."""
    return references.split(current_user(context["request"]), contact.customer_links.all(),
                            lambda link: link.customer)


class ContactFiltersIn(PageQuery, Searchable):
    q: str = Field("", max_length=100, description="Name, phone or email.")
    customer_id: DbId | None = None


class ContactRevealIn(InputSchema):
    field: str = Field("phones", description="phones or email",
                       json_schema_extra=stated(["phones", "email"]))
    reason: str = Field(..., max_length=300, json_schema_extra=stated(minLength=1))
