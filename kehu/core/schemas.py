"""Ninja schemas for core: input bodies (unknown fields rejected) and outputs.

Output schemas mask personal data: a user's phone is masked unless the viewer may reveal
personal data (``users.reveal_pii``) or is that user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kehu.core import access, pii
from kehu.core.http import DbId, InputSchema, PageQuery, PatchSchema, omitted

Kind = Literal["group", "province", "city", "team", "other"]
Language = Literal["zh-hans", "en"]
DataScope = Literal["own", "unit", "subtree", "tenant"]

# Lengths match the model columns, so over-long input is a 422, never a database error.
Password = Field(..., min_length=1, max_length=200)


def _viewer(context: Any) -> Any:
    request = (context or {}).get("request")
    return getattr(request, "auth", None) if request is not None else None


# ---------------------------------------------------------------------------- outputs


class TenantOut(Schema):
    id: int
    name: str


class OrgUnitRef(Schema):
    id: int
    name: str


class OrgUnitOut(Schema):
    id: int
    parent_id: int | None
    name: str
    code: str
    kind: str
    path: str
    depth: int
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class RoleRef(Schema):
    id: int
    name: str
    display_name: str = Field(..., description="The name in your language (built-in roles).")


class RoleOut(Schema):
    id: int
    name: str
    display_name: str = Field(..., description="The name in your language (built-in roles).")
    description: str
    display_description: str
    builtin: bool
    builtin_key: str
    permissions: list[str] = Field(..., description="Effective permissions, e.g. org.view.")
    data_scope: str
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_builtin(obj: Any) -> bool:
        return bool(obj.is_builtin)

    @staticmethod
    def resolve_permissions(obj: Any) -> list[str]:
        return sorted(obj.effective_permissions())


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


class MeOut(UserOut):
    tenant: TenantOut
    permissions: dict[str, str] = Field(
        ..., description="Each permission you hold and its widest data scope."
    )

    @staticmethod
    def resolve_permissions(obj: Any) -> dict[str, str]:
        return dict(sorted(access.grants(obj).items()))


class SignupOut(Schema):
    tenant: TenantOut
    user: UserOut


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    version: int


class TokenCreatedOut(Schema):
    token: str | None = Field(..., description="The bearer token, shown this once.")
    id: int
    name: str
    prefix: str
    expires_at: datetime | None
    version: int


class PermissionOut(Schema):
    permission: str
    module: str
    module_label: str
    action: str
    label: str


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor_id: int | None
    actor_label: str
    org_unit_id: int | None
    action: str
    action_label: str = Field(..., description="The action in the reader's language.")
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    request_id: str
    ip: str | None


# ---------------------------------------------------------------------------- auth inputs


class SignupIn(InputSchema):
    company_name: str = Field(..., max_length=200)
    admin_name: str = Field(..., max_length=100)
    email: str = Field(..., max_length=254)
    password: str = Password
    phone: str = Field("", max_length=30)
    language: Language = "zh-hans"


class TokenIn(InputSchema):
    email: str = Field(..., max_length=254)
    password: str = Password
    totp_code: str | None = omitted(max_length=10)
    name: str | None = omitted(max_length=100)
    expires_at: datetime | None = None


class ProfilePatch(PatchSchema):
    full_name: str = omitted(max_length=100)
    phone: str = omitted(max_length=30)
    language: Language = omitted()
    current_password: str = omitted(max_length=200)
    new_password: str = omitted(max_length=200)


# ---------------------------------------------------------------------------- org units


class OrgUnitIn(InputSchema):
    parent_id: DbId
    name: str = Field(..., max_length=100)
    kind: Kind = "other"
    code: str = Field("", max_length=50)


class OrgUnitPatch(PatchSchema):
    name: str = omitted(max_length=100)
    code: str = omitted(max_length=50)
    kind: Kind = omitted()
    is_active: bool = omitted()


class OrgUnitMoveIn(InputSchema):
    parent_id: DbId


class OrgUnitFilters(PageQuery):
    under: DbId | None = omitted(description="Only this unit and its sub-units.")
    search: str = Field("", max_length=100, description="Part of the name or code.")
    active: bool | None = omitted(description="true: active only; false: inactive only.")
    ordering: Literal["path", "name", "-name", "id", "-id", "created_at", "-created_at"] = (
        "path"
    )


# ---------------------------------------------------------------------------- users


class UserIn(InputSchema):
    email: str = Field(..., max_length=254)
    full_name: str = Field(..., max_length=100)
    org_unit_id: DbId
    role_ids: list[DbId] = Field(..., max_length=100)
    password: str | None = Field(
        None, max_length=200, description="Leave out to have one generated and shown once."
    )
    phone: str = Field("", max_length=30)
    language: Language = "zh-hans"


class UserPatch(PatchSchema):
    full_name: str = omitted(max_length=100)
    phone: str = omitted(max_length=30)
    language: Language = omitted()
    org_unit_id: DbId = omitted()
    role_ids: list[DbId] = omitted(max_length=100)
    is_active: bool = omitted()


class UserFilters(PageQuery):
    org_unit: DbId | None = omitted(description="Users of this unit and its sub-units.")
    search: str = Field("", max_length=100, description="Part of the name or email.")
    active: bool | None = None
    role: DbId | None = omitted(description="Users holding this role.")
    ordering: Literal[
        "id", "-id", "full_name", "-full_name", "email", "-email", "created_at", "-created_at"
    ] = "id"


# ---------------------------------------------------------------------------- roles


class RoleIn(InputSchema):
    name: str = Field(..., max_length=100)
    description: str = Field("", max_length=300)
    permissions: list[str] = Field(..., max_length=1000)
    data_scope: DataScope


class RolePatch(PatchSchema):
    name: str = omitted(max_length=100)
    description: str = omitted(max_length=300)
    permissions: list[str] = omitted(max_length=1000)
    data_scope: DataScope = omitted()


class RoleFilters(PageQuery):
    builtin: bool | None = omitted(description="true: built-in only; false: custom only.")
    ordering: Literal["id", "-id", "name", "-name"] = "id"


# ---------------------------------------------------------------------------- audit


class AuditFilters(PageQuery):
    actor: DbId | None = omitted(description="The acting user's id.")
    object_type: str = Field("", max_length=50)
    object_id: str = Field("", max_length=50)
    action: str = Field(
        "", max_length=50, description="An action, or a family of them ending in “.” (“user.”)."
    )
    since: datetime | None = omitted(description="At or after this time.")
    until: datetime | None = omitted(description="Before this time.")


class TokenFilters(PageQuery):
    pass


class PermissionFilters(PageQuery):
    limit: int = Field(500, ge=1, le=500)
