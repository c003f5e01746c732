"""Import uploads and transactions: the file of a job whose transaction rolls back is
removed; one a crash left without its job is swept once older than the grace period,
while a job's upload and progress file stay."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from kehu.core import uploads
from kehu.core.testing import World
from kehu.customers.importing.files import import_dir, progress_path, stored_path
from kehu.customers.models import ImportJob
from kehu.customers.services import imports as import_services

pytestmark = pytest.mark.django_db

CSV = "客户名称,电话\n广州测试有限公司,13812345678\n".encode()


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def create(world: World) -> ImportJob:
    return import_services.import_create(actor=world.city_a1_rep, entity="customers",
                                         file_name="客户.csv", chunks=[CSV])


def test_a_rolled_back_import_leaves_no_file(world: World) -> None:
    written: list[Path] = []

    @transaction.atomic
    def create_then_fail() -> None:
        written.append(stored_path(create(world)))
        assert written[0].exists()
        raise Boom

    with pytest.raises(Boom):
        create_then_fail()
    gc.collect()
    path = written[0]
    assert not path.exists() and not ImportJob.objects.exists()


def test_sweeper_keeps_jobs_files_and_fresh_orphans(
        world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = create(world)
    progress_path(job).write_text("0")
    orphan, fresh = import_dir() / "dead.upload", import_dir() / "young.upload"
    orphan.write_bytes(CSV)
    fresh.write_bytes(CSV)
    then = time.time() - 7 * 3600
    for path in (orphan, stored_path(job), progress_path(job)):
        os.utime(path, (then, then))
    assert uploads.sweep() == {"imports": 1}
    assert sorted(p.name for p in import_dir().iterdir()) == sorted(
        [job.stored_name, f"{job.stored_name}.progress", "young.upload"])
