"""Files and transactions: a document file whose row rolls back is removed at once; one a
crash left without its row is swept once older than the grace period."""

from __future__ import annotations

import gc
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from kehu.core import uploads
from kehu.core.testing import World
from kehu.documents import services, storage
from kehu.documents.models import Document
from kehu.documents.testing import SAMPLE_PDF

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def files_in(data_dir: Path) -> list[Path]:
    folder = data_dir / "documents"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload(world: World, book: Any, name: str = "合同.pdf") -> Document:
    return services.document_upload(actor=world.city_a1_rep, file_name=name,
                                    chunks=[SAMPLE_PDF], customer_id=book.rep.pk)


def upload_then_fail(world: World, book: Any, name: str, written: list[Path]) -> None:
    with transaction.atomic():
        document = upload(world, book, name)
        written.append(storage.stored_path(document.tenant_id, document.storage_name))
        assert written[-1].exists()  # written, its row not yet committed
        raise Boom


def test_a_rolled_back_upload_leaves_no_file(world: World, book: Any, data_dir: Path) -> None:
    written: list[Path] = []
    with pytest.raises(Boom):
        upload_then_fail(world, book, "合同.pdf", written)
    gc.collect()
    path = written[0]
    assert not path.exists() and files_in(data_dir) == []
    assert not Document.objects.exists()


def test_a_rolled_back_savepoint_leaves_no_file_and_the_rest_commits(
        world: World, book: Any, data_dir: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = upload(world, book, "留.pdf")
        written: list[Path] = []
        with pytest.raises(Boom):
            upload_then_fail(world, book, "弃.pdf", written)
    gc.collect()
    assert files_in(data_dir) == [storage.stored_path(kept.tenant_id, kept.storage_name)]
    assert list(Document.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not written[0].exists()


def test_a_committed_upload_keeps_its_file(world: World, book: Any, data_dir: Path,
                                           django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        document = upload(world, book)
    gc.collect()
    assert storage.stored_path(document.tenant_id, document.storage_name).exists()


def age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_sweeper_deletes_old_orphans_only(world: World, book: Any, data_dir: Path,
                                          django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        document = upload(world, book)
    folder = storage.tenant_dir(world.city_a1_rep.tenant_id)
    kept = storage.stored_path(document.tenant_id, document.storage_name)
    # A crash after writing, before committing: files without a row, and a temporary one.
    old_orphan, fresh_orphan, old_tmp = (folder / ("a" * 32), folder / ("b" * 32),
                                         folder / f".{'c' * 32}.tmp")
    for path in (old_orphan, fresh_orphan, old_tmp):
        path.write_bytes(SAMPLE_PDF)
    for path in (old_orphan, old_tmp, kept):
        age(path, 7)
    assert uploads.sweep() == {"documents": 2}
    assert files_in(data_dir) == sorted([kept, fresh_orphan])
    # The command does the same with its own grace period; the worker runs it hourly.
    call_command("sweep_uploads", "--grace-hours", "0", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert files_in(data_dir) == [kept]
    assert uploads.sweep(timedelta(0)) == {}
