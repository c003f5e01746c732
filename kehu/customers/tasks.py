"""Background jobs of the customers app (run by ``kehu worker``)."""

from __future__ import annotations

import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from kehu.core import metrics
from kehu.customers.models import ImportJob
from kehu.customers.services import imports as import_services


@db_task()
def run_import(job_id: int) -> None:
    """Run a queued import. A second delivery finds the job no longer queued and does
    nothing (``import_services.run_job`` claims it queued → running once)."""
    started = time.monotonic()
    job = import_services.run_job(job_id)
    if job is not None and job.state == ImportJob.State.DONE:
        metrics.import_finished(job.entity, job.total_rows, time.monotonic() - started)


def enqueue_import(job_id: int) -> None:
    """Hand a queued job to the worker (in immediate mode: run it now)."""
    run_import(job_id)


@db_task()
def check_import(job_id: int) -> None:
    """The dry run of a job the request left ``checking`` (the request reads no rows). A
    job changed or checked since finds nothing to do."""
    import_services.check_job(job_id)


def enqueue_check(job_id: int) -> None:
    """Hand a job's dry run to the worker (in immediate mode: run it now)."""
    check_import(job_id)


@HUEY.on_startup()
def recover_interrupted_imports() -> None:
    """A worker starting after a crash fails the imports its predecessor left running
    (their transaction was rolled back: nothing written; they can be started again)."""
    from django.db import close_old_connections

    import_services.recover_interrupted()
    close_old_connections()


@db_periodic_task(crontab(minute="*/5"))
def recover_interrupted_imports_periodically() -> None:
    """The same for a worker that died on another machine (no progress for a while)."""
    import_services.recover_interrupted()


@db_periodic_task(crontab(minute="40", hour="3"))
def retention_rules_daily() -> int:
    """The tenants' retention rules: yesterday's dry-run report acted on, then a new one
    (kehu.customers.services.privacy.retention_run_all)."""
    from kehu.customers.services import privacy

    return privacy.retention_run_all()
