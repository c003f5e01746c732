"""Spreadsheet imports of customers and contacts (requirement B6).

The engine behind the wizard, the API and ``kehu import``:

- ``import_create`` stores an upload under ``DATA_DIR/imports`` (outside the web root),
  detects its format (CSV or XLSX), encoding (BOM → UTF-8; strict UTF-8; else GB18030,
  a superset of GBK) and delimiter, reads the header row and proposes a mapping of each
  column to a field from Chinese and English header names;
- ``import_set_mapping`` / ``import_set_duplicates`` change the mapping and the
  duplicate choices (skip / update / create, a default and per-row overrides);
- ``import_check`` is the dry run: every row is cleaned by the same functions as the
  form and the API (``services.clean_customer_fields`` …), duplicates against what the
  importer may see and within the file are found, the findings are stored as
  ``ImportIssue`` rows, nothing else is written;
- ``import_queue`` / ``run_job`` run the import in one transaction: all accepted rows or
  nothing. Progress goes to a small file next to the upload, readable by the web process
  while the worker's transaction is still open (see docs/imports.md).

Rows are streamed (csv over a text wrapper, openpyxl ``read_only``), never held all at
once; what is kept across the file is sets of duplicate keys, not rows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit, pii
from kehu.core.exceptions import Conflict, KehuError, NotFound, ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.customers import normalize, quality, services
from kehu.customers.models import (
    Alias,
    Channel,
    Contact,
    Customer,
    CustomerContact,
    DecisionRole,
    ImportIssue,
    ImportJob,
    Kind,
    Size,
    Status,
    StatusChange,
    Tag,
    Tier,
    VipGrade,
)

BATCH = 1000
SAMPLE_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
DUPLICATE_ACTIONS = ("skip", "update", "create")
State = ImportJob.State

# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Target:
    key: str
    label: Any
    aliases: tuple[str, ...]


CUSTOMER_TARGETS: tuple[Target, ...] = (
    Target("name", gettext_lazy("Name"), ("客户名称", "公司名称", "名称", "客户", "单位名称",
                                          "企业名称", "客户全称", "name", "customer",
                                          "customer name", "company", "company name")),
    Target("short_name", gettext_lazy("Short name"), ("简称", "客户简称", "short name",
                                                      "short_name", "abbreviation")),
    Target("kind", gettext_lazy("Kind"), ("客户类型", "类型", "客户类别", "kind", "type",
                                          "customer type")),
    Target("uscc", gettext_lazy("Unified social credit code"),
           ("统一社会信用代码", "信用代码", "社会信用代码", "uscc", "credit code")),
    Target("id_number", gettext_lazy("ID number"), ("身份证号", "身份证", "身份证号码",
                                                    "证件号码", "id number", "id_number",
                                                    "id card")),
    Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry")),
    Target("region", gettext_lazy("Region"), ("地区", "所在地区", "省市", "区域", "所在地",
                                              "region")),
    Target("size", gettext_lazy("Size"), ("规模", "企业规模", "size")),
    Target("addresses", gettext_lazy("Address"), ("地址", "注册地址", "办公地址", "address",
                                                  "addresses")),
    Target("phones", gettext_lazy("Phones"), ("电话", "手机", "联系电话", "手机号", "电话号码",
                                              "phone", "phones", "mobile", "tel")),
    Target("emails", gettext_lazy("Emails"), ("邮箱", "电子邮箱", "电子邮件", "email",
                                              "emails", "e-mail")),
    Target("website", gettext_lazy("Website"), ("网址", "网站", "官网", "website", "url",
                                                "web")),
    Target("tier", gettext_lazy("Key-account tier"), ("客户等级", "大客户等级", "等级",
                                                      "tier", "key-account tier")),
    Target("vip_grade", gettext_lazy("VIP grade"), ("vip等级", "vip", "vip grade",
                                                    "vip_grade")),
    Target("status", gettext_lazy("Lifecycle status"), ("状态", "客户状态", "status")),
    Target("tags", gettext_lazy("Tags"), ("标签", "tags", "tag")),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remarks")),
    Target("code", gettext_lazy("Customer code"), ("客户编码", "客户编号", "编码", "code",
                                                   "customer code")),
    Target("owner", gettext_lazy("Account manager"), ("客户经理", "负责人", "归属人",
                                                      "owner", "account manager")),
    Target("org_unit", gettext_lazy("Owning unit"), ("归属单位", "所属单位", "归属部门",
                                                     "org unit", "unit", "owning unit")),
)

CONTACT_TARGETS: tuple[Target, ...] = (
    Target("name", gettext_lazy("Name"), ("姓名", "联系人", "联系人姓名", "名字", "name",
                                          "contact", "contact name")),
    Target("gender", gettext_lazy("Gender"), ("性别", "gender", "sex")),
    Target("phones", gettext_lazy("Phones"), ("手机", "电话", "手机号", "联系电话", "电话号码",
                                              "phone", "phones", "mobile", "tel")),
    Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "电子邮件", "email",
                                            "e-mail")),
    Target("wechat", gettext_lazy("WeChat"), ("微信", "微信号", "wechat")),
    Target("preferred_channel", gettext_lazy("Preferred channel"),
           ("首选渠道", "偏好渠道", "联系偏好", "preferred channel", "preferred_channel")),
    Target("birthday", gettext_lazy("Birthday"), ("生日", "出生日期", "birthday")),
    Target("title", gettext_lazy("Title"), ("职务", "职位", "title", "job title")),
    Target("department", gettext_lazy("Department"), ("部门", "department")),
    Target("decision_role", gettext_lazy("Role in decisions"),
           ("决策角色", "角色", "decision role", "decision_role", "role")),
    Target("customer", gettext_lazy("Customer"), ("所属客户", "客户", "客户名称", "公司",
                                                  "公司名称", "customer", "company")),
    Target("is_primary", gettext_lazy("Primary contact"), ("主要联系人", "首要联系人",
                                                           "primary", "is primary",
                                                           "primary contact")),
    Target("tags", gettext_lazy("Tags"), ("标签", "tags", "tag")),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remarks")),
    Target("owner", gettext_lazy("Account manager"), ("客户经理", "负责人", "owner")),
)

TARGETS = {ImportJob.Entity.CUSTOMERS: CUSTOMER_TARGETS,
           ImportJob.Entity.CONTACTS: CONTACT_TARGETS}


def targets(entity: str) -> tuple[Target, ...]:
    return TARGETS[ImportJob.Entity(entity)]


def _header_key(text: str) -> str:
    return re.sub(r"[\s_*:：()（）\[\]【】]+", " ", normalize.fold(text).casefold()).strip()


def propose_mapping(headers: list[str], entity: str) -> dict[str, str]:
    """Each header → the field it names ("" when unknown); each field used once."""
    index: dict[str, str] = {}
    for target in targets(entity):
        for alias in (target.key, *target.aliases):
            index.setdefault(_header_key(alias), target.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = index.get(_header_key(header), "")
        if key in used:
            key = ""
        mapping[header] = key
        if key:
            used.add(key)
    return mapping


# --------------------------------------------------------------------------- files


def max_bytes() -> int:
    return int(getattr(settings, "KEHU_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(job: ImportJob) -> Path:
    return import_dir() / job.stored_name


def _progress_path(job: ImportJob) -> Path:
    return import_dir() / f"{job.stored_name}.progress"


def write_progress(job: ImportJob, processed: int) -> None:
    """Rows done so far, for the status page while the run's transaction is open.

    A file, not the database: on SQLite a second writer would wait for the run's
    transaction, and the worker and the web are different processes (no shared memory
    cache). Both already share the data folder, which holds the uploaded file.
    """
    path = _progress_path(job)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(str(processed), encoding="ascii")
    tmp.replace(path)


def live_progress(job: ImportJob) -> int:
    """Rows processed: from the progress file while running, else the stored count."""
    if job.state == State.RUNNING:
        try:
            return int(_progress_path(job).read_text(encoding="ascii") or 0)
        except (OSError, ValueError):
            return job.processed_rows
    return job.processed_rows


def progress_percent(job: ImportJob) -> int:
    if job.state == State.DONE:
        return 100
    if not job.total_rows:
        return 0
    return min(100, live_progress(job) * 100 // job.total_rows)


class UnreadableFile(ValidationFailed):
    pass


def _refuse(message: str) -> UnreadableFile:
    return UnreadableFile(message, fields={"file": [message]})


def detect_format(path: Path, file_name: str) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    suffix = Path(file_name).suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(_("This is an old Excel file (.xls). Save it as .xlsx or CSV and "
                        "upload that."))
    if head.startswith(b"PK\x03\x04"):
        if suffix in (".xlsx", ".xlsm", ""):
            return "xlsx"
        raise _refuse(_("Upload a CSV or XLSX file (this looks like another kind of "
                        "archive)."))
    if suffix in (".xls", ".et", ".numbers", ".ods", ".xlsb"):
        raise _refuse(_("This spreadsheet format is not supported. Save it as .xlsx or "
                        "CSV and upload that."))
    if suffix and suffix not in (".csv", ".txt", ".tsv"):
        raise _refuse(_("Upload a CSV or XLSX file."))
    return "csv"


def detect_encoding(path: Path) -> str:
    """BOM → utf-8-sig; the first chunk strict UTF-8 → utf-8; else GB18030."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def check_encoding(name: str) -> str:
    """A codec name the caller gave, normalised; GBK and GB2312 read as GB18030."""
    text = (name or "").strip().lower()
    try:
        codec = codecs.lookup(text).name
    except LookupError:
        raise ValidationFailed(fields={"encoding": [
            _("Unknown encoding “%(name)s”: use utf-8, gbk or gb18030.") % {"name": name}]}
        ) from None
    if codec in ("gbk", "gb2312"):
        return "gb18030"
    if codec == "utf-8" and text.replace("_", "-") in ("utf-8-sig", "utf8-sig"):
        return "utf-8-sig"
    return codec


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in (",", "\t", ";")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers without ".0" (a phone stored as a number
    must not become 1.38e10), dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


