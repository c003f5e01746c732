"""API schemas of the customer and contact search. Sensitive fields leave masked."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from kehu.core import pii
from kehu.core.http import Searchable


class SearchQuery(Searchable):
    q: str = Field(..., max_length=100, description="Search text (or send it as `search`).")
    limit: int = Field(20, ge=1, le=50)


class CustomerHit(Schema):
    id: int
    name: str
    short_name: str
    code: str
    kind: str
    status: str
    phone: str = Field(..., description="The first phone, masked.")
    owner: str
    org_unit: str

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return pii.mask_phone(obj.phones[0]["number"]) if obj.phones else ""

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return obj.owner.full_name if obj.owner else ""

    @staticmethod
    def resolve_org_unit(obj: Any) -> str:
        return obj.org_unit.name


class ContactHit(Schema):
    id: int
    name: str
    phone: str

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return pii.mask_phone(obj.phones[0]["number"]) if obj.phones else ""


class SearchOut(Schema):
    customers: list[CustomerHit]
    contacts: list[ContactHit]
