"""API schemas of the customer and contact search. Sensitive fields leave masked."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from kehu.core import pii
from kehu.core.http import Searchable
from kehu.core.http.inputs import stated
from kehu.customers import matches
from kehu.customers.selectors.search import COUNT_CAP


class SearchQuery(Searchable):
    q: str = Field(..., max_length=100, description="Search text (or send it as `search`).")
    limit: int = Field(20, ge=1, le=50)


class MatchOut(Schema):
    """Why a hit was found. Masked values stay masked: a phone shows its mask and marks
    only visible digits; ID numbers and e-mail addresses are shown masked, unmarked."""

    field: str = Field(..., description="The field that matched.",
                       json_schema_extra=stated(matches.FIELDS))
    label: str = Field(..., description="The field's name in the user's language.")
    how: str = Field(..., description="exact, starts (with the query), ends (a phone "
                     "ending with the digits searched) or contains.",
                     json_schema_extra=stated(matches.HOWS))
    how_label: str = Field(..., description="`how` in the user's language.")
    html: str = Field(..., description="The field's (masked) value as escaped HTML, the "
                      "matched part in <mark>; empty when the value is not shown.")


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
    match: MatchOut

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
    match: MatchOut

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return pii.mask_phone(obj.phones[0]["number"]) if obj.phones else ""


_COUNTED = f"counted up to {COUNT_CAP:,}"


class SearchOut(Schema):
    customers: list[CustomerHit] = Field(..., description="Best first.")
    contacts: list[ContactHit] = Field(..., description="Best first.")
    customers_count: int = Field(..., ge=0, le=COUNT_CAP,
                                 description=f"How many customers matched, {_COUNTED}.")
    customers_count_capped: bool = Field(..., description=(
        f"True when more than `customers_count` matched (shown as \"{COUNT_CAP:,}+\")."))
    contacts_count: int = Field(..., ge=0, le=COUNT_CAP,
                                description=f"How many contacts matched, {_COUNTED}.")
    contacts_count_capped: bool = Field(..., description=(
        "True when more than `contacts_count` matched."))