@dataclass
class Source:
    """An uploaded file, read row by row."""

    path: Path
    file_format: str
    encoding: str

    def rows(self) -> Iterator[list[str]]:
        """Every row (the header first) as text cells."""
        if not self.path.is_file():
            raise _refuse(_("The uploaded file is no longer there; upload it again."))
        if self.file_format == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self) -> Iterator[list[str]]:
        with self.path.open("rb") as raw:
            # The sample only guesses the delimiter: a bad byte is reported by the reader.
            sample = raw.read(SAMPLE_BYTES).decode(self.encoding, errors="ignore")
        delimiter = _sniff_delimiter(sample)
        with self.path.open("r", encoding=self.encoding, errors="strict", newline="") as fh:
            line = 0
            try:
                for row in csv.reader(fh, delimiter=delimiter):
                    line += 1
                    yield [cell.strip() for cell in row[:MAX_COLUMNS]]
            except UnicodeDecodeError:
                raise _refuse(_("The file is not readable as %(encoding)s text after row "
                                "%(row)d. Choose its encoding (e.g. gbk or utf-8) and "
                                "upload it again.")
                              % {"encoding": self.encoding, "row": line}) from None
            except csv.Error as exc:
                raise _refuse(_("Row %(row)d of the file cannot be read: %(reason)s.")
                              % {"row": line + 1, "reason": exc}) from None

    def _xlsx_rows(self) -> Iterator[list[str]]:
        from openpyxl import load_workbook

        with self.path.open("rb") as fh:
            try:
                # A file object: openpyxl then does not insist on an .xlsx file name.
                book = load_workbook(fh, read_only=True, data_only=True)
            except Exception:  # openpyxl raises many kinds for a damaged file
                raise _refuse(_("The file is not a readable XLSX workbook.")) from None
            try:
                sheet = book.worksheets[0]
                for values in sheet.iter_rows(values_only=True):
                    yield [cell_text(v) for v in values[:MAX_COLUMNS]]
            finally:
                book.close()


def _unique_headers(row: list[str]) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(row):
        name = normalize.fold(raw) or _("Column %(n)d") % {"n": i + 1}
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        headers.append(name)
    while headers and not normalize.fold(row[len(headers) - 1] if len(headers) <= len(row)
                                          else ""):
        headers.pop()  # trailing empty header cells are not columns
    return headers


def read_headers(source: Source) -> list[str]:
    for row in source.rows():
        headers = _unique_headers(row)
        if not headers:
            break
        return headers
    raise _refuse(_("The first row must hold the column names; it is empty."))


# --------------------------------------------------------------------------- jobs


def _entity_permission(entity: str) -> str:
    return "customers.create" if entity == ImportJob.Entity.CUSTOMERS else "contacts.create"


def import_list(*, actor: User) -> QuerySet[ImportJob]:
    return ImportJob.objects.visible_to(actor).select_related("owner")


def import_get(*, actor: User, job_id: int) -> ImportJob:
    return access.get_for(ImportJob, actor, job_id)


def _own_job(actor: User, job_id: int, *, for_update: bool = False) -> ImportJob:
    """A job the actor may act on: visible for ``imports.create`` and uploaded by them
    (a manager who sees a rep's import does not run it in the rep's name)."""
    job = access.get_for(ImportJob, actor, job_id, "create", for_update=for_update)
    if job.owner_id != actor.pk:
        raise NotFound()
    return job


