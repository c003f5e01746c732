"""HTML pages of the import wizard: upload → mapping → dry run → run with progress →
summary and report. Thin: the engine (``services.imports``, ``kehu.customers.importing``)
decides everything.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, worker
from kehu.core.exceptions import KehuError
from kehu.core.web import is_htmx, page, require, service_error, user
from kehu.customers import tasks
from kehu.customers.forms.imports import UploadForm
from kehu.customers.importing import files as import_files
from kehu.customers.importing import mapping as import_columns
from kehu.customers.importing import report as import_reports
from kehu.customers.models import ImportJob
from kehu.customers.selectors import imports as import_selectors
from kehu.customers.services import imports as import_services

ISSUES_PER_PAGE = 50
# States in which the worker has the job (a dry run, or the import): the page polls.
BUSY = (ImportJob.State.CHECKING, ImportJob.State.QUEUED, ImportJob.State.RUNNING)
SAMPLE_ROWS = 3


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return import_selectors.import_get(actor=user(request), job_id=pk)


@page("imports.view")
def import_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    can_create = access.has_perm(me, "imports.create") and any(
        access.has_perm(me, import_columns.entity_permission(key))
        for key, _label in import_columns.entity_choices())
    form = UploadForm(initial={"entity": request.GET["entity"]}) \
        if request.GET.get("entity") else UploadForm()
    status = 200
    if request.method == "POST":
        if not can_create:
            require(me, "imports.create")
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = import_services.import_create(actor=me, entity=form.cleaned_data["entity"],
                                                    file_name=upload.name, chunks=upload.chunks(),
                                                    encoding=form.cleaned_data["encoding"])
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                return redirect("import_detail", pk=job.pk)
        status = 422
    jobs = Paginator(import_selectors.import_list(actor=me), 25).get_page(request.GET.get("page"))
    return render(request, "customers/imports/list.html", {
        "form": form, "page_obj": jobs, "can_create": can_create}, status=status)


def _samples(job: ImportJob) -> list[list[str]]:
    """A few values of each column, to tell the columns apart while mapping."""
    source = import_files.Source(import_files.stored_path(job), job.file_format, job.encoding)
    try:
        rows = list(islice(source.rows(), 1, 1 + SAMPLE_ROWS))
    except (KehuError, OSError):
        rows = []  # a file gone or damaged since the upload: the check will say so
    return [[row[i] for row in rows if i < len(row) and row[i]] for i in range(len(job.headers))]


def _detail_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    me = user(request)
    targets = import_columns.targets(job.entity)
    labels = {t.key: t.label for t in targets}
    samples = _samples(job) if job.state in import_services.EDITABLE else []
    columns = [{"index": i, "header": h, "field": job.mapping.get(h, ""),
                "samples": samples[i] if i < len(samples) else []}
               for i, h in enumerate(job.headers)]
    kind = request.GET.get("kind", "")
    issues = job.issues.all()
    if kind in ("error", "duplicate"):
        issues = issues.filter(kind=kind)
    issue_page = Paginator(issues.order_by("row", "id"), ISSUES_PER_PAGE) \
        .get_page(request.GET.get("page"))
    for issue in issue_page:
        issue.field_label = labels.get(issue.field, issue.field)  # type: ignore[attr-defined]
        issue.choice = job.duplicate_actions.get(  # type: ignore[attr-defined]
            str(issue.row), "")
    counts = job.counts or {}
    return {
        "job": job, "columns": columns, "targets": targets, "counts": counts,
        "issue_page": issue_page, "kind": kind,
        "query": f"kind={kind}" if kind else "",
        "mine": job.owner_id == me.pk, "editable": job.state in import_services.EDITABLE,
        "progress": import_files.progress_percent(job),
        "processed": import_files.live_progress(job),
        "actions": [("skip", _("Skip")), ("update", _("Update the existing record")),
                    ("create", _("Create anyway"))],
        "has_duplicates": counts.get("duplicates", 0) > 0,
        # Only asked while the job waits for the worker (one read of the task store).
        "worker_missing": job.state in (ImportJob.State.CHECKING, ImportJob.State.QUEUED)
        and not worker.is_running(),
    }


@page("imports.view")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "customers/imports/detail.html", _detail_context(request, job))


def _check(request: HttpRequest, job: ImportJob) -> None:
    """Queue the dry run: the worker reads the rows, the page shows its progress."""
    job = import_services.import_check_queue(actor=user(request), job_id=job.pk)
    tasks.enqueue_check(job.pk)


@require_POST
@page("imports.create")
def import_mapping(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Save the mapping and queue the dry run: the next page follows it to its result."""
    job = _job(request, pk)
    mapping = {header: request.POST.get(f"map-{i}", "") for i, header in enumerate(job.headers)}
    try:
        import_services.import_set_mapping(actor=user(request), job_id=job.pk, mapping=mapping)
        _check(request, job)
    except KehuError as exc:
        service_error(request, None, exc)
        for field, reasons in exc.fields.items():
            for reason in reasons:
                messages.error(request, f"{field}: {reason}")
    return redirect("import_detail", pk=pk)


@require_POST
@page("imports.create")
def import_duplicates(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job(request, pk)
    rows = {key.removeprefix("row-"): str(value) for key, value in request.POST.items()
            if key.startswith("row-")}
    try:
        job = import_services.import_set_duplicates(actor=user(request), job_id=job.pk,
                                                    default=request.POST.get("default") or None,
                                                    rows=rows)
        _check(request, job)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Choices saved."))
    return redirect("import_detail", pk=pk)


@require_POST
@page("imports.create")
def import_run(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job(request, pk)
    try:
        job = import_services.import_queue(actor=user(request), job_id=job.pk)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        tasks.enqueue_import(job.pk)
    return redirect("import_detail", pk=pk)


@page("imports.view")
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress of the dry run or the import, polled by htmx; once either has
    finished, the whole page reloads to show the result."""
    job = _job(request, pk)
    response = render(request, "customers/imports/detail.html#progress",
                      _detail_context(request, job))
    if job.state not in BUSY and is_htmx(request):
        response["HX-Refresh"] = "true"
    return response


@page("imports.view")
def import_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = _job(request, pk)
    reveal = import_reports.may_reveal_report(user(request), job)
    return import_reports.report_response(job, reveal=reveal)
