"""Ninja schemas of documents."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from kehu.core.http import DbId, PageQuery
from kehu.core.schemas.references import RecordRef


class DocumentOut(Schema):
    id: int
    target_type: str = Field(description="The kind of record it is attached to, e.g. "
                                         "`customers.customer`.")
    target_id: int | None = Field(description="The id of that record; null when it is one "
                                              "you may not see.")
    target: RecordRef | None = Field(description="That record, named when you may see it, "
                                     "else redacted; null when it no longer exists.")
    # The same record under its kind's name (the shape from before any record could
    # carry files); null under the other names.
    customer_id: int | None
    contact_id: int | None
    interaction_id: int | None
    file_name: str
    content_type: str = Field(description="Decided by the server from the file's content.")
    size: int = Field(description="Bytes.")
    sha256: str
    description: str
    is_image: bool
    owner_id: int | None
    org_unit_id: int
    uploaded_by_id: int | None
    created_at: dt.datetime
    version: int
    download_url: str = Field(description="API path of the file (an attachment download).")


class DocumentFiltersIn(PageQuery):
    target_type: str | None = Field(None, max_length=50)
    target_id: DbId | None = None
    customer_id: DbId | None = None
    contact_id: DbId | None = None
    interaction_id: DbId | None = None
