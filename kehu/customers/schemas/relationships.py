"""API schemas of relationships between customers and external ids."""

from __future__ import annotations

from ninja import Field, Schema

from kehu.core.http import DbId, InputSchema, stated
from kehu.customers.models import RelationshipKind


class RelationshipIn(InputSchema):
    target_id: DbId
    kind: str = Field(..., json_schema_extra=stated(RelationshipKind.values))
    note: str = Field("", max_length=200)


class RelationshipOut(Schema):
    id: int
    source_id: int
    target_id: int
    kind: str
    note: str


class ExternalIdIn(InputSchema):
    # Required: blank (after trimming) is refused.
    system: str = Field(..., max_length=50, json_schema_extra=stated(pattern=r"\S"))
    external_id: str = Field(..., max_length=100, json_schema_extra=stated(pattern=r"\S"))


class ExternalIdOut(Schema):
    id: int
    customer_id: int
    system: str
    external_id: str
