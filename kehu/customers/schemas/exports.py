"""API schemas of exports."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field

from kehu.core.http import DbId, InputSchema


class CustomerExportFilters(InputSchema):
    """The customer list's filters (see GET /customers), without paging."""

    q: str = Field("", max_length=100)
    kind: str = ""
    tier: str = ""
    vip_grade: str = ""
    status: list[str] = []
    size: str = ""
    region: str = ""
    industry: str = ""
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None
    tag: str = ""
    parent_id: DbId | None = None
    quality_below: int | None = Field(None, ge=0, le=101)
    ordering: str = "-created"


class ContactExportFilters(InputSchema):
    q: str = Field("", max_length=100)
    customer_id: DbId | None = None


class ExportIn(InputSchema):
    entity: Literal["customers", "contacts"]
    format: Literal["csv", "xlsx"] = "csv"
    filters: dict[str, Any] = Field({}, description="The list's filters: for customers "
                                    "those of GET /customers (q, kind, status, region, "
                                    "org_unit_id, quality_below…), for contacts q and "
                                    "customer_id.")
    reveal_reason: str = Field("", max_length=300, description=(
        "Only for users who may reveal personal data: why the file needs unmasked ID "
        "numbers, phones and addresses. Recorded in the audit log. Leave empty for the "
        "masked file."))
