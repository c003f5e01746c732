"""Schemas of personal-data requests (PIPL): the reason every request states, what an
erasure answers, and the tenant's retention rules."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from kehu.core.http import InputSchema, stated
from kehu.customers.models import RetentionRule
from kehu.customers.services.privacy import REASON_MAX, RETENTION_YEARS


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


class RetentionReportOut(Schema):
    total: int = Field(..., ge=0, description="Records the rule makes due (interactions).")
    customers: int = Field(..., ge=0, description="Customers those records belong to.")
    cutoff: datetime | None = Field(..., description="Records dated before this are due.")
    reported_at: datetime = Field(..., description="When the dry run ran.")
    acts_from: datetime = Field(..., description=(
        "The worker's next run at or after this deletes what the report lists and is "
        "still due (a day after the dry run at the earliest)."))


class RetentionRuleOut(Schema):
    kind: str = Field(..., json_schema_extra=stated(RetentionRule.Kind.values))
    label: str
    enabled: bool = Field(..., description="false: no rule of this kind; nothing is deleted.")
    years: int | None = Field(..., ge=RETENTION_YEARS[0], le=RETENTION_YEARS[1],
                              description="Keep for this many years; null when off.")
    report: RetentionReportOut | None = Field(
        ..., description="The latest dry run; null until the worker has run one.")
    last_run_at: datetime | None = Field(..., description="The last real run.")
    last_deleted: int = Field(..., ge=0, description="What the last real run deleted.")
    version: int = Field(..., ge=0, description="0 while off; the ETag.")


class RetentionRulesOut(Schema):
    items: list[RetentionRuleOut] = Field(..., description="One per kind of rule.")


class RetentionRuleIn(InputSchema):
    years: int | None = Field(..., ge=RETENTION_YEARS[0], le=RETENTION_YEARS[1], description=(
        "Keep for this many years (1–50); null turns the rule off."))
