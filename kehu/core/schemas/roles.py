"""Role and permission schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kehu.core.http import InputSchema, PageQuery, PatchSchema, omitted

DataScope = Literal["own", "unit", "subtree", "tenant"]


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


class PermissionOut(Schema):
    permission: str
    module: str
    module_label: str
    action: str
    label: str


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


class PermissionFilters(PageQuery):
    limit: int = Field(500, ge=1, le=500)
