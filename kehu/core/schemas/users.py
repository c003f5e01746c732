"""User schemas. A user's phone is masked unless the viewer may reveal personal
data (``users.reveal_pii``) or is that user."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kehu.core import access, pii
from kehu.core.http import (
    DbId,
    InputSchema,
    PageQuery,
    PatchSchema,
    Searchable,
    omitted,
    stated,
)
from kehu.core.schemas.org import OrgUnitRef
from kehu.core.schemas.roles import RoleRef

Language = Literal["zh-hans", "en"]


def _viewer(context: Any) -> Any:
    request = (context or {}).get("request")
    return getattr(request, "auth", None) if request is not None else None


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    phone: str = Field(..., description="Masked unless you may reveal personal data.")
    language: str
    org_unit: OrgUnitRef
    roles: list[RoleRef]
    is_active: bool
    is_locked: bool
    totp_enabled: bool
    last_login: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        viewer = _viewer(context)
        if viewer is not None and (
            viewer.pk == obj.pk or access.allows(viewer, obj, "reveal_pii")
        ):
            return str(obj.phone)
        return str(pii.mask("phone", obj.phone))

    @staticmethod
    def resolve_roles(obj: Any) -> list[Any]:
        return list(obj.roles.all())

    @staticmethod
    def resolve_is_locked(obj: Any) -> bool:
        return bool(obj.is_locked())


class UserCreatedOut(UserOut):
    initial_password: str | None = Field(
        None, description="The generated password, shown this once; null when you set one."
    )


class PasswordResetOut(Schema):
    id: int
    version: int
    password: str = Field(..., description="The new password, shown this once.")


# The shapes kehu.core.phones accepts for a user (no extension), stated for clients.
PHONE_PATTERN = r"^$|^1[3-9][0-9]{9}$|^0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}$"


class UserIn(InputSchema):
    email: str = Field(..., max_length=254, json_schema_extra=stated(format="email"))
    full_name: str = Field(..., max_length=100)
    org_unit_id: DbId
    role_ids: list[DbId] = Field(..., max_length=100)
    password: str | None = Field(
        None, max_length=200, description="Leave out to have one generated and shown once.",
        json_schema_extra=stated(minLength=10),
    )
    phone: str = Field("", max_length=30, description="A mainland mobile or landline number.",
                       json_schema_extra=stated(pattern=PHONE_PATTERN))
    language: Language = "zh-hans"


class UserPatch(PatchSchema):
    full_name: str = omitted(max_length=100)
    phone: str = omitted(max_length=30, description="A mainland mobile or landline number.",
                         json_schema_extra=stated(pattern=PHONE_PATTERN))
    language: Language = omitted()
    org_unit_id: DbId = omitted()
    role_ids: list[DbId] = omitted(max_length=100)
    is_active: bool = omitted()


class UserFilters(PageQuery, Searchable):
    org_unit: DbId | None = omitted(description="Users of this unit and its sub-units.")
    q: str = Field("", max_length=100, description="Part of the name or email.")
    active: bool | None = None
    role: DbId | None = omitted(description="Users holding this role.")
    ordering: Literal[
        "id", "-id", "full_name", "-full_name", "email", "-email", "created_at", "-created_at"
    ] = "id"
