"""API schemas of relationships between customers and external ids."""

from __future__ import annotations

from ninja import Field, Schema

from kehu.core.http import DbId, InputSchema


class RelationshipIn(InputSchema):
    target_id: DbId
    kind: str
    note: str = Field("", max_length=200)


class RelationshipOut(Schema):
    id: int
    source_id: int
    target_id: int
    kind: str
    note: str


class ExternalIdIn(InputSchema):
    system: str = Field(..., max_length=50)
    external_id: str = Field(..., max_length=100)


class ExternalIdOut(Schema):
    id: int
    customer_id: int
    system: str
    external_id: str
