"""Org unit schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from kehu.core.http import DbId, InputSchema, PageQuery, PatchSchema, Searchable, omitted

Kind = Literal["group", "province", "city", "team", "other"]


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


class OrgUnitFilters(PageQuery, Searchable):
    under: DbId | None = omitted(description="Only this unit and its sub-units.")
    q: str = Field("", max_length=100, description="Part of the name or code.")
    active: bool | None = omitted(description="true: active only; false: inactive only.")
    ordering: Literal["path", "name", "-name", "id", "-id", "created_at", "-created_at"] = (
        "path"
    )
