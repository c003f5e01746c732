"""Background jobs of the customers app (run by ``kehu worker``)."""

from __future__ import annotations

import time

from huey.contrib.djhuey import db_task

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
