"""Backups: what the archive holds, what a restore refuses, retention and the schedule.
(The full drill on both databases is tests/operations/test_restore_drill.py.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from kehu.core import backups, dumps, tasks
from kehu.core.models import Tenant
from kehu.core.tests.test_cli import kehu, ok

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data_dir(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "data"
    (folder / "documents" / "1").mkdir(parents=True)
    (folder / "documents" / "1" / "abc123").write_bytes(b"%PDF-1.4 a document")
    (folder / "documents" / "1" / ".def456.tmp").write_bytes(b"half an upload")
    (folder / "field_key").write_text(settings.FIELD_ENCRYPTION_KEY)
    settings.DATA_DIR = folder
    settings.KEHU_BACKUP_DIR = tmp_path / "backups"
    return folder


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def rewrite(archive: Path, change: dict[str, bytes]) -> Path:
    content = {**members(archive), **change}
    altered = archive.with_name("altered.tar.gz")
    with tarfile.open(altered, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return altered


def test_archive_holds_database_documents_and_a_manifest_but_not_the_key(
        world, data_dir: Path, settings: Any) -> None:
    info = backups.create()
    assert info.path.parent == settings.KEHU_BACKUP_DIR
    assert backups.NAME_RE.match(info.path.name)
    content = members(info.path)
    manifest = json.loads(content["manifest.json"])
    database = backups.DATABASE_MEMBER[connection.vendor]
    assert set(content) == {"manifest.json", database, "documents/1/abc123"}
    assert manifest["format"] == backups.FORMAT
    assert manifest["kehu_version"] == backups.kehu_version()
    assert "0001_initial" in manifest["migrations"]["core"]
    assert manifest["tables"]["core_tenant"]["rows"] == Tenant.objects.count() == 2
    for name, data in content.items():
        if name != "manifest.json":
            assert manifest["members"][name]["size"] == len(data)
    # The key is fingerprinted, never stored.
    key = settings.FIELD_ENCRYPTION_KEY.encode()
    assert all(key not in data for data in content.values())
    assert manifest["field_key"] == {"fingerprint": backups.key_fingerprint(),
                                     "included": False}
    assert backups.last_backup() == {"path": str(info.path), "size": info.size,
                                     "created_at": info.created_at}
    assert list(settings.KEHU_BACKUP_DIR.iterdir()) == [info.path]  # no temporary left


def test_backup_refuses_when_the_key_cannot_be_read(world, data_dir: Path, settings: Any
                                                    ) -> None:
    (data_dir / "field_key").unlink()
    (data_dir / "field_key").mkdir()  # unreadable as a file, even for root
    with pytest.raises(CommandError, match=r"field-encryption key .* cannot be read"):
        call_command("backup", stdout=io.StringIO())
    assert not settings.KEHU_BACKUP_DIR.exists() or not list(settings.KEHU_BACKUP_DIR.iterdir())


def test_restore_refuses_damaged_foreign_or_newer_archives_and_a_non_empty_target(
        world, data_dir: Path, settings: Any) -> None:
    archive = backups.create().path
    before = dumps.current_digests()

    def refused(path: Path, message: str, **options: Any) -> None:
        with pytest.raises(CommandError, match=message):
            call_command("restore", str(path), stdout=io.StringIO(), **options)
        assert dumps.current_digests() == before  # nothing changed

    refused(archive, "already holds data")
    refused(rewrite(archive, {"documents/1/abc123": b"%PDF-1.4 changed"}),
            "damaged or was altered: checksum mismatch in 'documents/1/abc123'", force=True)
    refused(rewrite(archive, {"documents/../../evil": b"x"}), "unexpected member", force=True)
    manifest = json.loads(members(archive)["manifest.json"])
    foreign = {**manifest, "field_key": {"fingerprint": "0" * 16, "included": False}}
    refused(rewrite(archive, {"manifest.json": json.dumps(foreign).encode()}),
            "field-encryption key is not the one", force=True)
    newer = {**manifest, "migrations": {**manifest["migrations"], "core": [
        *manifest["migrations"]["core"], "9999_from_the_future"]}}
    refused(rewrite(archive, {"manifest.json": json.dumps(newer).encode()}),
            "newer Kehu .*core.9999_from_the_future", force=True)
    (data_dir / "not-a-backup.tar.gz").write_bytes(b"nonsense")
    refused(data_dir / "not-a-backup.tar.gz", "is not a Kehu backup", force=True)
    out = io.StringIO()
    call_command("restore", str(archive), check=True, stdout=out)
    assert "is intact (2 members" in out.getvalue()


def test_restore_with_force_replaces_data_and_documents(world, data_dir: Path) -> None:
    archive = backups.create().path
    before = dumps.current_digests()
    Tenant.objects.filter(pk=world.other_tenant.pk).update(name="改过的名字")
    (data_dir / "documents" / "1" / "abc123").write_bytes(b"%PDF-1.4 overwritten")
    (data_dir / "documents" / "1" / "new999").write_bytes(b"%PDF-1.4 added later")
    out = io.StringIO()
    call_command("restore", str(archive), force=True, stdout=out)
    assert "every checksum matched" in out.getvalue()
    assert dumps.current_digests() == before
    assert Tenant.objects.get(pk=world.other_tenant.pk).name != "改过的名字"
    docs = data_dir / "documents" / "1"
    assert sorted(p.name for p in docs.iterdir()) == ["abc123"]  # nothing half-written kept
    assert (docs / "abc123").read_bytes() == b"%PDF-1.4 a document"


def test_prune_keeps_the_newest_per_day_and_per_week(tmp_path: Path, settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    start = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)  # a Monday
    names = []
    for day in range(21):
        for hour in (1, 13):
            when = start - dt.timedelta(days=day, hours=-hour + 1)
            name = f"kehu-backup-{when:%Y%m%dT%H%M%SZ}.tar.gz"
            (tmp_path / name).write_bytes(b"x")
            names.append(name)
    (tmp_path / "unrelated.tar.gz").write_bytes(b"x")
    removed = backups.prune(tmp_path, daily=3, weekly=2)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(removed) == 42 - len(kept) + 1
    assert "unrelated.tar.gz" in kept
    # The last 3 days' evening archives, and the newest of the week before (Sun 29 Nov).
    assert kept == sorted([
        "kehu-backup-20261130T130000Z.tar.gz", "kehu-backup-20261129T130000Z.tar.gz",
        "kehu-backup-20261128T130000Z.tar.gz", "unrelated.tar.gz"])


def test_the_worker_backs_up_daily_at_the_configured_time(world, data_dir: Path,
                                                          settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.KEHU_BACKUP_TIME = (2, 30)
    # Huey passes naive UTC: 18:30 UTC is 02:30 in Shanghai.
    utc_1830 = dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC).replace(tzinfo=None)
    assert tasks.backup_due(utc_1830)
    assert not tasks.backup_due(utc_1830 - dt.timedelta(hours=16))
    settings.KEHU_BACKUP_TIME = None
    assert not tasks.backup_due(utc_1830)
    settings.KEHU_BACKUP_KEEP_DAILY, settings.KEHU_BACKUP_KEEP_WEEKLY = 1, 0
    first = tasks.scheduled_backup(now=dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.UTC))
    second = tasks.scheduled_backup(now=dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC))
    assert not first.path.exists()  # retention removed yesterday's
    assert list(settings.KEHU_BACKUP_DIR.iterdir()) == [second.path]
    assert backups.last_backup()["path"] == str(second.path)  # type: ignore[index]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="subprocesses on the embedded database")
def test_an_older_archive_is_migrated_forward(tmp_path: Path) -> None:
    old = tmp_path / "old"
    ok(kehu(old, "migrate", "core", "0005", "--noinput", "-v", "0"))
    made = ok(kehu(old, "backup", "--to", str(tmp_path / "b")))
    assert "Backup written" in made
    (archive,) = (tmp_path / "b").glob("*.tar.gz")
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(old / "field_key", new / "field_key")
    out = ok(kehu(new, "restore", str(archive)))
    assert "Migrated forward: " in out and "core.0006_user_roles_tenant" in out
    assert "customers.0001_initial" in out
    assert "No planned migration operations" in ok(kehu(new, "migrate", "--plan"))
