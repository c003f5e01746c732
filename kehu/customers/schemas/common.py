"""API schemas shared by customers and contacts: references, phones, addresses."""

from __future__ import annotations

from ninja import Field, Schema

from kehu.core.http import InputSchema, stated
from kehu.customers.models import AddressKind


class Ref(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class PhoneIn(InputSchema):
    number: str = Field(..., max_length=40)
    kind: str | None = None
    ext: str | None = Field(None, max_length=10)


class PhoneOut(Schema):
    number: str = Field(..., description="Masked: 138****5678.")
    kind: str
    ext: str = ""


class AddressIn(InputSchema):
    kind: str = Field("registered", json_schema_extra=stated(AddressKind.values))
    text: str = Field(..., max_length=300)


class AddressOut(Schema):
    kind: str
    text: str = Field(..., description="Masked.")
