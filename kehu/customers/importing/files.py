"""Uploaded spreadsheets: storage under ``DATA_DIR/imports`` (outside the web root),
format (CSV or XLSX), encoding (BOM → UTF-8; strict UTF-8; else GB18030, a superset of
GBK) and delimiter detection, the header row, reading row by row (csv over a text
wrapper, openpyxl ``read_only``: never the whole file at once), and the progress file a
running import writes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kehu.core.exceptions import ValidationFailed
from kehu.core.uploads import discard_on_rollback, write_upload
from kehu.customers import normalize
from kehu.customers.models import ImportJob

SAMPLE_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
# An XLSX is a zip: its parts together may unpack to at most this (a few kilobytes can
# claim gigabytes), and a customers or contacts import holds at most MAX_ROWS rows.
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
MAX_ROWS = 1_000_000
State = ImportJob.State


def max_bytes() -> int:
    return int(getattr(settings, "KEHU_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def import_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(job: ImportJob) -> Path:
    return import_dir() / job.stored_name


def progress_path(job: ImportJob) -> Path:
    return import_dir() / f"{job.stored_name}.progress"


def write_progress(job: ImportJob, processed: int) -> None:
    """Rows done so far, for the status page while the run's transaction is open.

    A file, not the database: on SQLite a second writer would wait for the run's
    transaction, and the worker and the web are different processes (no shared memory
    cache). Both already share the data folder, which holds the uploaded file.
    """
    path = progress_path(job)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(str(processed), encoding="ascii")
    tmp.replace(path)


def live_progress(job: ImportJob) -> int:
    """Rows processed: from the progress file while checking or running, else the stored
    count."""
    if job.state in (State.CHECKING, State.RUNNING):
        try:
            return int(progress_path(job).read_text(encoding="ascii") or 0)
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


def refuse(message: str) -> UnreadableFile:
    return UnreadableFile(message, fields={"file": [message]})


def detect_format(path: Path, file_name: str) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    suffix = Path(file_name).suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise refuse(_("This is an old Excel file (.xls). Save it as .xlsx or CSV and "
                       "upload that."))
    if head.startswith(b"PK\x03\x04"):
        if suffix in (".xlsx", ".xlsm", ""):
            return "xlsx"
        raise refuse(_("Upload a CSV or XLSX file (this looks like another kind of "
                       "archive)."))
    if suffix in (".xls", ".et", ".numbers", ".ods", ".xlsb"):
        raise refuse(_("This spreadsheet format is not supported. Save it as .xlsx or "
                       "CSV and upload that."))
    if suffix and suffix not in (".csv", ".txt", ".tsv"):
        raise refuse(_("Upload a CSV or XLSX file."))
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


# The encodings an upload may be read as, by the names a caller may give (the API's enum
# and the form's choices); GBK and GB2312 are read as GB18030, their superset.
ENCODING_CHOICES = ("utf-8", "utf-8-sig", "gbk", "gb18030", "big5", "utf-16")
_ENCODING_NAMES = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig",
                   "utf8-sig": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
                   "gb18030": "gb18030", "big5": "big5", "utf-16": "utf-16", "utf16": "utf-16"}
READ_ENCODINGS = frozenset(_ENCODING_NAMES.values())


def check_encoding(name: str) -> str:
    """The codec to read an upload with, from a name the caller gave; only the encodings
    of ``ENCODING_CHOICES`` (any other codec, e.g. rot13 or zlib, is refused)."""
    text = (name or "").strip().lower().replace("_", "-")
    codec = _ENCODING_NAMES.get(text)
    if codec is None:
        raise ValidationFailed(fields={"encoding": [
            _("Unknown encoding “%(name)s”: use utf-8, gbk or gb18030.") % {"name": name}]}
        ) from None
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
            raise refuse(_("The uploaded file is no longer there; upload it again."))
        if self.file_format == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self) -> Iterator[list[str]]:
        if self.encoding not in READ_ENCODINGS:
            raise refuse(_("Unknown encoding “%(name)s”: use utf-8, gbk or gb18030.")
                         % {"name": self.encoding})
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
                raise refuse(_("The file is not readable as %(encoding)s text after row "
                               "%(row)d. Choose its encoding (e.g. gbk or utf-8) and "
                               "upload it again.")
                             % {"encoding": self.encoding, "row": line}) from None
            except csv.Error as exc:
                raise refuse(_("Row %(row)d of the file cannot be read: %(reason)s.")
                             % {"row": line + 1, "reason": exc}) from None

    def _xlsx_rows(self) -> Iterator[list[str]]:
        from openpyxl import load_workbook

        check_unpacked_size(self.path)
        with self.path.open("rb") as fh:
            try:
                # A file object: openpyxl then does not insist on an .xlsx file name.
                book = load_workbook(fh, read_only=True, data_only=True)
            except Exception:  # openpyxl raises many kinds for a damaged file
                raise refuse(_("The file is not a readable XLSX workbook.")) from None
            try:
                sheet: Any = book.worksheets[0]
                # The sheet's own <dimension> may be forged (A1:XFD1048576): rows are read
                # as stored, never padded to the size it claims.
                sheet.reset_dimensions()
                for values in sheet.iter_rows(values_only=True):
                    yield [cell_text(v) for v in values[:MAX_COLUMNS]]
            finally:
                book.close()


def check_unpacked_size(path: Path) -> None:
    """Refuse an XLSX whose parts unpack to more than ``MAX_XLSX_UNPACKED`` bytes (read
    from the zip's directory: nothing is unpacked)."""
    limit = MAX_XLSX_UNPACKED
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise refuse(_("The file is not a readable XLSX workbook.")) from None
    if unpacked > limit:
        raise refuse(_("The workbook unpacks to more than %(mb)d MB. Split it, or save it "
                       "as CSV, and import the parts.") % {"mb": limit // (1024 * 1024)})


def too_many_rows(limit: int) -> UnreadableFile:
    return refuse(_("At most %(n)d rows per import; split the file.") % {"n": limit})


def unique_headers(row: list[str]) -> list[str]:
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
        headers = unique_headers(row)
        if not headers:
            break
        return headers
    raise refuse(_("The first row must hold the column names; it is empty."))



def save_upload(chunks: Iterable[bytes], limit: int) -> str:
    """Store the upload under a generated name in the imports folder; its name."""
    name = f"{uuid.uuid4().hex}.upload"
    write_upload(
        chunks, folder=import_dir(), name=name, max_bytes=limit,
        too_large=lambda: refuse(_("The file is larger than %(mb)d MB. Split it and import "
                                   "the parts.") % {"mb": limit // (1024 * 1024)}),
        empty=lambda: refuse(_("The file is empty.")))
    discard_on_rollback(import_dir() / name)  # the job row is written in this transaction
    return name


def referenced_files(folder: Path, names: set[str]) -> set[str]:
    """Of ``names`` in the imports folder, the uploads an import job points at and their
    progress files (for the sweeper of orphaned files)."""
    stems = {n.removesuffix(".progress") for n in names}
    jobs = set(ImportJob.objects.filter(stored_name__in=stems)
               .values_list("stored_name", flat=True))
    return {n for n in names if n.removesuffix(".progress") in jobs}
