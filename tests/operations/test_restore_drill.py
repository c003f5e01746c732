"""The restore drill (issue 18, A5): make data → back up → wipe → restore → compare.

Runs on the database the suite runs on. The restore always goes into a new data folder
and a new, empty database (on PostgreSQL one this test creates and drops), through the
real ``kehu`` command in a subprocess; on PostgreSQL the backup is a subprocess too (the
in-memory SQLite test database is only reachable from this process).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from kehu.core import dumps
from kehu.core.models import AuditEvent
from kehu.customers.testing import ID_NUMBER
from kehu.documents.services import document_upload

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def kehu(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 -- our own interpreter and command
        [sys.executable, "-m", "kehu.cli", *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def base_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "KEHU_FIELD_KEY", "KEHU_DATA_DIR",
                        "KEHU_TASKS_IMMEDIATE", "DJANGO_SETTINGS_MODULE")}
    env["KEHU_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def pg_url(name: str) -> str:
    conf = connection.settings_dict
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf.get("PASSWORD") else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{name}"


@pytest.fixture
def data_dir(tmp_path: Path, settings: Any) -> Path:
    """This test's own data folder, holding the key the test process encrypts with."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "field_key").write_text(settings.FIELD_ENCRYPTION_KEY)
    settings.DATA_DIR = folder
    return folder


@pytest.fixture
def fresh_database() -> Iterator[str | None]:
    """An empty database for the restore: a new PostgreSQL database, dropped afterwards;
    on SQLite the new data folder's own file (None)."""
    if connection.vendor != "postgresql":
        yield None
        return
    import psycopg

    name = f"{connection.settings_dict['NAME']}_drill_{uuid.uuid4().hex[:8]}"
    conf = connection.settings_dict
    params = {k.lower(): conf[k] for k in ("HOST", "PORT", "USER", "PASSWORD") if conf.get(k)}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' LC_COLLATE \'C.UTF-8\' '
                      "LC_CTYPE 'C.UTF-8' TEMPLATE template0")
    try:
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_restored(target_dir: Path, database: str | None) -> Any:
    if database is None:
        return sqlite3.connect(target_dir / "kehu.sqlite3")
    import psycopg

    conf = connection.settings_dict
    params = {k.lower(): conf[k] for k in ("HOST", "PORT", "USER", "PASSWORD") if conf.get(k)}
    return psycopg.connect(dbname=database, **params)


def test_restore_drill(data_dir: Path, world, book, engagement,  # type: ignore[no-untyped-def]
                       tmp_path: Path, fresh_database: str | None) -> None:
    # --- make data: more documents with files, and more audit rows ---------------------
    rep = world.city_a1_rep
    photo = document_upload(actor=rep, file_name="现场.png", chunks=[PNG],
                            customer_id=book.person.pk, description="身份核验")
    originals = {engagement.document.storage_name: engagement.document.sha256,
                 photo.storage_name: photo.sha256}
    assert book.person.id_number_encrypted and ID_NUMBER not in book.person.id_number_encrypted
    audit_rows = list(AuditEvent.objects.order_by("id").values_list(
        "id", "action", "object_type", "object_id", "request_id", "created_at"))
    assert len(audit_rows) > 10
    before = dumps.current_digests()
    assert before["customers_customer"].rows == 7
    assert before["documents_document"].rows == 2

    # --- back up --------------------------------------------------------------------------
    backups = tmp_path / "backups"
    if connection.vendor == "postgresql":
        out = kehu("backup", "--to", str(backups),
                   env=base_env(data_dir, pg_url(connection.settings_dict["NAME"]))).stdout
    else:
        from io import StringIO

        buffer = StringIO()
        call_command("backup", to=str(backups), stdout=buffer)
        out = buffer.getvalue()
    assert f"It is in {data_dir / 'field_key'}" in out
    (archive,) = backups.glob("kehu-backup-*.tar.gz")

    # --- wipe: a new data folder (with the key copied apart) and an empty database -------
    target = tmp_path / "restored"
    target.mkdir()
    (target / "field_key").write_text((data_dir / "field_key").read_text())
    env = base_env(target, pg_url(fresh_database) if fresh_database else None)
    out = kehu("restore", str(archive), env=env).stdout
    assert "every checksum matched" in out

    # --- compare ------------------------------------------------------------------------
    restored = open_restored(target, fresh_database)
    try:
        cursor = restored.cursor()
        after = dumps.digests(cursor, connection.vendor)
        assert set(after) == set(before)
        for table, digest in before.items():
            assert after[table] == digest, table

        # Documents open, with the bytes they were stored with.
        cursor.execute("SELECT tenant_id, storage_name, sha256 FROM documents_document")
        stored = cursor.fetchall()
        assert {name: sha for _t, name, sha in stored} == originals
        for tenant_id, name, sha in stored:
            content = (target / "documents" / str(tenant_id) / name).read_bytes()
            assert hashlib.sha256(content).hexdigest() == sha

        # ID numbers decrypt under the key kept apart.
        cursor.execute("SELECT id_number_encrypted FROM customers_customer "
                       "WHERE id_number_encrypted <> ''")
        tokens = [row[0] for row in cursor.fetchall()]
        key = Fernet((target / "field_key").read_text().strip().encode())
        assert [key.decrypt(t.encode()).decode() for t in tokens] == [ID_NUMBER]

        # The audit trail: the same rows in the same order, and still append-only.
        cursor.execute("SELECT id, action, object_type, object_id, request_id "
                       "FROM core_auditevent ORDER BY id")
        assert [tuple(r) for r in cursor.fetchall()] == [r[:5] for r in audit_rows]
        restored.commit()
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("UPDATE core_auditevent SET action = 'x'")
        restored.rollback()
    finally:
        restored.close()

    # A second restore into the now-filled installation is refused without --force.
    refused = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kehu.cli", "restore", str(archive)], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=600, check=False)
    assert refused.returncode != 0
    assert "already holds data" in refused.stderr
