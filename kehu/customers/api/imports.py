"""REST endpoints of spreadsheet imports (upload, mapping, dry run, run, status, report).

Thin: parse, call ``services.imports`` / ``selectors.imports``, shape. A job is visible as
``ImportJob.objects.visible_to`` says; only its uploader changes, checks or runs it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from kehu.core.http import DbId, Page, PageQuery, current_user, idempotent, paginate, responses
from kehu.customers import tasks
from kehu.customers.importing import files as import_files
from kehu.customers.importing import mapping as import_columns
from kehu.customers.importing import report as import_reports
from kehu.customers.models import ImportJob
from kehu.customers.schemas.imports import (
    DuplicatesIn,
    Encoding,
    ImportOut,
    IssueOut,
    IssueQuery,
    MappingIn,
    entity_type,
)
from kehu.customers.selectors import imports as import_selectors
from kehu.customers.services import imports as import_services

imports_router = Router(tags=["imports"])
ImportEntity = entity_type()


def job_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk, "entity": job.entity, "state": job.state,
        "state_label": str(job.get_state_display()), "file_name": job.file_name,
        "file_format": job.file_format, "encoding": job.encoding, "headers": job.headers,
        "mapping": job.mapping,
        "fields": [{"key": t.key, "label": str(t.label)}
                   for t in import_columns.targets(job.entity)],
        "duplicate_default": job.duplicate_default, "duplicate_actions": job.duplicate_actions,
        "total_rows": job.total_rows, "processed_rows": import_files.live_progress(job),
        "progress": import_files.progress_percent(job), "counts": job.counts or {},
        "error": job.error, "owner_id": job.owner_id, "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@imports_router.get("", response=responses({200: Page[ImportOut]}))
def import_list(request: HttpRequest, query: Query[PageQuery]) -> dict:
    """Imports you may see, newest first."""
    page = paginate(import_selectors.import_list(actor=current_user(request)), query)
    page["items"] = [job_out(job) for job in page["items"]]
    return page


@imports_router.post("", response=responses({201: ImportOut}, 403))
@idempotent()
def import_upload(request: HttpRequest, file: File[UploadedFile],
                  entity: Form[ImportEntity],  # type: ignore[valid-type]
                  encoding: Form[Encoding] = "") -> Status:
    """Upload a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, Big5, UTF-16) or XLSX file
    (multipart: `file`, `entity` — customers, contacts or interactions —, optional
    `encoding`): returns the detected headers and a proposed mapping."""
    job = import_services.import_create(actor=current_user(request), entity=entity,
                                        file_name=file.name or "", chunks=file.chunks(),
                                        encoding=encoding)
    return Status(201, job_out(job))


@imports_router.get("/{job_id}", response=responses({200: ImportOut}, 404))
def import_detail(request: HttpRequest, job_id: DbId) -> dict:
    """State, progress (percent) and counts of one import."""
    return job_out(import_selectors.import_get(actor=current_user(request), job_id=job_id))


@imports_router.post("/{job_id}/mapping", response=responses({200: ImportOut}, 404, 409))
@idempotent()
def import_mapping(request: HttpRequest, job_id: DbId, payload: MappingIn) -> dict:
    """Change which column goes to which field; a changed mapping needs a new check."""
    return job_out(import_services.import_set_mapping(actor=current_user(request), job_id=job_id,
                                                      mapping=payload.mapping))


@imports_router.post("/{job_id}/duplicates", response=responses({200: ImportOut}, 404, 409))
@idempotent()
def import_duplicates(request: HttpRequest, job_id: DbId, payload: DuplicatesIn) -> dict:
    """What to do with rows that match existing data: skip, update or create."""
    return job_out(import_services.import_set_duplicates(
        actor=current_user(request), job_id=job_id, default=payload.default, rows=payload.rows))


@imports_router.post("/{job_id}/check", response=responses({202: ImportOut}, 403, 404, 409))
@idempotent()
def import_check(request: HttpRequest, job_id: DbId) -> Status:
    """Queue the dry run for the background worker: it finds row errors and duplicates
    (see `/issues`) and writes no records. A mapping without a name column is refused at
    once (422). Poll `GET /imports/{id}`: `checking` (with `processed_rows`) until
    `checked` with `counts`, or `uploaded` with `error` if the file cannot be checked."""
    job = import_services.import_check_queue(actor=current_user(request), job_id=job_id)
    tasks.enqueue_check(job.pk)
    job.refresh_from_db()
    return Status(202, job_out(job))


@imports_router.post("/{job_id}/run", response=responses({202: ImportOut}, 403, 404, 409))
@idempotent()
def import_run(request: HttpRequest, job_id: DbId) -> Status:
    """Queue a checked import for the background worker; it runs once. Poll
    `GET /imports/{id}` for its progress."""
    job = import_services.import_queue(actor=current_user(request), job_id=job_id)
    tasks.enqueue_import(job.pk)
    job.refresh_from_db()
    return Status(202, job_out(job))


@imports_router.get("/{job_id}/issues", response=responses({200: Page[IssueOut]}, 404))
def import_issues(request: HttpRequest, job_id: DbId, query: Query[IssueQuery]) -> dict:
    """Row-level errors and duplicates of the last check or run, by row."""
    job = import_selectors.import_get(actor=current_user(request), job_id=job_id)
    issues = job.issues.all()
    if query.kind:
        issues = issues.filter(kind=query.kind)
    return paginate(issues, query, ordering=("row", "id"))


@imports_router.get("/{job_id}/report", response=responses({200: None}, 404))
def import_report(request: HttpRequest, job_id: DbId) -> StreamingHttpResponse:
    """The rows not imported, with their reasons, as CSV (UTF-8 with BOM)."""
    actor = current_user(request)
    job = import_selectors.import_get(actor=actor, job_id=job_id)
    return import_reports.report_response(job, reveal=import_reports.may_reveal_report(actor, job))
