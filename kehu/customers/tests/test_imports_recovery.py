"""An import whose worker died mid-run: failed by the next worker, started again once.
With real processes (SIGKILL of `kehu worker`): tests/faults/test_worker_killed_mid_import.py."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kehu.core import worker
from kehu.core.models import AuditEvent
from kehu.core.testing import World
from kehu.customers.models import Customer, ImportJob
from kehu.customers.services import imports as import_services
from kehu.customers.tests.test_imports import run, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def running(world: World, runner: str) -> ImportJob:
    job = upload(world.hq_admin, "名称\n甲公司\n乙公司\n")
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    ImportJob.objects.filter(pk=job.pk).update(state="running", runner=runner)
    return job


def test_a_job_of_a_dead_worker_is_failed_and_runs_again_once(world: World) -> None:
    job = running(world, f"{socket.gethostname()}:999999999:deadbeef")
    assert import_services.recover_interrupted() == [job.pk]
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and "没有写入任何内容" in job.error
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    assert AuditEvent.objects.filter(action="import.retry", object_id=str(job.pk)).exists()
    job = run(job)
    assert job.state == ImportJob.State.DONE
    assert sorted(Customer.objects.filter(name__in=["甲公司", "乙公司"])
                  .values_list("name", flat=True)) == ["乙公司", "甲公司"]


def test_live_workers_keep_their_jobs(world: World) -> None:
    mine = running(world, worker.process_id())
    elsewhere = running(world, "other-host:42:cafe")
    assert import_services.recover_interrupted() == []
    # Any job (another machine's too): failed once its progress has not moved for long.
    later = timezone.now() + import_services.STALE_AFTER + dt.timedelta(minutes=1)
    assert sorted(import_services.recover_interrupted(later)) == [mine.pk, elsewhere.pk]
    assert ImportJob.objects.get(pk=elsewhere.pk).state == ImportJob.State.FAILED


def test_our_own_pid_under_another_token_is_a_dead_worker(world: World) -> None:
    import os

    job = running(world, f"{socket.gethostname()}:{os.getpid()}:not-this-one")
    assert import_services.recover_interrupted() == [job.pk]
