"""Spreadsheet imports of customers and contacts (requirement B6): the services behind
the wizard, the API and ``kehu import``.

- ``import_create`` stores an upload and proposes a mapping of its columns
  (``importing.files``, ``importing.mapping``);
- ``import_set_mapping`` / ``import_set_duplicates`` change the mapping and the
  duplicate choices (skip / update / create, a default and per-row overrides);
- ``import_check_queue`` / ``check_job`` are the dry run (``importing.processor``
  without writing), queued by the request and run in the worker with progress; the
  findings are stored as ``ImportIssue`` rows, nothing else is written
  (``import_check`` runs both at once, for the command line);
- ``import_queue`` / ``run_job`` run the import in one transaction: all accepted rows or
  nothing. Progress goes to a small file next to the upload, readable by the web process
  while the worker's transaction is still open (see docs/imports.md).
- ``recover_interrupted`` marks failed a job whose worker died mid-run (SIGKILL, power
  loss): its transaction was rolled back by the database, so nothing was written and the
  job may be queued again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.core import access, audit, worker
from kehu.core.exceptions import Conflict, KehuError, NotFound, ValidationFailed
from kehu.core.models import User
from kehu.customers import normalize
from kehu.customers.importing.files import (
    Source,
    check_encoding,
    detect_encoding,
    detect_format,
    import_dir,
    max_bytes,
    progress_path,
    read_headers,
    save_upload,
    write_progress,
)
from kehu.customers.importing.mapping import (
    entity_choices,
    entity_permission,
    missing_fields,
    propose_mapping,
    targets,
)
from kehu.customers.importing.processor import processor_class
from kehu.customers.models import ImportJob
from kehu.customers.services.customers import assign_generated_codes

DUPLICATE_ACTIONS = ("skip", "update", "create")
State = ImportJob.State
logger = logging.getLogger("kehu.imports")
# A running job whose progress file has not moved for this long has lost its worker even
# when that worker ran on another machine (a batch of rows takes seconds, not minutes).
STALE_AFTER = dt.timedelta(minutes=30)


def _own_job(actor: User, job_id: int, *, for_update: bool = False) -> ImportJob:
    """A job the actor may act on: visible for ``imports.create`` and uploaded by them
    (a manager who sees a rep's import does not run it in the rep's name)."""
    job = access.get_for(ImportJob, actor, job_id, "create", for_update=for_update)
    if job.owner_id != actor.pk:
        raise NotFound()
    return job




@transaction.atomic
def import_create(*, actor: User, entity: str, file_name: str, chunks: Iterable[bytes],
                  encoding: str = "") -> ImportJob:
    """Store an upload and propose a mapping of its columns."""
    access.require(actor, "imports.create")
    if entity not in dict(entity_choices()):
        raise ValidationFailed(fields={"entity": [_("Choose what to import.")]})
    access.require(actor, entity_permission(entity))
    chosen = check_encoding(encoding) if encoding else ""
    file_name = Path(normalize.fold(file_name or "upload.csv")).name[:255] or "upload.csv"
    stored = save_upload(chunks, max_bytes())
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


def _refuse_unless_editable(job: ImportJob) -> None:
    if job.state == State.CHECKING:
        raise Conflict(_("The file is being checked; change it when the check is done."))
    if job.state not in EDITABLE:
        raise Conflict(_("This import has already run; upload the file again to change it."))


@transaction.atomic
def import_set_mapping(*, actor: User, job_id: int, mapping: dict[str, str]) -> ImportJob:
    """Replace the mapping (header → field, "" for not imported). A changed mapping
    needs a new dry run."""
    job = _own_job(actor, job_id, for_update=True)
    _refuse_unless_editable(job)
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
    missing = missing_fields(job.entity, set(used))
    if missing and not errors:
        errors.setdefault("mapping", []).append(missing)
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
    _refuse_unless_editable(job)
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


@transaction.atomic
def import_check_queue(*, actor: User, job_id: int) -> ImportJob:
    """Start the dry run: what can be refused without reading the rows is refused here,
    at once (a job already run, no permission, no column mapped to the name); the rows
    are then read by ``check_job`` in the worker (``tasks.enqueue_check``), never in a
    request. The job is ``checking`` until the worker is done."""
    job = _own_job(actor, job_id, for_update=True)
    if job.state not in (*EDITABLE, State.CHECKING):
        raise Conflict(_("This import has already run."))
    access.require(actor, entity_permission(job.entity))
    missing = missing_fields(job.entity, set(job.mapping.values()))
    if missing:
        raise ValidationFailed(fields={"mapping": [missing]})
    job.issues.all().delete()
    job.state = State.CHECKING
    job.counts = {}
    job.total_rows = job.processed_rows = 0
    job.error = ""
    job.save()
    return job


def check_job(job_id: int) -> ImportJob | None:
    """The dry run of a ``checking`` job, as its uploader: row errors and duplicates
    stored as issues, nothing else written. A file that cannot be checked (unreadable,
    too many rows, changed columns) leaves the job ``uploaded`` with the reason in
    ``error``.

    Not one transaction: the findings are stored batch by batch, so that a long check
    does not hold SQLite's write lock (the run does, and says so in the docs).
    """
    job = ImportJob.objects.filter(pk=job_id, state=State.CHECKING).first()
    if job is None:
        return None  # changed or checked since it was queued
    try:
        actor = User.objects.select_related("org_unit", "tenant").get(pk=job.owner_id)
        if not actor.is_active:
            raise ValidationFailed(_("The user who uploaded this import is deactivated."))
        access.require(actor, entity_permission(job.entity))
        write_progress(job, 0)
        counts = processor_class(job.entity)(
            job, actor, write=False, on_progress=lambda n: write_progress(job, n)).process()
    except Exception as exc:
        job.issues.all().delete()
        message = str(getattr(exc, "message", "") or exc) or exc.__class__.__name__
        ImportJob.objects.filter(pk=job.pk, state=State.CHECKING).update(
            state=State.UPLOADED, counts={}, error=message[:2000])
        job.refresh_from_db()
        if not isinstance(exc, KehuError):
            raise  # unexpected: the worker logs it with its traceback
        return job
    finally:
        progress_path(job).unlink(missing_ok=True)
    ImportJob.objects.filter(pk=job.pk, state=State.CHECKING).update(
        counts=counts, total_rows=counts["rows"], processed_rows=0, state=State.CHECKED,
        error="", updated_at=timezone.now())
    job.refresh_from_db()
    return job


def import_check(*, actor: User, job_id: int) -> ImportJob:
    """The whole dry run in this process, for ``kehu import`` and tests (requests queue
    it: ``import_check_queue``). Raises what the check found wrong with the file."""
    job = import_check_queue(actor=actor, job_id=job_id)
    checked = check_job(job.pk)
    if checked is None or checked.state != State.CHECKED:
        raise ValidationFailed(checked.error if checked else _("The check did not run."),
                               fields={"file": [checked.error]} if checked else {})
    return checked


@transaction.atomic
def import_queue(*, actor: User, job_id: int) -> ImportJob:
    """Mark a checked job queued; the caller then hands it to the worker (tasks)."""
    job = _own_job(actor, job_id, for_update=True)
    # A failed run wrote nothing (one transaction), so the job may run again.
    if job.state not in (State.CHECKED, State.FAILED):
        if job.state == State.UPLOADED:
            raise Conflict(_("Run the check (dry run) first."))
        if job.state == State.CHECKING:
            raise Conflict(_("The file is being checked; start the import when the check "
                             "is done."))
        raise Conflict(_("This import has already been started; it runs only once."))
    access.require(actor, entity_permission(job.entity))
    if job.state == State.FAILED:
        audit.record(actor=actor, action="import.retry", obj=job,
                     changes={"error": [job.error, ""]})
    job.state = State.QUEUED
    job.error = ""
    job.finished_at = None
    job.save()
    return job


def _claim(job_id: int) -> ImportJob | None:
    """queued → running, once: a second delivery of the task finds nothing to do."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job_id, state=State.QUEUED).update(
            state=State.RUNNING, processed_rows=0, runner=worker.process_id(),
            updated_at=timezone.now())
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
        access.require(actor, entity_permission(job.entity))
        with transaction.atomic():
            job.issues.all().delete()
            counts = processor_class(job.entity)(
                job, actor, write=True, on_progress=lambda n: write_progress(job, n)).process()
            if job.entity == ImportJob.Entity.CUSTOMERS:
                assign_generated_codes(actor.tenant_id)
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
        progress_path(job).unlink(missing_ok=True)
    return job