def _save_upload(chunks: Iterable[bytes], limit: int) -> str:
    name = f"{uuid.uuid4().hex}.upload"
    path = import_dir() / name
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _refuse(_("The file is larger than %(mb)d MB. Split it and import "
                                    "the parts.") % {"mb": limit // (1024 * 1024)})
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise _refuse(_("The file is empty."))
    return name


@transaction.atomic
def import_create(*, actor: User, entity: str, file_name: str, chunks: Iterable[bytes],
                  encoding: str = "") -> ImportJob:
    """Store an upload and propose a mapping of its columns."""
    access.require(actor, "imports.create")
    if entity not in ImportJob.Entity.values:
        raise ValidationFailed(fields={"entity": [_("Choose customers or contacts.")]})
    access.require(actor, _entity_permission(entity))
    chosen = check_encoding(encoding) if encoding else ""
    file_name = Path(normalize.fold(file_name or "upload.csv")).name[:255] or "upload.csv"
    stored = _save_upload(chunks, max_bytes())
    path = import_dir() / stored
    try:
        file_format = detect_format(path, file_name)
        enc = "" if file_format == "xlsx" else (chosen or detect_encoding(path))
        headers = read_headers(Source(path, file_format, enc))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob.objects.create(
        tenant_id=actor.tenant_id, org_unit_id=actor.org_unit_id, owner=actor, entity=entity,
        file_name=file_name, stored_name=stored, file_format=file_format, encoding=enc,
        headers=headers, mapping=propose_mapping(headers, entity),
    )
    audit.record(actor=actor, action="import.create", obj=job,
                 changes={"file": [None, file_name], "entity": [None, entity]})
    return job


def import_create_from_path(*, actor: User, entity: str, path: Path,
                            encoding: str = "") -> ImportJob:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                yield chunk

    return import_create(actor=actor, entity=entity, file_name=path.name, chunks=chunks(),
                         encoding=encoding)


EDITABLE = (State.UPLOADED, State.CHECKED)


@transaction.atomic
def import_set_mapping(*, actor: User, job_id: int, mapping: dict[str, str]) -> ImportJob:
    """Replace the mapping (header → field, "" for not imported). A changed mapping
    needs a new dry run."""
    job = _own_job(actor, job_id, for_update=True)
    if job.state not in EDITABLE:
        raise Conflict(_("This import has already run; upload the file again to change it."))
    keys = {t.key for t in targets(job.entity)}
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for header in job.headers:
        value = str(mapping.get(header, job.mapping.get(header, "")) or "")
        if value and value not in keys:
            errors.setdefault(header, []).append(
                _("“%(value)s” is not a field you can import.") % {"value": value})
            continue
        if value and value in used:
            errors.setdefault(header, []).append(
                _("“%(field)s” is already taken by column “%(other)s”.")
                % {"field": value, "other": used[value]})
            continue
        if value:
            used[value] = header
        clean[header] = value
    unknown = set(mapping) - set(job.headers)
    if unknown:
        errors.setdefault("mapping", []).append(
            _("No such columns: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if "name" not in used and not errors:
        errors.setdefault("mapping", []).append(_("Map one column to the name."))
    if errors:
        raise ValidationFailed(fields=errors)
    if clean != job.mapping:
        job.mapping = clean
        job.state = State.UPLOADED
        job.counts = {}
        job.issues.all().delete()
        job.save()
    return job


@transaction.atomic
def import_set_duplicates(*, actor: User, job_id: int, default: str | None = None,
                          rows: Mapping[str, str] | None = None) -> ImportJob:
    """The choice for rows matching existing data: a default and per-row overrides."""
    job = _own_job(actor, job_id, for_update=True)
    if job.state not in EDITABLE:
        raise Conflict(_("This import has already run; upload the file again to change it."))
    errors: dict[str, list[str]] = {}
    if default is not None:
        if default not in DUPLICATE_ACTIONS:
            errors.setdefault("default", []).append(_("Choose skip, update or create."))
        else:
            job.duplicate_default = default
    actions = dict(job.duplicate_actions)
    for row, action in (rows or {}).items():
        if not str(row).isdigit() or int(row) < 2:
            errors.setdefault("rows", []).append(
                _("“%(row)s” is not a row number.") % {"row": row})
        elif action in ("", None):
            actions.pop(str(int(row)), None)
        elif action not in DUPLICATE_ACTIONS:
            errors.setdefault("rows", []).append(_("Choose skip, update or create."))
        else:
            actions[str(int(row))] = action
    if errors:
        raise ValidationFailed(fields=errors)
    job.duplicate_actions = actions
    job.save()
    return job


def import_check(*, actor: User, job_id: int) -> ImportJob:
    """The dry run: row errors and duplicates stored as issues, nothing else written.

    Not one transaction: the findings are stored batch by batch, so that a long check
    does not hold SQLite's write lock (the run does, and says so in the docs).
    """
    with transaction.atomic():
        job = _own_job(actor, job_id, for_update=True)
        if job.state not in (*EDITABLE, State.CHECKING):
            raise Conflict(_("This import has already run."))
        access.require(actor, _entity_permission(job.entity))
        if "name" not in job.mapping.values():
            raise ValidationFailed(fields={"mapping": [_("Map one column to the name.")]})
        job.issues.all().delete()
        job.state = State.CHECKING
        job.save()
    try:
        counts = Processor(job, actor, write=False).process()
    except BaseException:
        job.issues.all().delete()
        ImportJob.objects.filter(pk=job.pk).update(state=State.UPLOADED, counts={})
        raise
    job.counts = counts
    job.total_rows = counts["rows"]
    job.processed_rows = 0
    job.state = State.CHECKED
    job.error = ""
    job.save()
    return job


@transaction.atomic
def import_queue(*, actor: User, job_id: int) -> ImportJob:
    """Mark a checked job queued; the caller then hands it to the worker (tasks)."""
    job = _own_job(actor, job_id, for_update=True)
    if job.state != State.CHECKED:
        if job.state == State.UPLOADED:
            raise Conflict(_("Run the check (dry run) first."))
        raise Conflict(_("This import has already been started; it runs only once."))
    access.require(actor, _entity_permission(job.entity))
    job.state = State.QUEUED
    job.save()
    return job


def _claim(job_id: int) -> ImportJob | None:
    """queued → running, once: a second delivery of the task finds nothing to do."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job_id, state=State.QUEUED).update(
            state=State.RUNNING, processed_rows=0, updated_at=timezone.now())
        if not updated:
            return None
        return ImportJob.objects.select_related("owner__org_unit").get(pk=job_id)


def run_job(job_id: int) -> ImportJob | None:
    """Import a queued job as its uploader: every accepted row or nothing."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        write_progress(job, 0)
        actor = User.objects.select_related("org_unit", "tenant").get(pk=job.owner_id)
        if not actor.is_active:
            raise ValidationFailed(_("The user who uploaded this import is deactivated."))
        access.require(actor, _entity_permission(job.entity))
        with transaction.atomic():
            job.issues.all().delete()
            counts = Processor(job, actor, write=True,
                               on_progress=lambda n: write_progress(job, n)).process()
            if job.entity == ImportJob.Entity.CUSTOMERS:
                services.assign_generated_codes(actor.tenant_id)
            job.counts = counts
            job.total_rows = counts["rows"]
            job.processed_rows = counts["rows"]
            job.state = State.DONE
            job.finished_at = timezone.now()
            job.save()
            audit.record(actor=actor, action="import.run", obj=job,
                         changes={"entity": [None, job.entity], "file": [None, job.file_name],
                                  **{k: [None, v] for k, v in counts.items()}})
    except Exception as exc:
        message = str(getattr(exc, "message", "") or exc) or exc.__class__.__name__
        ImportJob.objects.filter(pk=job.pk).update(
            state=State.FAILED, error=message[:2000], finished_at=timezone.now())
        job.refresh_from_db()
        if not isinstance(exc, KehuError):
            raise  # unexpected: the worker logs it with its traceback
    finally:
        _progress_path(job).unlink(missing_ok=True)
    return job


# --------------------------------------------------------------------------- processing

_SPLIT_RE = re.compile(r"[;；,，、/／|\n]+")
_TRUE = {"1", "true", "yes", "y", "是", "√", "✓", "x", "主要", "primary"}
_GENDERS = {"男": "male", "m": "male", "male": "male", "先生": "male",
            "女": "female", "f": "female", "female": "female", "女士": "female"}


# Words spreadsheets use for the choice fields besides the labels of either language.
SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {"企业": "enterprise", "公司": "enterprise", "企业客户": "enterprise",
             "政府": "government", "政府机关": "government", "事业单位": "government",
             "政企": "government", "个人": "individual", "自然人": "individual",
             "个人客户": "individual"},
    "tier": {"集团": "group", "集团客户": "group", "集团大客户": "group", "省级": "province",
             "省级大客户": "province", "省重点": "province", "本地": "local", "地市": "local",
             "本地大客户": "local", "普通": "ordinary", "普通客户": "ordinary"},
    "vip_grade": {"银": "silver", "银卡": "silver", "金": "gold", "金卡": "gold",
                  "白金": "platinum", "白金卡": "platinum", "钻石": "diamond",
                  "钻石卡": "diamond", "无": ""},
    "status": {"潜在": "potential", "潜在客户": "potential", "客户": "customer",
               "正式客户": "customer", "成交客户": "customer", "复购": "repeat",
               "复购客户": "repeat", "支持者": "supporter", "忠诚": "loyal",
               "忠诚客户": "loyal", "休眠": "dormant", "沉睡": "dormant", "流失": "churned",
               "已流失": "churned", "黑名单": "blacklisted"},
    "size": {"微型": "micro", "小型": "small", "中型": "medium", "大型": "large",
             "特大型": "giant", "超大型": "giant"},
    "decision_role": {"决策者": "decision_maker", "决策人": "decision_maker",
                      "影响者": "influencer", "使用者": "user", "用户": "user",
                      "财务": "finance", "技术": "technical", "采购": "procurement",
                      "把关者": "gatekeeper", "其他": "other"},
    "preferred_channel": {"电话": "call", "短信": "sms", "邮件": "email", "邮箱": "email",
                          "微信": "wechat", "邮寄": "post", "拜访": "visit"},
}
CHOICES: dict[str, Any] = {"kind": Kind, "size": Size, "tier": Tier, "vip_grade": VipGrade,
                           "status": Status, "decision_role": DecisionRole,
                           "preferred_channel": Channel}


@cache
def _choice_index(name: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for key, label in CHOICES[name].choices:
                index[normalize.fold(str(label)).casefold()] = str(key)
    index.update(SYNONYMS.get(name, {}))
    return index


def choice_value(name: str, raw: str) -> str:
    """A choice cell as its stored value when it is a label (English or Chinese) or a
    common synonym; otherwise as given, for the service to accept or refuse."""
    if name not in CHOICES or not raw:
        return raw
    return _choice_index(name).get(normalize.fold(raw).casefold(), raw)


def split_values(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT_RE.split(text or "") if part.strip()]


@dataclass
class Row:
    number: int
    values: dict[str, str]
    clean: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    keys: list[tuple[str, str]] = field(default_factory=list)
    match_id: int | None = None
    match_field: str = ""
    file_match: int | None = None
    action: str = "create"


@dataclass
class Counts:
    rows: int = 0
    accepted: int = 0
    errors: int = 0
    duplicates: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


KEY_LABELS = {
    "uscc": gettext_lazy("credit code"), "id_number": gettext_lazy("ID number"),
    "phones": gettext_lazy("phone"), "name": gettext_lazy("name"),
    "email": gettext_lazy("email"),
}


class Processor:
    """One pass over the file: clean, find duplicates, and (``write``) import."""

    def __init__(self, job: ImportJob, actor: User, *, write: bool,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.job = job
        self.actor = actor
        self.write = write
        self.on_progress = on_progress
        self.customers = job.entity == ImportJob.Entity.CUSTOMERS
        self.permission = _entity_permission(job.entity)
        self.counts = Counts()
        self.issues: list[ImportIssue] = []
        self.batch: list[Row] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.existing: dict[tuple[str, str], int] = {}
        self.codes_in_file: set[str] = set()
        self._cache: dict[tuple[str, str], Any] = {}
        self.tags: dict[str, Tag] = {}
        self.is_admin = access.has_perm(actor, "customers.admin")
        self.linked_customers: set[int] = set()

    # ---- the pass

    def process(self) -> dict[str, int]:
        self._load_existing()
        source = Source(stored_path(self.job), self.job.file_format, self.job.encoding)
        columns: list[tuple[int, str]] = []
        for number, cells in enumerate(source.rows(), start=1):
            if number == 1:
                headers = _unique_headers(cells)
                if headers != list(self.job.headers):
                    raise _refuse(_("The file's columns changed since it was uploaded."))
                columns = [(i, self.job.mapping.get(h, "")) for i, h in enumerate(headers)]
                columns = [(i, f) for i, f in columns if f]
                continue
            if not any(cells):
                continue  # blank lines are not rows
            values = {f: (cells[i] if i < len(cells) else "") for i, f in columns}
            self.counts.rows += 1
            self._take(Row(number, values))
            if len(self.batch) >= BATCH:
                self._flush()
        self._flush()
        self._flush_issues(force=True)
        if self.write and self.linked_customers:
            self._refresh_quality(self.linked_customers)
        return self.counts.as_dict()

    def _take(self, row: Row) -> None:
        try:
            if self.customers:
                self._clean_customer(row)
            else:
                self._clean_contact(row)
        except ValidationFailed as exc:
            self.counts.errors += 1
            fields = exc.fields or {"": [str(exc.message)]}
            for name, messages in fields.items():
                for message in messages:
                    self._issue(row.number, "error", name, str(message))
            return
        self._find_duplicate(row)
        self.counts.accepted += 1
        self.batch.append(row)

    def _flush(self) -> None:
        rows, self.batch = self.batch, []
        if rows:
            rows = self._check_batch(rows)
            rows = self._resolve_actions(rows)
            if self.write:
                if self.customers:
                    self._write_customers(rows)
                else:
                    self._write_contacts(rows)
        self._flush_issues()
        if self.on_progress is not None:
            self.on_progress(self.counts.rows)

    def _issue(self, row: int, kind: str, name: str, message: str,
               match_id: int | None = None) -> None:
        self.issues.append(ImportIssue(job=self.job, row=row, kind=kind, field=name[:50],
                                       message=message[:500], match_id=match_id))

    def _reject(self, row: Row, name: str, message: str) -> None:
        """A row that passed the field checks but fails a check of the whole batch."""
        self.counts.accepted -= 1
        self.counts.errors += 1
        self._issue(row.number, "error", name, message)

    def _flush_issues(self, force: bool = False) -> None:
        if self.issues and (force or len(self.issues) >= BATCH):
            ImportIssue.objects.bulk_create(self.issues, batch_size=BATCH)
            self.issues = []

    # ---- cleaning

    def _cached(self, kind: str, raw: str, make: Callable[[], Any]) -> Any:
        key = (kind, raw)
        if key not in self._cache:
            if len(self._cache) > 20_000:
                self._cache.clear()  # distinct values are few; bound it all the same
            try:
                self._cache[key] = make()
            except ValidationFailed as exc:
                self._cache[key] = exc
        result = self._cache[key]
        if isinstance(result, ValidationFailed):
            raise result
        return result

    def _placement(self, owner_text: str, unit_text: str) -> tuple[User | None, OrgUnit]:
        def make() -> tuple[User | None, OrgUnit]:
            owner_id: int | None = self.actor.pk
            unit_id: int | None = None
            if owner_text:
                owner_id = self._find_user(owner_text)
            if unit_text:
                unit_id = self._find_unit(unit_text)
                if not owner_text:
                    owner_id = None
            owner, unit = services._placement(self.actor, self.permission, owner_id, unit_id)
            if owner is None and unit_id is not None and \
                    access.scope_for(self.actor, self.permission) == "own":
                owner = self.actor
            return owner, unit

        return self._cached("placement", f"{owner_text}\0{unit_text}", make)

    def _find_user(self, text: str) -> int:
        users = list(User.objects.filter(Q(email__iexact=text) | Q(full_name=text),
                                         tenant_id=self.actor.tenant_id, is_active=True)
                     .values_list("pk", flat=True)[:2])
        if len(users) != 1:
            message = (_("No active user “%(value)s” (give an email or a full name).")
                       if not users else
                       _("Several users are called “%(value)s”; give the email."))
            raise ValidationFailed(fields={"owner": [message % {"value": text}]})
        return users[0]

    def _find_unit(self, text: str) -> int:
        units = list(OrgUnit.objects.filter(Q(name=text) | Q(code=text),
                                            tenant_id=self.actor.tenant_id, is_active=True)
                     .values_list("pk", flat=True)[:2])
        if len(units) != 1:
            message = (_("No active unit “%(value)s”.") if not units else
                       _("Several units are called “%(value)s”."))
            raise ValidationFailed(fields={"org_unit": [message % {"value": text}]})
        return units[0]

    def _lookup(self, field_name: str, raw: str, kind: str = Kind.ENTERPRISE) -> Any:
        """A region or industry cleaned once per distinct text (the lookups are the
        costly part of a row)."""
        return self._cached(field_name, raw, lambda: services.clean_customer_fields(
            {field_name: raw}, kind=kind)[field_name])

    def _clean_customer(self, row: Row) -> None:
        v = {key: choice_value(key, raw) for key, raw in row.values.items()}
        errors: dict[str, list[str]] = {}
        kind_text = v.get("kind", "")
        if not kind_text:
            kind = Kind.INDIVIDUAL if v.get("id_number") and not v.get("uscc") \
                else Kind.ENTERPRISE
        else:
            try:
                kind = self._cached("kind", kind_text, lambda: services.clean_customer_fields(
                    {"kind": kind_text}, kind=Kind.ENTERPRISE)["kind"])
            except ValidationFailed as exc:
                errors.update(exc.fields)
                kind = Kind.ENTERPRISE
        data: dict[str, Any] = {}
        for key, raw in v.items():
            if key in ("kind", "tags", "owner", "org_unit", "region", "industry"):
                continue
            if key in ("phones", "emails"):
                data[key] = split_values(raw)
            elif key == "code" and raw and not self.is_admin:
                errors.setdefault("code", []).append(
                    _("Only administrators set customer codes; leave the column out."))
            elif raw or key == "name":
                data[key] = raw
        clean: dict[str, Any] = {}
        try:
            clean = services.clean_customer_fields(data, kind=kind)
        except ValidationFailed as exc:
            for key, messages in exc.fields.items():
                errors.setdefault(key, []).extend(messages)
        for key in ("region", "industry"):
            if v.get(key):
                try:
                    clean[key] = self._lookup(key, v[key])
                except ValidationFailed as exc:
                    for name, messages in exc.fields.items():
                        errors.setdefault(name, []).extend(messages)
        code = clean.get("code", "")
        if code:
            if services.GENERATED_CODE_RE.match(code):
                errors.setdefault("code", []).append(
                    _("Codes of the form C + 8 digits are generated; choose another code."))
            elif code in self.codes_in_file:
                errors.setdefault("code", []).append(
                    _("Another row of the file has this code."))
        try:
            owner, unit = self._placement(v.get("owner", ""), v.get("org_unit", ""))
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                errors.setdefault({"owner_id": "owner", "org_unit_id": "org_unit"}.get(
                    name, name), []).extend(messages)
            owner, unit = None, self.actor.org_unit
        if errors:
            raise ValidationFailed(fields=errors)
        if code:
            self.codes_in_file.add(code)
        clean["kind"] = kind
        row.clean = clean
        row.extra = {"owner": owner, "unit": unit, "tags": split_values(v.get("tags", ""))}
        keys: list[tuple[str, str]] = []
        if clean.get("uscc"):
            keys.append(("uscc", clean["uscc"]))
        if clean.get("id_number_hash"):
            keys.append(("id_number", clean["id_number_hash"]))
        keys += [("phones", p["number"]) for p in clean.get("phones", [])]
        name_key = normalize.name_key(clean["name"])
        if name_key:
            keys.append(("name", name_key))
        row.keys = keys

    def _clean_contact(self, row: Row) -> None:
        v = {key: choice_value(key, raw) for key, raw in row.values.items()}
        data: dict[str, Any] = {}
        link: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, raw in v.items():
            if key in ("title", "department", "decision_role"):
                if raw:
                    link[key] = raw
            elif key == "is_primary":
                link[key] = normalize.fold(raw).casefold() in _TRUE
            elif key == "gender":
                gender = _GENDERS.get(normalize.fold(raw).casefold(), raw)
                data[key] = gender
            elif key == "phones":
                data[key] = split_values(raw)
            elif key in ("customer", "tags", "owner"):
                continue
            elif raw or key == "name":
                data[key] = raw
        clean: dict[str, Any] = {}
        link_clean: dict[str, Any] = {}
        for cleaner, payload in ((services.clean_contact_fields, data),
                                 (services.clean_link_fields, link)):
            try:
                result = cleaner(payload)
            except ValidationFailed as exc:
                for key, messages in exc.fields.items():
                    errors.setdefault(key, []).extend(messages)
            else:
                if cleaner is services.clean_contact_fields:
                    clean = result
                else:
                    link_clean = result
        customer_ref = normalize.fold(v.get("customer", ""))
        owner_text = v.get("owner", "")
        owner: User | None = None
        unit: OrgUnit | None = None
        if owner_text:
            try:
                owner, unit = self._placement(owner_text, "")
            except ValidationFailed as exc:
                for messages in exc.fields.values():
                    errors.setdefault("owner", []).extend(messages)
        if errors:
            raise ValidationFailed(fields=errors)
        row.clean = clean
        row.extra = {"link": link_clean, "customer_ref": customer_ref, "owner": owner,
                     "unit": unit, "tags": split_values(v.get("tags", ""))}
        keys = [("phones", p["number"]) for p in clean.get("phones", [])]
        if clean.get("email"):
            keys.append(("email", clean["email"]))
        row.keys = keys

    # ---- duplicates

    def _load_existing(self) -> None:
        """Duplicate keys of the records the importer may see (never of others: a match
        against an invisible record would reveal that it exists)."""
        if self.customers:
            qs = Customer.objects.visible_to(self.actor).filter(merged_into__isnull=True) \
                .values_list("pk", "uscc", "id_number_hash", "name_key", "phone_digits")
            for pk, uscc, id_hash, name_key, digits in qs.iterator(chunk_size=2000):
                for kind, value in (("uscc", uscc), ("id_number", id_hash), ("name", name_key)):
                    if value:
                        self.existing.setdefault((kind, value), pk)
                for number in (digits or "").split():
                    self.existing.setdefault(("phones", number), pk)
        else:
            contacts = Contact.objects.visible_to(self.actor) \
                .values_list("pk", "email", "phone_digits")
            for pk, email, digits in contacts.iterator(chunk_size=2000):
                if email:
                    self.existing.setdefault(("email", email), pk)
                for number in (digits or "").split():
                    self.existing.setdefault(("phones", number), pk)

    def _find_duplicate(self, row: Row) -> None:
        for key in row.keys:
            digits_key = (key[0], key[1].lstrip("+")) if key[0] == "phones" else key
            match = self.existing.get(digits_key)
            if match is not None and row.match_id is None:
                row.match_id, row.match_field = match, key[0]
            if row.file_match is None and row.match_id is None and key in self.seen:
                row.file_match, row.match_field = self.seen[key], key[0]
        for key in row.keys:
            self.seen.setdefault(key, row.number)

    def _check_batch(self, rows: list[Row]) -> list[Row]:
        """Checks that need the database, once per batch: codes already taken, the
        customers contacts belong to."""
        kept: list[Row] = []
        if self.customers:
            codes = {r.clean["code"] for r in rows if r.clean.get("code")}
            taken: dict[str, int] = {}
            if codes:
                taken = dict(Customer.objects.filter(tenant_id=self.actor.tenant_id,
                                                     code__in=codes)
                             .values_list("code", "pk"))
            for row in rows:
                holder = taken.get(row.clean.get("code") or "")
                if holder is not None and holder != row.match_id:
                    self._reject(row, "code", _("Another customer already has this code."))
                else:
                    kept.append(row)
            return kept
        resolved = self._customers_for({r.extra["customer_ref"] for r in rows
                                        if r.extra["customer_ref"]})
        for row in rows:
            ref = row.extra["customer_ref"]
            target = resolved.get(ref) if ref else None
            if isinstance(target, str):
                self._reject(row, "customer", target)
                continue
            row.extra["customer_id"] = target
            kept.append(row)
        return kept

    def _resolve_actions(self, rows: list[Row]) -> list[Row]:
        """Each duplicate's action (per-row choice, else the job's default); an update
        needs the right to change the matching record."""
        model: Any = Customer if self.customers else Contact
        for row in rows:
            if row.match_id is not None or row.file_match is not None:
                row.action = self.job.duplicate_actions.get(str(row.number),
                                                            self.job.duplicate_default)
                if row.match_id is None and row.action == "update":
                    row.action = "skip"  # nothing stored yet to update: the first row wins
        matched = {r.match_id for r in rows if r.match_id is not None}
        labels: dict[int, str] = {}
        targets_: dict[int, Any] = {}
        if matched:
            for obj in model.objects.filter(pk__in=matched):
                labels[obj.pk] = f"{obj.name} ({obj.code})" if self.customers and obj.code \
                    else obj.name
            update_ids = {r.match_id for r in rows if r.action == "update"}
            if update_ids:
                targets_ = {o.pk: o for o in model.objects.visible_to(self.actor, "change")
                            .filter(pk__in=update_ids)}
        kept: list[Row] = []
        for row in rows:
            if row.action == "update":
                target = targets_.get(row.match_id or 0)
                if target is None:
                    self._reject(row, row.match_field, _(
                        "The matching record is not yours to change; choose skip or create "
                        "for this row."))
                    continue
                if self.customers and row.clean["kind"] != target.kind:
                    self._reject(row, "kind", _(
                        "The matching customer is of another kind; choose skip or create "
                        "for this row."))
                    continue
                row.extra["target"] = target
            kept.append(row)
            if row.match_id is None and row.file_match is None:
                self.counts.created += 1
                continue
            self.counts.duplicates += 1
            by = str(KEY_LABELS.get(row.match_field, row.match_field))
            if row.match_id is not None:
                message = _("Same %(key)s as “%(label)s”.") % {
                    "key": by, "label": labels.get(row.match_id, row.match_id)}
            else:
                message = _("Same %(key)s as row %(row)d of this file.") % {
                    "key": by, "row": row.file_match}
            self._issue(row.number, "duplicate", row.match_field, message, row.match_id)
            if row.action == "skip":
                self.counts.skipped += 1
            elif row.action == "update":
                self.counts.updated += 1
            else:
                self.counts.created += 1
        return kept

    # ---- writing customers

    def _tags(self, names: Iterable[str]) -> list[Tag]:
        result = []
        for name in names:
            folded = normalize.fold(name)[:50]
            if not folded:
                continue
            if folded not in self.tags:
                self.tags[folded] = services.tags_for(self.actor, [folded])[0]
            result.append(self.tags[folded])
        return result

    def _write_customers(self, rows: list[Row]) -> None:
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        now = timezone.now()
        new: list[Customer] = []
        for row in creates:
            customer = Customer(tenant_id=self.actor.tenant_id, owner=row.extra["owner"],
                                org_unit=row.extra["unit"], status_changed_at=now,
                                **row.clean)
            services.refresh_derived(customer, has_contact=False)
            new.append(customer)
        Customer.objects.bulk_create(new, batch_size=BATCH)
        if new:
            # What customer_create does after its first save, in two statements for the
            # batch: each customer's own place in the hierarchy, and the generated code
            # C + 8 digits (searchable too) for those without one.
            ids = [c.pk for c in new]
            Customer.objects.filter(pk__in=ids).update(
                hierarchy_path=Concat(Value("/"), Cast("id", CharField()), Value("/")))
            digits = LPad(Cast("id", CharField()), 8, Value("0"))
            Customer.objects.filter(pk__in=ids, code="").update(
                code=Concat(Value("C"), digits),
                search_text=Concat(F("search_text"), Value("|c"), digits))
            StatusChange.objects.bulk_create(
                [StatusChange(tenant_id=c.tenant_id, customer=c, from_status="",
                              to_status=c.status, actor=self.actor, changed_at=now,
                              reason=_("Imported")) for c in new], batch_size=BATCH)
        through: Any = Customer.tags.through
        links = [through(customer_id=c.pk, tag_id=t.pk)
                 for c, row in zip(new, creates, strict=True)
                 for t in self._tags(row.extra["tags"])]
        if updates:
            links += self._update_customers(updates)
        through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)

    def _update_customers(self, rows: list[Row]) -> list[Any]:
        """The row's non-empty values onto the matching customer (not its name, kind,
        code or status: those have their own actions)."""
        ids = {r.extra["target"].pk for r in rows}
        with_contacts = set(CustomerContact.objects.filter(customer_id__in=ids)
                            .values_list("customer_id", flat=True))
        aliases: dict[int, list[str]] = {}
        for customer_id, value in Alias.objects.filter(
                customer_id__in=ids, kind__in=[Alias.AliasKind.NAME, Alias.AliasKind.CODE]) \
                .values_list("customer_id", "value"):
            aliases.setdefault(customer_id, []).append(value)
        through: Any = Customer.tags.through
        links: list[Any] = []
        changed: dict[int, Customer] = {}
        now = timezone.now()
        for row in rows:
            customer: Customer = row.extra["target"]
            for key, value in row.clean.items():
                if key in ("kind", "status", "code", "name") or value in ("", [], None):
                    continue
                setattr(customer, key, value)
            customer.version += 1
            customer.updated_at = now
            services.refresh_derived(customer, has_contact=customer.pk in with_contacts,
                                     alias_names=aliases.get(customer.pk, ()))
            changed[customer.pk] = customer
            links += [through(customer_id=customer.pk, tag_id=t.pk)
                      for t in self._tags(row.extra["tags"])]
        Customer.objects.bulk_update(list(changed.values()), [
            "short_name", "uscc", "id_number_encrypted", "id_number_hash", "id_number_masked",
            "industry", "region", "size", "addresses", "phones", "emails", "website", "tier",
            "vip_grade", "notes", "name_key", "phone_digits", "search_text", "search_grams",
            "quality_score", "version", "updated_at"], batch_size=BATCH)
        return links

    # ---- writing contacts

    def _customers_for(self, refs: set[str]) -> dict[str, int | str]:
        """Customer references (code, credit code or exact name) → the id of the one
        customer the importer may change, or why there is none."""
        found: dict[str, set[int]] = {}
        if refs:
            upper = {r.upper() for r in refs}
            for pk, code, uscc, name in Customer.objects.visible_to(self.actor, "change") \
                    .filter(Q(code__in=refs) | Q(uscc__in=upper) | Q(name__in=refs),
                            merged_into__isnull=True) \
                    .values_list("pk", "code", "uscc", "name"):
                for ref in (code, name, uscc):
                    if ref:
                        found.setdefault(ref, set()).add(pk)
        result: dict[str, int | str] = {}
        for ref in refs:
            ids = found.get(ref, set()) | found.get(ref.upper(), set())
            if len(ids) == 1:
                result[ref] = next(iter(ids))
            elif not ids:
                result[ref] = _("No customer “%(value)s” that you may change (give its code, "
                                "credit code or exact name).") % {"value": ref}
            else:
                result[ref] = _("Several customers match “%(value)s”; give the code.") % {
                    "value": ref}
        return result

    def _write_contacts(self, rows: list[Row]) -> None:
        customer_ids = {r.extra["customer_id"] for r in rows if r.extra.get("customer_id")}
        placements = {pk: (owner_id, unit_id) for pk, owner_id, unit_id in
                      Customer.objects.filter(pk__in=customer_ids)
                      .values_list("pk", "owner_id", "org_unit_id")}
        new: list[tuple[Contact, Row]] = []
        updates: list[Row] = []
        for row in rows:
            if row.action == "skip":
                continue
            if row.action == "update":
                updates.append(row)
                continue
            owner, unit = row.extra["owner"], row.extra["unit"]
            customer_id = row.extra.get("customer_id")
            if owner is None and customer_id is not None:
                # As contact_create: a contact added to a customer lives with it.
                owner_id, unit_id = placements[customer_id]
                contact = Contact(tenant_id=self.actor.tenant_id, owner_id=owner_id,
                                  org_unit_id=unit_id, **row.clean)
            else:
                if owner is None:
                    owner, unit = self._placement("", "")
                contact = Contact(tenant_id=self.actor.tenant_id, owner=owner, org_unit=unit,
                                  **row.clean)
            services.refresh_contact(contact)
            new.append((contact, row))
        Contact.objects.bulk_create([c for c, _r in new], batch_size=BATCH)
        through: Any = Contact.tags.through
        tag_links = [through(contact_id=c.pk, tag_id=t.pk) for c, row in new
                     for t in self._tags(row.extra["tags"])]
        links = [(c.pk, row) for c, row in new if row.extra.get("customer_id")]
        if updates:
            tag_links += self._update_contacts(updates)
            links += [(row.extra["target"].pk, row) for row in updates
                      if row.extra.get("customer_id")]
        through.objects.bulk_create(tag_links, batch_size=BATCH, ignore_conflicts=True)
        self._write_links(links)

    def _update_contacts(self, rows: list[Row]) -> list[Any]:
        through: Any = Contact.tags.through
        tag_links: list[Any] = []
        changed: dict[int, Contact] = {}
        now = timezone.now()
        for row in rows:
            contact: Contact = row.extra["target"]
            for key, value in row.clean.items():
                if key != "name" and value not in ("", [], None):
                    setattr(contact, key, value)
            contact.version += 1
            contact.updated_at = now
            services.refresh_contact(contact)
            changed[contact.pk] = contact
            tag_links += [through(contact_id=contact.pk, tag_id=t.pk)
                          for t in self._tags(row.extra["tags"])]
        Contact.objects.bulk_update(
            list(changed.values()),
            ["gender", "phones", "phone_digits", "email", "wechat", "preferred_channel",
             "birthday", "notes", "search_text", "search_grams", "version", "updated_at"],
            batch_size=BATCH)
        return tag_links

    def _write_links(self, links: list[tuple[int, Row]]) -> None:
        """Contact ↔ customer links with title, department, role; one primary contact per
        customer (the last row of the file that says so)."""
        if not links:
            return
        pairs = {(row.extra["customer_id"], contact_id) for contact_id, row in links}
        existing = {(c, p): pk for pk, c, p in CustomerContact.objects.filter(
            customer_id__in={c for c, _p in pairs}, contact_id__in={p for _c, p in pairs})
            .values_list("pk", "customer_id", "contact_id")}
        primary_for: dict[int, int] = {}
        fresh: dict[tuple[int, int], CustomerContact] = {}
        for contact_id, row in links:
            customer_id = row.extra["customer_id"]
            fields = dict(row.extra["link"])
            if fields.pop("is_primary", False):
                primary_for[customer_id] = contact_id
            key = (customer_id, contact_id)
            if key in existing:
                if fields:
                    CustomerContact.objects.filter(pk=existing[key]).update(**fields)
            elif key in fresh:
                for name, value in fields.items():
                    setattr(fresh[key], name, value)
            else:
                fresh[key] = CustomerContact(tenant_id=self.actor.tenant_id,
                                             customer_id=customer_id, contact_id=contact_id,
                                             **fields)
        CustomerContact.objects.bulk_create(list(fresh.values()), batch_size=BATCH)
        if primary_for:
            CustomerContact.objects.filter(customer_id__in=primary_for, is_primary=True) \
                .update(is_primary=False)
            condition = Q()
            for customer_id, contact_id in primary_for.items():
                condition |= Q(customer_id=customer_id, contact_id=contact_id)
            CustomerContact.objects.filter(condition).update(is_primary=True)
        self.linked_customers.update(row.extra["customer_id"] for _p, row in links)

    def _refresh_quality(self, customer_ids: set[int]) -> None:
        ids = sorted(customer_ids)
        for start in range(0, len(ids), BATCH):
            chunk = list(Customer.objects.filter(pk__in=ids[start:start + BATCH]))
            for customer in chunk:
                customer.quality_score = quality.assess(customer, True)[0]
            Customer.objects.bulk_update(chunk, ["quality_score"], batch_size=BATCH)


# --------------------------------------------------------------------------- report

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet will show, never run: formulas are neutralised."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def issues_by_row(job: ImportJob) -> Iterator[tuple[int, list[ImportIssue]]]:
    current: int | None = None
    group: list[ImportIssue] = []
    for issue in job.issues.order_by("row", "id").iterator(chunk_size=2000):
        if issue.row != current:
            if group and current is not None:
                yield current, group
            current, group = issue.row, []
        group.append(issue)
    if group and current is not None:
        yield current, group


def rejected_reasons(job: ImportJob, issues: list[ImportIssue]) -> list[str]:
    """Why a row was not imported; empty when it was (a duplicate updated or created)."""
    errors = [i for i in issues if i.kind == "error"]
    if errors:
        return [f"{i.field}: {i.message}" if i.field else i.message for i in errors]
    duplicates = [i for i in issues if i.kind == "duplicate"]
    if duplicates:
        row = str(duplicates[0].row)
        action = job.duplicate_actions.get(row, job.duplicate_default)
        if action == "skip" or (action == "update" and duplicates[0].match_id is None):
            return [_("Duplicate, skipped: %(reason)s") % {"reason": duplicates[0].message}]
    return []


def report_rows(job: ImportJob, *, reveal: bool) -> Iterator[list[str]]:
    """The rejected-rows report: row number, the file's cells, the reasons. Columns of
    ID numbers and phones are masked unless ``reveal`` (the uploader's own file)."""
    masked = {h: kind for h, f in job.mapping.items()
              for kind in ({"id_number": "id_number", "phones": "phone"}.get(f, ""),) if kind}
    yield [_("Row"), *job.headers, _("Reasons")]
    wanted = issues_by_row(job)
    pending = next(wanted, None)
    if pending is None:
        return
    source = Source(stored_path(job), job.file_format, job.encoding)
    for number, cells in enumerate(source.rows(), start=1):
        while pending is not None and pending[0] < number:
            pending = next(wanted, None)
        if pending is None:
            break
        if number != pending[0]:
            continue
        reasons = rejected_reasons(job, pending[1])
        if reasons:
            out = [str(number)]
            for i, header in enumerate(job.headers):
                value = cells[i] if i < len(cells) else ""
                if not reveal and header in masked and value:
                    value = "; ".join(pii.mask(masked[header], v) for v in split_values(value))
                out.append(safe_cell(value))
            out.append(safe_cell(" | ".join(reasons)))
            yield out


class _Echo:
    def write(self, value: str) -> str:
        return value


def report_csv(job: ImportJob, *, reveal: bool) -> Iterator[str]:
    """The report as CSV text chunks, UTF-8 with a BOM so that Excel reads Chinese."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in report_rows(job, reveal=reveal):
        yield writer.writerow(row)


def may_reveal_report(actor: User, job: ImportJob) -> bool:
    permission = "customers.reveal_pii" if job.entity == ImportJob.Entity.CUSTOMERS \
        else "contacts.reveal_pii"
    return job.owner_id == actor.pk or access.has_perm(actor, permission)


def summary_lines(job: ImportJob, *, limit: int = 50) -> list[str]:
    """The plain-text report the CLI prints (the UI shows the same numbers)."""
    counts = job.counts or {}
    lines = [
        _("File: %(file)s (%(entity)s)") % {"file": job.file_name,
                                            "entity": job.get_entity_display()},
        _("Rows: %(rows)d · accepted: %(accepted)d · refused: %(errors)d · duplicates: "
          "%(duplicates)d") % {k: int(counts.get(k, 0))
                               for k in ("rows", "accepted", "errors", "duplicates")},
        (_("Created: %(created)d · updated: %(updated)d · skipped: %(skipped)d")
         if job.state == State.DONE else
         _("Would create: %(created)d · update: %(updated)d · skip: %(skipped)d"))
        % {k: int(counts.get(k, 0)) for k in ("created", "updated", "skipped")},
    ]
    for shown, issue in enumerate(job.issues.order_by("row", "id").iterator(chunk_size=500)):
        if shown >= limit:
            lines.append(_("… and more: download the report for every row."))
            break
        label = _("error") if issue.kind == "error" else _("duplicate")
        where = f" [{issue.field}]" if issue.field else ""
        lines.append(_("Row %(row)d %(kind)s%(where)s: %(message)s") % {
            "row": issue.row, "kind": label, "where": where, "message": issue.message})
    if job.error:
        lines.append(_("Failed: %(error)s") % {"error": job.error})
    return lines
