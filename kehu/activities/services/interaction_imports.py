"""Bulk import of interactions from CSV (UTF-8, BOM, GBK/GB18030) or XLSX.

Synchronous and all-or-nothing: every row is checked first (customer among those the
importer may see, by customer code or exact name; type, time and the other values by
the same ``clean_interaction`` as the form and the API); any bad row → nothing is
written and every problem is listed by row number and column. Files are read by the
customers import's readers (``kehu.customers.importing.files``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.activities.models import Channel, Direction, Interaction
from kehu.activities.services.interactions import clean_interaction, interaction_create
from kehu.core import access, audit, moments
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.uploads import write_upload
from kehu.customers.importing import files as import_files
from kehu.customers.selectors import customers as customer_selectors

if TYPE_CHECKING:
    from kehu.customers.models import Customer

MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024

# field → header names it is recognised by (compared case- and space-insensitively).
COLUMNS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "customer_code": (gettext_lazy("Customer code"),
                      ("客户编码", "客户编号", "customer code", "customer_code", "code")),
    "customer_name": (gettext_lazy("Customer name"),
                      ("客户名称", "客户", "customer name", "customer_name", "customer")),
    "kind": (gettext_lazy("Type"), ("类型", "跟进类型", "方式", "type", "kind")),
    "occurred_at": (gettext_lazy("Time"), ("时间", "跟进时间", "日期", "time", "date",
                                           "occurred at", "occurred_at")),
    "subject": (gettext_lazy("Subject"), ("主题", "标题", "subject", "title")),
    "content": (gettext_lazy("Content"), ("内容", "详情", "记录", "content", "notes")),
    "channel": (gettext_lazy("Channel"), ("渠道", "channel")),
    "direction": (gettext_lazy("Direction"), ("方向", "direction")),
    "duration_minutes": (gettext_lazy("Duration (minutes)"),
                         ("时长", "时长(分钟)", "时长（分钟）", "duration", "duration minutes",
                          "duration_minutes")),
    "outcome": (gettext_lazy("Outcome"), ("结果", "outcome", "result")),
    "next_step": (gettext_lazy("Next step"), ("下一步", "下一步计划", "next step",
                                              "next_step")),
}
_KIND_WORDS = {"电话": "call", "拜访": "visit", "会议": "meeting", "邮件": "email",
               "短信": "sms", "微信": "wechat", "备注": "note", "其他": "other"}
_DIRECTION_WORDS = {"呼出": "outbound", "外呼": "outbound", "去电": "outbound",
                    "主动": "outbound", "呼入": "inbound", "来电": "inbound", "被动": "inbound",
                    "内部": "internal"}
_CHANNEL_WORDS = {"电话": "phone", "面对面": "face_to_face", "当面": "face_to_face",
                  "上门": "face_to_face", "邮件": "email", "短信": "sms", "微信": "wechat",
                  "网站": "web", "网页": "web", "呼叫中心": "call_center",
                  "手机应用": "mobile_app", "app": "mobile_app", "门店": "store",
                  "营业厅": "store", "其他": "other"}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H:%M",
                 "%Y年%m月%d日")


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    dry_run: bool
    total_rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


def _key(text: str) -> str:
    return re.sub(r"[\s_*:：()（）\[\]【】]+", " ", str(text).casefold()).strip()


_INDEX = {_key(alias): name for name, (_label, aliases) in COLUMNS.items()
          for alias in (name, *aliases)}


def column_label(name: str) -> str:
    return str(COLUMNS[name][0]) if name in COLUMNS else name


def parse_time(text: str) -> dt.datetime | None:
    """The time column: one of the formats, or ISO 8601; unreadable or outside
    1900–2200 (``kehu.core.moments``) → None."""
    text = text.strip().replace("T", " ")
    parsed: dt.datetime | None = None
    for fmt in _TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 -- made aware below
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    try:
        return moments.check_moment(parsed)
    except moments.OutOfRange:
        return None


def _save(chunks: Iterable[bytes]) -> Path:
    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(fields={"file": [message]})

    return write_upload(
        chunks, folder=import_files.import_dir(),
        name=f"interactions-{uuid.uuid4().hex}.upload", max_bytes=MAX_BYTES,
        too_large=lambda: refuse(_("The file is larger than %(mb)d MB.")
                                 % {"mb": MAX_BYTES // (1024 * 1024)}),
        empty=lambda: refuse(_("The file is empty."))).path


def _rows(path: Path, file_name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The headers and the non-empty rows with their row number in the file. Missing
    columns are refused from the header row, before the rest is read; more than
    ``MAX_ROWS`` rows as soon as the next one comes."""
    file_format = import_files.detect_format(path, file_name)
    # The customers import's readers: format, encoding (BOM/UTF-8/GB18030) and rows.
    encoding = "" if file_format == "xlsx" else import_files.detect_encoding(path)
    source = import_files.Source(path, file_format, encoding)
    headers = import_files.read_headers(source)
    _columns(headers)
    rows = source.rows()
    next(rows, None)  # the header row
    body: list[tuple[int, list[str]]] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        body.append((number, row))
        if len(body) > MAX_ROWS:
            raise ValidationFailed(fields={"file": [
                _("At most %(n)d rows per import; split the file.") % {"n": MAX_ROWS}]})
    return headers, body


