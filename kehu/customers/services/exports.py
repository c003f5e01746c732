"""Exports of customer and contact lists to CSV and XLSX (requirement 9).

An export is any list the user can filter (the same ``CustomerFilters`` as the list page
and the API), read through ``visible_to(…, "export")``, so it holds only what the user may
export. Sensitive values leave masked; a user who may reveal personal data can ask for
clear values with a reason, which goes into the export's audit event, and then only for
the rows their reveal scope covers. Every cell a spreadsheet would run as a formula is
neutralised (kehu.core.spreadsheets).

Memory stays constant whatever the size: rows are read with ``iterator(chunk_size=…)``;
CSV is streamed as it is written; XLSX is written by openpyxl's write-only workbook to a
temporary file in the data folder, streamed, and deleted when the response closes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kehu.core import access, audit, crypto, pii, references
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.spreadsheets import UTF8_BOM, csv_lines, xlsx_value
from kehu.customers import normalize, reference
from kehu.customers.models import Contact, Customer
from kehu.customers.selectors import contacts as contact_selectors
from kehu.customers.selectors import customers as customer_selectors

CHUNK_SIZE = 2000
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A worksheet holds 1,048,576 rows; longer exports continue on the next sheet.
XLSX_ROWS_PER_SHEET = 1_000_000
STREAM_BLOCK = 64 * 1024
# Columns no export shows: not read (the search columns are the widest of a row).
UNEXPORTED = ("search_text", "search_grams", "notes", "consent")
CONTACT_UNEXPORTED = ("search_text", "search_grams", "notes")

Cells = list[Any]


@dataclass
class Export:
    """A prepared export: permission checked, audited, rows not yet read."""

    entity: str  # "customers" or "contacts"
    file_format: str
    rows: int
    header: list[str]
    lines: Iterator[Cells]
    filename_stem: str
    language: str = field(default_factory=lambda: translation.get_language() or "zh-hans")

    @property
    def filename(self) -> str:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"{self.filename_stem}-{stamp}.{self.file_format}"

    @property
    def ascii_filename(self) -> str:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return f"kehu-{self.entity}-{stamp}.{self.file_format}"


# ---------------------------------------------------------------------------- cells


def _time(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _phones(phones: list[dict[str, Any]], clear: bool) -> str:
    parts = []
    for phone in phones or []:
        number = str(phone.get("number", ""))
        text = number if clear else pii.mask_phone(number)
        if phone.get("ext"):
            text += f" #{phone['ext']}"
        parts.append(text)
    return "; ".join(parts)


def _addresses(addresses: list[dict[str, Any]], clear: bool) -> str:
    return "; ".join(str(a.get("text", "")) if clear else pii.mask_text(str(a.get("text", "")))
                     for a in addresses or [] if isinstance(a, dict))


@functools.lru_cache(maxsize=1024)
def _choice_label(language: str, model: type[Customer] | type[Contact], field: str,
                  value: str) -> str:
    # Labels once per language and value: get_FOO_display() per cell costs more than
    # reading the row (lazy translations hashed on every call).
    with translation.override(language):
        choices: Any = model._meta.get_field(field).flatchoices  # type: ignore[union-attr]
        return str(dict(choices).get(value, value))


def _display(obj: Customer | Contact, field: str) -> str:
    value = getattr(obj, field)
    if not value:
        return ""
    return _choice_label(translation.get_language() or "", type(obj), field, value)


def _tags(obj: Customer | Contact) -> str:
    return "; ".join(sorted(tag.name for tag in obj.tags.all()))


def _industry(code: str) -> str:
    found = reference.industry(code) if code else None
    return found.label if found else code


def _region(code: str) -> str:
    found = reference.region(code) if code else None
    return found.full_name if found else code


# (header, value of one customer; ``clear`` when the row's PII may be shown)
CUSTOMER_COLUMNS: tuple[tuple[Any, Callable[[Customer, bool], Any]], ...] = (
    (gettext_lazy("Customer code"), lambda c, _r: c.code),
    (gettext_lazy("Name"), lambda c, _r: c.name),
    (gettext_lazy("Short name"), lambda c, _r: c.short_name),
    (gettext_lazy("Kind"), lambda c, _r: _display(c, "kind")),
    (gettext_lazy("Unified social credit code"), lambda c, _r: c.uscc),
    (gettext_lazy("ID number"),
     lambda c, r: crypto.decrypt(c.id_number_encrypted) if r and c.id_number_encrypted
     else c.id_number_masked),
    (gettext_lazy("Industry"), lambda c, _r: _industry(c.industry)),
    (gettext_lazy("Region"), lambda c, _r: _region(c.region)),
    (gettext_lazy("Size"), lambda c, _r: _display(c, "size")),
    (gettext_lazy("Key-account tier"), lambda c, _r: _display(c, "tier")),
    (gettext_lazy("VIP grade"), lambda c, _r: _display(c, "vip_grade")),
    (gettext_lazy("Lifecycle status"), lambda c, _r: _display(c, "status")),
    (gettext_lazy("Phones"), lambda c, r: _phones(c.phones, r)),
    (gettext_lazy("Emails"), lambda c, r: "; ".join(
        e if r else pii.mask_email(e) for e in c.emails or [])),
    (gettext_lazy("Website"), lambda c, _r: c.website),
    (gettext_lazy("Addresses"), lambda c, r: _addresses(c.addresses, r)),
    (gettext_lazy("Tags"), lambda c, _r: _tags(c)),
    (gettext_lazy("Account manager"), lambda c, _r: c.owner.full_name if c.owner else ""),
    (gettext_lazy("Owning unit"), lambda c, _r: c.org_unit.name),
    (gettext_lazy("Data quality"), lambda c, _r: c.quality_score),
    (gettext_lazy("Created"), lambda c, _r: _time(c.created_at)),
)


def _contact_customers(contact: Contact) -> str:
    """The customers the exporter may see (``lines`` sets ``export_links``); the others
    are counted, never named."""
    links, hidden = getattr(contact, "export_links", ([], 0))
    parts = []
    for link in links:
        extra = " / ".join(p for p in (link.title, link.department) if p)
        parts.append(f"{link.customer.name}（{extra}）" if extra else link.customer.name)
    if hidden:
        parts.append(ngettext("and %(n)s more you cannot see", "and %(n)s more you cannot see",
                              hidden) % {"n": hidden})
    return "; ".join(parts)


CONTACT_COLUMNS: tuple[tuple[Any, Callable[[Contact, bool], Any]], ...] = (
    (gettext_lazy("Name"), lambda c, _r: c.name),
    (gettext_lazy("Gender"), lambda c, _r: _display(c, "gender")),
    (gettext_lazy("Customers"), lambda c, _r: _contact_customers(c)),
    (gettext_lazy("Phones"), lambda c, r: _phones(c.phones, r)),
    (gettext_lazy("Email"), lambda c, r: c.email if r else pii.mask_email(c.email)),
    (gettext_lazy("WeChat"), lambda c, _r: c.wechat),
    (gettext_lazy("Preferred channel"), lambda c, _r: _display(c, "preferred_channel")),
    (gettext_lazy("Birthday"), lambda c, _r: c.birthday.isoformat() if c.birthday else ""),
    (gettext_lazy("Tags"), lambda c, _r: _tags(c)),
    (gettext_lazy("Owner"), lambda c, _r: c.owner.full_name if c.owner else ""),
    (gettext_lazy("Owning unit"), lambda c, _r: c.org_unit.name),
    (gettext_lazy("Created"), lambda c, _r: _time(c.created_at)),
)


# ---------------------------------------------------------------------------- services


def _check_format(file_format: str) -> str:
    value = (file_format or "csv").strip().lower()
    if value not in FORMATS:
        raise ValidationFailed(fields={"format": [
            _("Choose the file format: csv or xlsx.")]})
    return value


def _check_reason(actor: User, module: str, reason: str | None) -> str:
    """The reveal reason, or "" for a masked export; revealing needs its own right."""
    text = normalize.fold(reason or "")
    if not text:
        return ""
    access.require(actor, f"{module}.reveal_pii")
    if len(text) < 2 or len(text) > 300:
        raise ValidationFailed(fields={"reveal_reason": [
            _("Say in 2 to 300 characters why you need the unmasked values.")]})
    return text


def _audit_query(value: str) -> str:
    """A search text as the audit log keeps it: a phone or ID number in it is masked."""
    if re.search(r"\d{6,}", value):
        return pii.mask_id_number(value) if len(value) >= 15 else pii.mask_phone(value)
    return value


def _audit_filters(filters: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in filters.items() if value not in ("", None, [])}
    if "q" in kept:
        kept["q"] = _audit_query(str(kept["q"]))
    return kept


def customer_export(*, actor: User, filters: customer_selectors.CustomerFilters | None = None,
                    file_format: str = "csv", reveal_reason: str | None = None) -> Export:
    """The customers the list ``filters`` select among those ``actor`` may export.

    Masked unless ``reveal_reason`` is given by a user holding customers.reveal_pii; the
    export (filters, row count, reason) is one ``customer.export`` audit event.
    """
    access.require(actor, "customers.export")
    file_format = _check_format(file_format)
    reason = _check_reason(actor, "customers", reveal_reason)
    f = filters or customer_selectors.CustomerFilters()
    qs = customer_selectors.customer_list(actor=actor, filters=f, action="export")
    rows = qs.count()
    changes: dict[str, Any] = {"filters": _audit_filters(asdict(f)), "rows": rows,
                               "format": file_format}
    if reason:
        changes |= {"reason": reason,
                    "revealed": ["id_number", "phones", "emails", "addresses"]}
    audit.record(actor=actor, action="customer.export", object_type="customer",
                 changes=changes)

    def lines() -> Iterator[Cells]:
        rows = qs.defer(*UNEXPORTED).prefetch_related("tags")
        for customer in rows.iterator(chunk_size=CHUNK_SIZE):
            # Clear values only where the reveal scope covers the row (it may be narrower
            # than the export scope).
            clear = bool(reason) and access.allows(actor, customer, "reveal_pii")
            yield [value(customer, clear) for _label, value in CUSTOMER_COLUMNS]

    return Export(entity="customers", file_format=file_format, rows=rows,
                  header=[str(label) for label, _value in CUSTOMER_COLUMNS], lines=lines(),
                  filename_stem=_("customers"))


def contact_export(*, actor: User, q: str = "", customer_id: int | None = None,
                   file_format: str = "csv", reveal_reason: str | None = None) -> Export:
    """The contacts ``actor`` may export, optionally searched or of one customer."""
    access.require(actor, "contacts.export")
    file_format = _check_format(file_format)
    reason = _check_reason(actor, "contacts", reveal_reason)
    qs = contact_selectors.contact_list(actor=actor, q=q, customer_id=customer_id,
                                        action="export") \
        .select_related("owner", "org_unit").prefetch_related("tags")
    rows = qs.count()
    changes: dict[str, Any] = {
        "filters": _audit_filters({"q": q, "customer_id": customer_id}), "rows": rows,
        "format": file_format}
    if reason:
        changes |= {"reason": reason, "revealed": ["phones", "email"]}
    audit.record(actor=actor, action="contact.export", object_type="contact", changes=changes)

    def lines() -> Iterator[Cells]:
        found = qs.defer(*CONTACT_UNEXPORTED).iterator(chunk_size=CHUNK_SIZE)
        while batch := list(itertools.islice(found, CHUNK_SIZE)):
            references.prime_objects(actor, (link.customer for contact in batch
                                             for link in contact.customer_links.all()))
            for contact in batch:
                contact.export_links = references.split(  # type: ignore[attr-defined]
                    actor, contact.customer_links.all(), lambda link: link.customer)
                clear = bool(reason) and access.allows(actor, contact, "reveal_pii")
                yield [value(contact, clear) for _label, value in CONTACT_COLUMNS]

    return Export(entity="contacts", file_format=file_format, rows=rows,
                  header=[str(label) for label, _value in CONTACT_COLUMNS], lines=lines(),
                  filename_stem=_("contacts"))


# ---------------------------------------------------------------------------- files


def csv_chunks(export: Export) -> Iterator[str]:
    """The export as CSV text, row by row: UTF-8 with a byte-order mark (Excel)."""
    with translation.override(export.language):
        lines = csv_lines(itertools.chain([export.header], export.lines), bom=False)
        yield UTF8_BOM + next(lines)
        yield from lines


def export_dir() -> Path:
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_xlsx(export: Export) -> Path:
    """Write the export to a temporary XLSX file (write-only workbook: constant memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- deleted by TempFileStream
        dir=export_dir(), prefix="export-", suffix=".xlsx", delete=False)
    handle.close()
    path = Path(handle.name)
    try:
        with translation.override(export.language):
            workbook = Workbook(write_only=True)
            bold = Font(bold=True)
            sheet: Any = None
            in_sheet = XLSX_ROWS_PER_SHEET
            title = _("Customers") if export.entity == "customers" else _("Contacts")
            for line in export.lines:
                if in_sheet >= XLSX_ROWS_PER_SHEET:
                    number = len(workbook.worksheets) + 1
                    sheet = workbook.create_sheet(title if number == 1 else f"{title} {number}")
                    sheet.freeze_panes = "A2"
                    header = []
                    for text in export.header:
                        cell = WriteOnlyCell(sheet, value=xlsx_value(text))
                        cell.font = bold
                        header.append(cell)
                    sheet.append(header)
                    in_sheet = 0
                sheet.append([xlsx_value(value) for value in line])
                in_sheet += 1
            if sheet is None:  # no rows: still a sheet with the header
                sheet = workbook.create_sheet(title)
                sheet.append([xlsx_value(text) for text in export.header])
            workbook.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


class TempFileStream:
    """A file's content in blocks; the file is deleted when the response is closed
    (also when the client went away before reading it all)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")

    def __iter__(self) -> Iterator[bytes]:
        while block := self._file.read(STREAM_BLOCK):
            yield block

    def close(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def content_disposition(export: Export) -> str:
    """``attachment`` with an ASCII name and the translated UTF-8 name (RFC 6266)."""
    return (f'attachment; filename="{export.ascii_filename}"; '
            f"filename*=UTF-8''{quote(export.filename)}")


def response(export: Export) -> StreamingHttpResponse:
    """The export as a download, streamed."""
    body: Any
    if export.file_format == "xlsx":
        body = TempFileStream(write_xlsx(export))
    else:
        body = csv_chunks(export)
    result = StreamingHttpResponse(body, content_type=CONTENT_TYPES[export.file_format])
    result["Content-Disposition"] = content_disposition(export)
    result["X-Export-Rows"] = str(export.rows)
    result["Cache-Control"] = "no-store"
    return result
