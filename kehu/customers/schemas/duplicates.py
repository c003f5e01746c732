"""API schemas of the duplicate review and merge. Sensitive fields leave masked."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from kehu.core import pii
from kehu.core.http import MAX_ID, DbId, InputSchema
from kehu.customers import reference


class MergeIn(InputSchema):
    survivor_id: DbId = Field(..., description="The customer that stays.")
    loser_id: DbId = Field(..., description="The customer merged into it (kept as a "
                           "tombstone that redirects).")
    survivor_version: int | None = Field(None, ge=0, le=MAX_ID, description=(
        "The versions you saw (ETags): 412 if either changed since."))
    loser_version: int | None = Field(None, ge=0, le=MAX_ID)




class DuplicateCustomerOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    uscc: str
    id_number: str = Field(..., alias="id_number_masked", description="Masked.")
    phones: list[str] = Field(..., description="Masked.")
    region_name: str
    owner: str
    org_unit: str
    version: int

    @staticmethod
    def resolve_phones(obj: Any) -> list[str]:
        return [p["number"] for p in pii.mask_phone_list(obj.phones)]

    @staticmethod
    def resolve_region_name(obj: Any) -> str:
        found = reference.region(obj.region) if obj.region else None
        return found.full_name if found else ""

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return obj.owner.full_name if obj.owner else ""

    @staticmethod
    def resolve_org_unit(obj: Any) -> str:
        return str(obj.org_unit.name)


class DuplicatePairOut(Schema):
    a: DuplicateCustomerOut
    b: DuplicateCustomerOut
    score: int = Field(..., description="0–100: how sure the finder is.")
    reasons: list[str] = Field(..., description="uscc, id_number, phone, name")
    reason_labels: list[str]
