"""The signed-in user's own schemas: who am I, profile changes, API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kehu.core import access
from kehu.core.http import PageQuery, PatchSchema, omitted
from kehu.core.schemas.auth import TenantOut
from kehu.core.schemas.users import Language, UserOut


class MeOut(UserOut):
    tenant: TenantOut
    permissions: dict[str, str] = Field(
        ..., description="Each permission you hold and its widest data scope."
    )

    tokens_revoked: int | None = Field(
        None, description="After a password change: how many of your API tokens were "
        "revoked (null otherwise).")

    @staticmethod
    def resolve_permissions(obj: Any) -> dict[str, str]:
        return dict(sorted(access.grants(obj).items()))


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    version: int


class ProfilePatch(PatchSchema):
    full_name: str = omitted(max_length=100)
    phone: str = omitted(max_length=30)
    language: Language = omitted()
    current_password: str = omitted(max_length=200)
    new_password: str = omitted(max_length=200)


class TokenFilters(PageQuery):
    pass
