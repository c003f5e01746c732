"""SQLite, the embedded default, while an import runs: the import holds the write lock for
its whole transaction. Reads (API and pages) still answer at once; a write answers 503
with Retry-After and the retry message (docs/imports.md), never 500.

The suite's SQLite test database lives in memory, whose locking is not a file's: these
tests move the connection onto a file copy of it, with a busy timeout of three seconds.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kehu.core.exceptions import DatabaseBusy
from kehu.core.models import ApiToken
from kehu.core.tests.test_api import ApiClient, token_for
from kehu.customers.models import Customer, ImportJob
from kehu.customers.services import imports as import_services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite only: PostgreSQL locks rows, so an import never makes others wait"),
]

BUSY_TIMEOUT = 3  # seconds a write waits for the lock before it gives up
QUICK = 2.5  # a read must answer before a write would give up


@pytest.fixture
def file_database(tmp_path: Path) -> Iterator[Path]:
    """The default connection on a WAL file copy of the test database."""
    path = tmp_path / "kehu.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM INTO '{path}'")
    settings_dict = connection.settings_dict
    saved = settings_dict["NAME"], settings_dict["OPTIONS"]
    # Closing the in-memory database would drop it: keep its connection aside.
    in_memory = connection.connection
    connection.connection = None
    settings_dict["NAME"] = str(path)
    settings_dict["OPTIONS"] = {**saved[1], "timeout": BUSY_TIMEOUT}
    try:
        yield path
    finally:
        connection.close()
        settings_dict["NAME"], settings_dict["OPTIONS"] = saved
        connection.connection = in_memory


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """A second connection that takes the write lock, as a running import does."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _assert_busy(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(DatabaseBusy.retry_after)


@pytest.fixture
def clients(world: Any, book: Any) -> dict[str, Any]:
    """Signed in before the lock is taken (a sign-in writes); the first request of the
    process (imports, URL and schema set-up) made by another user."""
    page = Client()
    page.force_login(world.hq_admin)
    warm = ApiClient(token_for(world.prov_a_manager))
    assert warm.get("/customers").status == 200
    assert page.get(reverse("customer_list")).status_code == 200
    return {"api": ApiClient(token_for(world.hq_admin)), "page": page}


def test_reads_answer_and_writes_get_503_while_the_write_lock_is_held(
        world, book, clients, file_database):
    api, page = clients["api"], clients["page"]
    holder = _hold_write_lock(file_database)
    try:
        # The token has never been used: its last_used_at stamp is skipped, not waited for.
        listing, took = _timed(lambda: api.get("/customers"))
        assert listing.status == 200, listing
        assert took < QUICK
        detail, took = _timed(lambda: api.get(f"/customers/{book.rep.pk}"))
        assert detail.status == 200 and took < QUICK
        response, took = _timed(lambda: page.get(reverse("customer_list")))
        assert response.status_code == 200 and took < QUICK
        assert ApiToken.objects.get(user=world.hq_admin).last_used_at is None
        assert api.get("/customers").status == 200  # and again

        created = api.post("/customers", {"name": "锁定期间有限公司", "kind": "enterprise"})
        _assert_busy(created.raw)
        assert created.data["error"]["code"] == "database_busy"
        with translation.override(world.hq_admin.language):  # the caller's language
            assert created.data["error"]["message"] == str(DatabaseBusy.default_message)
        response = page.post(reverse("customer_create"), {
            "kind": "enterprise", "name": "锁定期间页面有限公司", "tier": "ordinary",
            "status": "potential", "owner": world.hq_admin.pk})
        _assert_busy(response)
        with translation.override(world.hq_admin.language):
            assert str(DatabaseBusy.default_message) in response.content.decode()
    finally:
        holder.rollback()
        holder.close()
    assert not Customer.objects.filter(name__startswith="锁定期间").exists()
    # The lock released: the same write goes through, and the token's stamp is written.
    created = api.post("/customers", {"name": "锁定期间有限公司", "kind": "enterprise"})
    assert created.status == 201, created
    assert ApiToken.objects.get(user=world.hq_admin).last_used_at is not None


def test_a_running_import_leaves_reads_answering(world, book, clients, file_database,
                                                 settings, tmp_path, monkeypatch):
    """A real import, paused inside its transaction after its first batch is written."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    api = clients["api"]
    names = [f"并发导入测试{i:03d}有限公司" for i in range(40)]
    job = import_services.import_create(
        actor=world.hq_admin, entity="customers", file_name="客户.csv",
        chunks=["客户名称\n".encode() + "\n".join(names).encode() + b"\n"])
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)

    writing, finish = threading.Event(), threading.Event()
    real_progress = import_services.write_progress

    def progress(job: ImportJob, rows: int) -> None:
        real_progress(job, rows)
        if rows:  # inside the import's transaction, rows written: hold the lock
            writing.set()
            finish.wait(timeout=30)

    monkeypatch.setattr(import_services, "write_progress", progress)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            import_services.run_job(job.pk)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert writing.wait(timeout=30), "the import did not start writing"
        listing, took = _timed(lambda: api.get("/customers", q="并发导入测试"))
        assert listing.status == 200 and took < QUICK, listing
        assert listing.data["count"] == 0  # the import's rows are not committed yet
        created = api.post("/customers", {"name": "导入期间新建有限公司", "kind": "enterprise"})
        _assert_busy(created.raw)
    finally:
        finish.set()
        thread.join(timeout=60)
    assert not failures, failures
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.error
    assert Customer.objects.filter(name__in=names).count() == len(names)
