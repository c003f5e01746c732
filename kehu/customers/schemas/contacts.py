"""API schemas of contacts. Phones leave masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from kehu.core import pii
from kehu.core.http import InputSchema, PageQuery, PatchSchema, omitted, stated
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
    birthday: date | None = None
    tags: list[str] = []
    notes: str = Field("", max_length=10000)
    customer_id: int | None = None
    link: LinkIn | None = None


class ContactPatch(PatchSchema):
    name: str = omitted(max_length=100)
    gender: str = omitted()
    phones: list[str | PhoneIn] = omitted()
    email: str = omitted(max_length=254)
    wechat: str = omitted(max_length=100)
    preferred_channel: str = omitted()
    birthday: date | None = omitted()
    tags: list[str] = omitted()
    notes: str = omitted(max_length=10000)


class ContactLinkIn(LinkIn):
    customer_id: int


class ContactLinkOut(Schema):
    customer: Ref
    title: str
    department: str
    decision_role: str
    is_primary: bool


class ContactOut(Schema):
    id: int
    name: str
    gender: str
    phones: list[PhoneOut]
    email: str
    wechat: str
    preferred_channel: str
    birthday: date | None
    tags: list[str]
    notes: str
    customers: list[ContactLinkOut]
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
    def resolve_customers(obj: Any) -> list[Any]:
        return list(obj.customer_links.all())


class ContactFiltersIn(PageQuery):
    q: str = Field("", max_length=100)
    customer_id: int | None = None


class ContactRevealIn(InputSchema):
    reason: str = Field(..., max_length=300)
