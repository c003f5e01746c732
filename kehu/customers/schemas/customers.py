"""API schemas of customers. Sensitive fields leave masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from kehu.core import pii
from kehu.core.http import (
    CleanText,
    DbId,
    InputSchema,
    PageQuery,
    PatchSchema,
    Searchable,
    omitted,
    stated,
)
from kehu.customers import reference
from kehu.customers.models import Kind, Size, Status, Tier, VipGrade
from kehu.customers.schemas.common import AddressIn, AddressOut, PhoneIn, PhoneOut, Ref, UserRef
from kehu.customers.schemas.relationships import ExternalIdOut

KINDS = stated(Kind.values)
SIZES = stated(["", *Size.values])
TIERS = stated(["", *Tier.values])
VIP_GRADES = stated(VipGrade.values)
STATUSES = stated(["", *Status.values])


class CustomerIn(InputSchema):
    kind: str = Field("enterprise", description="enterprise, government or individual",
                      json_schema_extra=KINDS)
    name: str = Field(..., max_length=200)
    short_name: str = Field("", max_length=100)
    code: str = Field("", max_length=50, description="Generated when empty; admins may set.")
    uscc: str = Field("", max_length=40, description="Unified social credit code.")
    id_number: str = Field("", max_length=40, description="Resident ID number (individuals).")
    industry: str = Field("", max_length=100, description="GB/T 4754 section or division.")
    region: str = Field("", max_length=100, description="Administrative division code.")
    size: str = Field("", json_schema_extra=SIZES)
    addresses: list[AddressIn] = []
    phones: list[str | PhoneIn] = []
    emails: list[str] = []
    website: str = Field("", max_length=200)
    tier: str = Field("ordinary", json_schema_extra=TIERS)
    vip_grade: str = Field("", json_schema_extra=VIP_GRADES)
    status: str = Field("potential", json_schema_extra=STATUSES)
    consent: dict[str, bool] = {}
    tags: list[str] = []
    notes: str = Field("", max_length=10000)
    parent_id: DbId | None = None
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None


class CustomerPatch(PatchSchema):
    kind: str = omitted(json_schema_extra=KINDS)
    name: str = omitted(max_length=200)
    short_name: str = omitted(max_length=100)
    code: str = omitted(max_length=50)
    uscc: str = omitted(max_length=40)
    id_number: str = omitted(max_length=40)
    industry: str = omitted(max_length=100)
    region: str = omitted(max_length=100)
    size: str = omitted(json_schema_extra=SIZES)
    addresses: list[AddressIn] = omitted()
    phones: list[str | PhoneIn] = omitted()
    emails: list[str] = omitted()
    website: str = omitted(max_length=200)
    tier: str = omitted(json_schema_extra=TIERS)
    vip_grade: str = omitted(json_schema_extra=VIP_GRADES)
    consent: dict[str, bool] = omitted()
    tags: list[str] = omitted()
    notes: str = omitted(max_length=10000)
    parent_id: DbId | None = omitted()


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    short_name: str
    code: str
    uscc: str
    id_number: str = Field(..., alias="id_number_masked", description="Masked.")
    industry: str
    industry_label: str
    region: str
    region_name: str
    size: str
    addresses: list[AddressOut]
    phones: list[PhoneOut]
    emails: list[str] = Field(..., description="Masked: zh***@example.com.")
    website: str
    tier: str
    vip_grade: str
    status: str
    status_changed_at: datetime
    consent: dict[str, bool]
    tags: list[str]
    notes: str
    parent_id: int | None
    owner: UserRef | None
    org_unit: Ref
    quality_score: int
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_industry_label(obj: Any) -> str:
        found = reference.industry(obj.industry) if obj.industry else None
        return found.label if found else ""

    @staticmethod
    def resolve_region_name(obj: Any) -> str:
        found = reference.region(obj.region) if obj.region else None
        return found.full_name if found else ""

    @staticmethod
    def resolve_addresses(obj: Any) -> list[dict[str, Any]]:
        return pii.mask_address_list(obj.addresses)

    @staticmethod
    def resolve_phones(obj: Any) -> list[dict[str, Any]]:
        return pii.mask_phone_list(obj.phones)

    @staticmethod
    def resolve_emails(obj: Any) -> list[str]:
        return pii.mask_email_list(obj.emails)

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())


class CustomerFiltersIn(PageQuery, Searchable):
    q: str = Field("", max_length=100, description="Name, pinyin, phone, code…")
    kind: str = ""
    tier: str = ""
    vip_grade: str = ""
    status: list[str] = Field([], description="Repeat for several.")
    size: str = ""
    region: str = Field("", description="A province or city covers everything below it.")
    industry: str = Field("", description="A section letter covers its divisions.")
    owner_id: DbId | None = None
    org_unit_id: DbId | None = Field(None, description="The unit and its whole subtree.")
    tag: str = ""
    parent_id: DbId | None = None
    quality_below: int | None = Field(None, ge=0, le=101)
    ordering: str = "-created"


class StatusIn(InputSchema):
    status: str = Field(..., json_schema_extra=stated(Status.values))
    reason: str = Field("", max_length=300)


class TransferIn(InputSchema):
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None
    reason: str = Field(..., max_length=300)


class BulkIn(InputSchema):
    customer_ids: list[DbId] = Field(..., max_length=1000)
    action: str = Field(..., description="tag, untag, status or transfer",
                        json_schema_extra=stated(["tag", "untag", "status", "transfer"]))
    tags: list[str] = []
    status: str = Field("", json_schema_extra=STATUSES)
    reason: str = Field("", max_length=300)
    owner_id: DbId | None = None
    org_unit_id: DbId | None = None


class BulkOut(Schema):
    changed: list[int]
    skipped: list[int] = Field(..., description="Ids you may not change (or that do not "
                                                "exist): left untouched.")


class RevealIn(InputSchema):
    field: str = Field(..., description="id_number, phones, emails or addresses",
                       json_schema_extra=stated(["id_number", "phones", "emails", "addresses"]))
    reason: str = Field(..., max_length=300, json_schema_extra=stated(minLength=1))


class RevealOut(Schema):
    field: str
    value: Any




class LookupQuery(CleanText, Schema):
    # NUL refused (422): PostgreSQL cannot compare text holding it (the fuzzer found it).
    system: str = Field(..., max_length=50)
    external_id: str = Field(..., max_length=100)


# ---------------------------------------------------------------------------- view


class HistoryOut(Schema):
    at: datetime
    actor: str
    detail: dict[str, Any]


class CustomerViewOut(Schema):
    profile: CustomerOut
    hierarchy: dict[str, Any]
    relationships: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    ownership_history: list[dict[str, Any]]
    status_history: list[dict[str, Any]]
    external_ids: list[ExternalIdOut]
    quality: dict[str, Any]
    panels: dict[str, Any] = Field(..., description="Contributed by other apps, by key.")
