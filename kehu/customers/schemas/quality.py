"""API schemas of the data-quality report."""

from __future__ import annotations

from ninja import Field, Schema


class UnitQualityOut(Schema):
    org_unit_id: int
    org_unit_name: str = Field(..., alias="org_unit__name")
    customers: int
    average: float


class FieldQualityOut(Schema):
    key: str
    label: str
    missing: int
    share: int = Field(..., description="Percent of customers missing it.")
    weight: int


class QualityReportOut(Schema):
    customers: int
    average: int
    by_unit: list[UnitQualityOut]
    fields: list[FieldQualityOut]
