"""API schemas of spreadsheet imports."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from kehu.core.http import InputSchema, PageQuery
from kehu.customers.importing.mapping import entity_choices

# An upload's encoding: empty to detect it, else one of
# ``kehu.customers.importing.files.ENCODING_CHOICES`` (a test keeps the two equal).
Encoding = Literal["", "utf-8", "utf-8-sig", "gbk", "gb18030", "big5", "utf-16"]


def entity_type() -> Any:
    """What ``POST /imports`` accepts as ``entity``: customers, contacts and the kinds other
    apps registered (the API modules load after every app's registrations)."""
    return Literal[tuple(key for key, _label in entity_choices())]


class TargetOut(Schema):
    key: str
    label: str


class ImportOut(Schema):
    id: int
    entity: str
    state: str
    state_label: str
    file_name: str
    file_format: str
    encoding: str
    headers: list[str]
    mapping: dict[str, str] = Field(description="Column header → field (\"\": not imported).")
    fields: list[TargetOut]
    duplicate_default: str
    duplicate_actions: dict[str, str]
    total_rows: int
    processed_rows: int
    progress: int = Field(description="Percent done (0–100).")
    counts: dict[str, int]
    error: str
    owner_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class IssueOut(Schema):
    row: int
    kind: str
    field: str
    message: str
    match_id: int | None


class MappingIn(InputSchema):
    mapping: dict[str, str] = Field(
        description="Column header → field key (\"\" to leave the column out).")


class DuplicatesIn(InputSchema):
    default: Literal["skip", "update", "create"] | None = None
    rows: dict[str, Literal["skip", "update", "create", ""]] = Field(
        default_factory=dict, description="Row number → choice (\"\" back to the default).")


class IssueQuery(PageQuery):
    kind: Literal["error", "duplicate"] | None = None
