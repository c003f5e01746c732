"""Sign-up (request and confirmation) and token exchange schemas."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from kehu.core.http import InputSchema, Moment, omitted, stated
from kehu.core.schemas.users import Language, UserOut

# Lengths match the model columns, so over-long input is a 422, never a database error.
Password = Field(..., min_length=1, max_length=200)


class TenantOut(Schema):
    id: int
    name: str


class SignupOut(Schema):
    tenant: TenantOut
    user: UserOut


class SignupAcceptedOut(Schema):
    detail: str
    email: str


class SignupConfirmIn(InputSchema):
    token: str = Field(..., min_length=1, max_length=80)


class TokenCreatedOut(Schema):
    token: str | None = Field(..., description="The bearer token, shown this once.")
    id: int
    name: str
    prefix: str
    expires_at: datetime | None
    version: int


class SignupIn(InputSchema):
    company_name: str = Field(..., max_length=200)
    admin_name: str = Field(..., max_length=100)
    email: str = Field(..., max_length=254, json_schema_extra=stated(format="email"))
    password: str = Password
    phone: str = Field("", max_length=30)
    language: Language = "zh-hans"


class TokenIn(InputSchema):
    email: str = Field(..., max_length=254)
    password: str = Password
    totp_code: str | None = omitted(max_length=20)
    name: str | None = omitted(max_length=100)
    expires_at: Moment | None = None
