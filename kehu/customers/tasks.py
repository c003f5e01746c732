"""Background jobs of the customers app (run by ``kehu worker``)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from kehu.customers.services import imports as import_services


@db_task()
def run_import(job_id: int) -> None:
    """Run a queued import. A second delivery finds the job no longer queued and does
    nothing (``import_services.run_job`` claims it queued → running once)."""
    import_services.run_job(job_id)


def enqueue_import(job_id: int) -> None:
    """Hand a queued job to the worker (in immediate mode: run it now)."""
    run_import(job_id)
