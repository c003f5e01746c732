"""Audit event schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kehu.core.http import DbId, Moment, PageQuery, omitted


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


class AuditFilters(PageQuery):
    actor: DbId | None = omitted(description="The acting user's id.")
    object_type: str = Field("", max_length=50)
    object_id: str = Field("", max_length=50)
    action: str = Field(
        "", max_length=50, description="An action, or a family of them ending in “.” (“user.”)."
    )
    since: Moment | None = omitted(description="At or after this time.")
    until: Moment | None = omitted(description="Before this time.")
