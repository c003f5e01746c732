"""Schemas of personal-data requests (PIPL): the reason every request states, and what an
erasure answers."""

from __future__ import annotations

from ninja import Field, Schema

from kehu.core.http import InputSchema, stated
from kehu.customers.services.privacy import REASON_MAX


class PersonalDataRequestIn(InputSchema):
    reason: str = Field(..., max_length=REASON_MAX, json_schema_extra=stated(minLength=1),
                        description="Why: the person's request, its reference or the legal "
                                    "ground; kept in the audit log.")


class PersonalDataErasedOut(Schema):
    type: str = Field(..., description="customer or contact",
                      json_schema_extra=stated(["customer", "contact"]))
    id: int
    name: str = Field(..., description="The anonymised name the record keeps.")
    version: int