def _progress_age(job: ImportJob, now: dt.datetime) -> dt.timedelta:
    try:
        moved = dt.datetime.fromtimestamp(progress_path(job).stat().st_mtime, tz=dt.UTC)
    except FileNotFoundError:
        moved = job.updated_at
    return now - moved


def recover_interrupted(now: dt.datetime | None = None) -> list[int]:
    """Mark failed every running job whose worker died (on this host: its process is gone;
    anywhere: no progress for ``STALE_AFTER``). The database rolled back the dead
    worker's transaction, so nothing of the job was written; it can be queued again.
    Called when a worker starts and every few minutes (tasks)."""
    now = now or timezone.now()
    recovered: list[int] = []
    for job in ImportJob.objects.filter(state=State.RUNNING).only(
            "pk", "runner", "stored_name", "updated_at"):
        if not (worker.process_gone(job.runner) or _progress_age(job, now) > STALE_AFTER):
            continue
        with translation.override(settings.LANGUAGE_CODE):  # as the worker stores errors
            message = _("The worker stopped while this import was running, so nothing was "
                        "written. Start it again.")
        if ImportJob.objects.filter(pk=job.pk, state=State.RUNNING, runner=job.runner).update(
                state=State.FAILED, error=message, finished_at=now, updated_at=now):
            progress_path(job).unlink(missing_ok=True)
            logger.warning("Import %s was interrupted (worker %s gone); marked failed.",
                           job.pk, job.runner)
            recovered.append(job.pk)
    return recovered
