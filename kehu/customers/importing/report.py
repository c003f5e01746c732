"""What an import reports: the rejected rows with their reasons (CSV, the file's own
cells, ID numbers and phones masked unless the reader may see them) and the summary the
CLI prints.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

from kehu.core import access, pii
from kehu.core.models import User
from kehu.core.spreadsheets import csv_lines, safe_cell
from kehu.customers.importing.files import Source, stored_path
from kehu.customers.importing.mapping import reveal_permission, split_values
from kehu.customers.models import ImportIssue, ImportJob

State = ImportJob.State


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



def report_csv(job: ImportJob, *, reveal: bool) -> Iterator[str]:
    """The report as CSV text chunks, UTF-8 with a BOM so that Excel reads Chinese."""
    yield from csv_lines(report_rows(job, reveal=reveal))


def may_reveal_report(actor: User, job: ImportJob) -> bool:
    return job.owner_id == actor.pk or access.has_perm(actor, reveal_permission(job.entity))


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



def report_response(job: ImportJob, *, reveal: bool) -> StreamingHttpResponse:
    """The report as a CSV download (the API and the wizard page serve the same file)."""
    response = StreamingHttpResponse(report_csv(job, reveal=reveal),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kehu-import-{job.pk}-report.csv"'
    return response
