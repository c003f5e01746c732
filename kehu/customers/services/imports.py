"""Spreadsheet imports of customers and contacts (requirement B6): the services behind
the wizard, the API and ``kehu import``.

- ``import_create`` stores an upload and proposes a mapping of its columns
  (``importing.files``, ``importing.mapping``);
- ``import_set_mapping`` / ``import_set_duplicates`` change the mapping and the
  duplicate choices (skip / update / create, a default and per-row overrides);
- ``import_check`` is the dry run (``importing.processor`` without writing): the
  findings are stored as ``ImportIssue`` rows, nothing else is written;
- ``import_queue`` / ``run_job`` run the import in one transaction: all accepted rows or
  nothing. Progress goes to a small file next to the upload, readable by the web process
  while the worker's transaction is still open (see docs/imports.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
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
        access.require(actor, entity_permission(job.entity))
        missing = missing_fields(job.entity, set(job.mapping.values()))
        if missing:
            raise ValidationFailed(fields={"mapping": [missing]})
        job.issues.all().delete()
        job.state = State.CHECKING
        job.save()
    try:
        counts = processor_class(job.entity)(job, actor, write=False).process()
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
    access.require(actor, entity_permission(job.entity))
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