def _columns(headers: list[str]) -> dict[int, str]:
    """Each column's field ("" for none); refuses a header row without the needed ones."""
    columns = {i: _INDEX.get(_key(h), "") for i, h in enumerate(headers)}
    known = set(columns.values())
    missing = [n for n in ("kind", "occurred_at", "subject") if n not in known]
    if "customer_code" not in known and "customer_name" not in known:
        missing.insert(0, "customer_code")
    if missing:
        raise ValidationFailed(fields={"file": [
            _("Missing columns: %(names)s.") % {"names": "、".join(
                column_label(n) for n in missing)}]})
    return columns


def _choice_alias(value: str, words: dict[str, str]) -> str:
    return words.get(value.strip().casefold(), value)


def _check_row(actor: User, number: int, cells: dict[str, str],
               by_code: dict[str, Customer], by_name: dict[str, list[Customer]],
               errors: list[RowError]) -> dict[str, Any] | None:
    found: list[RowError] = []
    code, name = cells.get("customer_code", ""), cells.get("customer_name", "")
    customer = None
    if code:
        customer = by_code.get(code.casefold())
        if customer is None:
            found.append(RowError(number, column_label("customer_code"), _(
                "No customer you can see has the code “%(code)s”.") % {"code": code}))
    elif name:
        matches = by_name.get(name, [])
        if len(matches) == 1:
            customer = matches[0]
        else:
            found.append(RowError(number, column_label("customer_name"), _(
                "No customer you can see has exactly this name.") if not matches else _(
                "Several customers have this name; give the customer code.")))
    else:
        found.append(RowError(number, column_label("customer_code"),
                              _("Give the customer code or name.")))
    data: dict[str, Any] = {
        "kind": _choice_alias(cells.get("kind", ""), _KIND_WORDS),
        "subject": cells.get("subject", ""), "content": cells.get("content", ""),
        "outcome": cells.get("outcome", ""), "next_step": cells.get("next_step", ""),
        "direction": _choice_alias(cells.get("direction", ""), _DIRECTION_WORDS)
        or Direction.OUTBOUND,
        "channel": _choice_alias(cells.get("channel", ""), _CHANNEL_WORDS) or Channel.PHONE,
    }
    time_text = cells.get("occurred_at", "")
    if not time_text:
        found.append(RowError(number, column_label("occurred_at"),
                              _("This field is required.")))
    else:
        moment = parse_time(time_text)
        if moment is None:
            found.append(RowError(number, column_label("occurred_at"), _(
                "Enter a date and time such as 2026-03-01 14:30.")))
        else:
            data["occurred_at"] = moment
    duration = cells.get("duration_minutes", "")
    if duration:
        if duration.isdigit():
            data["duration_minutes"] = int(duration)
        else:
            found.append(RowError(number, column_label("duration_minutes"),
                                  _("Enter whole minutes.")))
    if not data["kind"]:
        found.append(RowError(number, column_label("kind"), _("This field is required.")))
    try:
        clean_interaction(data)
    except ValidationFailed as exc:
        for name_, messages in exc.fields.items():
            found.extend(RowError(number, column_label(name_), str(m)) for m in messages)
    if found:
        errors.extend(found)
        return None
    assert customer is not None
    data["customer_id"] = customer.pk
    return data


def import_interactions(*, actor: User, file_name: str, chunks: Iterable[bytes],
                        dry_run: bool = False) -> ImportResult:
    """Check every row; unless ``dry_run`` and all rows are good, record them all in one
    transaction (one ``interaction.import`` audit event)."""
    access.require(actor, "interactions.create")
    file_name = Path(file_name or "upload.csv").name[:255] or "upload.csv"
    path = _save(chunks)
    try:
        headers, rows = _rows(path, file_name)
    finally:
        path.unlink(missing_ok=True)
    columns = _columns(headers)
    visible = customer_selectors.visible_customers(actor=actor)
    wanted_codes = {row[i].strip() for _n, row in rows for i, n in columns.items()
                    if n == "customer_code" and i < len(row) and row[i].strip()}
    wanted_names = {row[i].strip() for _n, row in rows for i, n in columns.items()
                    if n == "customer_name" and i < len(row) and row[i].strip()}
    by_code: dict[str, Customer] = {}
    by_name: dict[str, list[Customer]] = {}
    for customer in visible.filter(code__in=wanted_codes).only("id", "code", "name"):
        by_code[customer.code.casefold()] = customer
    for customer in visible.filter(name__in=wanted_names).only("id", "code", "name"):
        by_name.setdefault(customer.name, []).append(customer)
    result = ImportResult(dry_run=dry_run, total_rows=len(rows))
    checked: list[dict[str, Any]] = []
    for number, row in rows:
        cells = {name: row[i].strip() for i, name in columns.items()
                 if name and i < len(row)}
        data = _check_row(actor, number, cells, by_code, by_name, result.errors)
        if data is not None:
            checked.append(data)
    if result.errors or dry_run or not checked:
        return result
    with transaction.atomic():
        created: list[Interaction] = []
        for data in checked:
            customer_id = data.pop("customer_id")
            kind, subject = data.pop("kind"), data.pop("subject")
            created.append(interaction_create(actor=actor, customer_id=customer_id, kind=kind,
                                              subject=subject, audit_event=False, **data))
        audit.record(actor=actor, action="interaction.import", object_type="interaction",
                     object_repr=file_name,
                     changes={"file": [None, file_name], "rows": [None, len(created)]})
    result.imported = len(created)
    return result

