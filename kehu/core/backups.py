"""Backups of a whole installation: one archive, checked on the way back in.

An archive (``kehu-backup-<UTC time>.tar.gz``) holds:

- ``manifest.json``: format, Kehu version, database engine, the migrations applied, each
  table's row count and checksum (``kehu.core.dumps``), the SHA-256 and size of every other
  member, and a fingerprint of the field-encryption key (never the key);
- ``database.sqlite3`` (SQLite's online backup) or ``database.pgdump`` (``pg_dump -Fc``);
- ``documents/<tenant id>/<name>``: the stored documents (kehu.documents' storage).

The field key stays out on purpose: whoever holds the archive must not also hold the key
to the ID numbers in it. ``kehu backup`` says where the key is; keep it apart, safely.
The task queue (``tasks.sqlite3`` or Redis) is not backed up: it holds work in flight.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from kehu.core import dumps

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
DOCUMENTS = "documents"
NAME_RE = re.compile(r"^kehu-backup-(\d{8}T\d{6}Z)(?:-\d+)?\.tar\.gz$")
STATUS_KEY = "kehu:last-backup"
CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class BackupInfo:
    path: Path
    size: int
    created_at: dt.datetime
    tables: int
    rows: int
    documents: int
    key_location: str


@dataclass
class RestoreInfo:
    tables: int
    rows: int
    documents: int
    created_at: str
    kehu_version: str
    migrated: list[str] = field(default_factory=list)


def kehu_version() -> str:
    try:
        return metadata.version("kehu")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed
        return "unknown"


def backup_dir() -> Path:
    return Path(getattr(settings, "KEHU_BACKUP_DIR", "") or Path(settings.DATA_DIR) / "backups")


def documents_dir() -> Path:
    return Path(settings.DATA_DIR) / DOCUMENTS


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- the field key -------------------------------------------------------------------------

def key_fingerprint(key: str | None = None) -> str:
    """Tells two keys apart without revealing either."""
    value = key if key is not None else str(settings.FIELD_ENCRYPTION_KEY)
    return hashlib.sha256(f"kehu-field-key:{value}".encode()).hexdigest()[:16]


def field_key_location() -> str:
    """Where the field key in use lives, after checking that it can be read there."""
    key = str(settings.FIELD_ENCRYPTION_KEY)
    key_file = Path(settings.DATA_DIR) / "field_key"
    try:
        stored = key_file.read_text(encoding="utf-8").strip() if key_file.exists() else None
    except OSError as exc:
        raise BackupError(
            f"The field-encryption key {key_file} cannot be read ({exc.strerror}). Without "
            "it the ID numbers in a backup could never be read again; fix its permissions "
            "for this user first.") from None
    if stored == key:
        return str(key_file)
    if not key:
        raise BackupError("No field-encryption key is configured (KEHU_FIELD_KEY).")
    return "the environment variable KEHU_FIELD_KEY"


# --- making an archive ---------------------------------------------------------------------

def _migration_state() -> dict[str, list[str]]:
    state: dict[str, list[str]] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        state.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(state.items())}


def _document_files() -> list[Path]:
    root = documents_dir()
    if not root.is_dir():
        return []
    # Dot-files are uploads still being written (kehu.core.uploads): never part of a backup.
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(root).parts))


def _archive_name(folder: Path, now: dt.datetime) -> Path:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = folder / f"kehu-backup-{stamp}.tar.gz", 1
    while path.exists():
        path, n = folder / f"kehu-backup-{stamp}-{n}.tar.gz", n + 1
    return path


def create(to: Path | None = None, now: dt.datetime | None = None) -> BackupInfo:
    """Write one archive into ``to`` (default ``KEHU_BACKUP_DIR``); atomically named."""
    key_location = field_key_location()
    now = now or timezone.now()
    folder = Path(to) if to else backup_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"The backup folder {folder} cannot be created: {exc}") from None
    engine = dumps.vendor()
    with tempfile.TemporaryDirectory(dir=folder, prefix=".kehu-backup-") as work_dir:
        work = Path(work_dir)
        db_file = work / DATABASE_MEMBER[engine]
        tables = (dumps.dump_sqlite(db_file) if engine == "sqlite"
                  else dumps.dump_postgresql(db_file))
        docs = _document_files()
        members: dict[str, dict[str, Any]] = {
            db_file.name: {"size": db_file.stat().st_size, "sha256": sha256_file(db_file)}}
        root = documents_dir()
        for doc in docs:
            name = f"{DOCUMENTS}/{doc.relative_to(root).as_posix()}"
            members[name] = {"size": doc.stat().st_size, "sha256": sha256_file(doc)}
        manifest = {
            "format": FORMAT,
            "kehu_version": kehu_version(),
            "created_at": now.astimezone(dt.UTC).isoformat(),
            "database": {"engine": engine, "member": db_file.name},
            "migrations": _migration_state(),
            "tables": {name: digest.as_dict() for name, digest in tables.items()},
            "members": members,
            "field_key": {"fingerprint": key_fingerprint(), "included": False},
        }
        partial = work / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False)
                       .encode(), now)
            tar.add(db_file, arcname=db_file.name, recursive=False)
            for doc in docs:
                tar.add(doc, arcname=f"{DOCUMENTS}/{doc.relative_to(root).as_posix()}",
                        recursive=False)
        target = _archive_name(folder, now)
        os.replace(partial, target)
    info = BackupInfo(path=target, size=target.stat().st_size, created_at=now,
                      tables=len(tables), rows=sum(d.rows for d in tables.values()),
                      documents=len(docs), key_location=key_location)
    _remember(info)
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: dt.datetime) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


# --- the last backup, for the status page ----------------------------------------------

def _storage() -> Any:
    from kehu.core import worker

    return worker.storage()


def _remember(info: BackupInfo) -> None:
    """In the task store, which every web and worker process of an installation shares."""
    record = {"path": str(info.path), "size": info.size,
              "created_at": info.created_at.isoformat()}
    _storage().put_data(STATUS_KEY, json.dumps(record).encode())


def last_backup() -> dict[str, Any] | None:
    raw = _storage().peek_data(STATUS_KEY)
    if not isinstance(raw, bytes):
        return None
    try:
        record = json.loads(raw.decode())
        record["created_at"] = dt.datetime.fromisoformat(record["created_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return dict(record)


# --- retention -----------------------------------------------------------------------------

def archive_time(path: Path) -> dt.datetime | None:
    match = NAME_RE.match(path.name)
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def prune(folder: Path | None = None, *, daily: int, weekly: int) -> list[Path]:
    """Keep the newest archive of each of the last ``daily`` days that have one and of
    each of the last ``weekly`` ISO weeks; delete the other archives Kehu made there."""
    folder = Path(folder) if folder else backup_dir()
    dated = sorted(((t, p) for p in folder.glob("kehu-backup-*.tar.gz")
                    if (t := archive_time(p)) is not None), reverse=True)
    keep: set[Path] = set()
    days: dict[dt.date, Path] = {}
    weeks: dict[tuple[int, int], Path] = {}
    for when, path in dated:  # newest first: the first seen per day/week is its newest
        local = timezone.localtime(when)
        days.setdefault(local.date(), path)
        weeks.setdefault(local.isocalendar()[:2], path)
    keep.update(list(days.values())[:daily])
    keep.update(list(weeks.values())[:weekly])
    removed = [path for _, path in dated if path not in keep]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


# --- reading an archive back ----------------------------------------------------------------

def _safe_member(name: str) -> bool:
    parts = name.split("/")
    return (not name.startswith("/") and ".." not in parts and "" not in parts
            and all(not p.startswith(".") for p in parts))


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(MANIFEST)
            fh = tar.extractfile(member)
            if fh is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(fh.read().decode("utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{archive} does not exist.") from None
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
        raise BackupError(f"{archive} is not a Kehu backup ({exc}).") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("members"), dict):
        raise BackupError(f"{archive} has no valid manifest.")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has archive format {manifest.get('format')!r}; this "
                          f"Kehu reads format {FORMAT}. Restore it with a matching Kehu.")
    return manifest


def extract(archive: Path, manifest: dict[str, Any], into: Path) -> None:
    """Unpack every member into ``into``, refusing unexpected, missing or altered ones."""
    expected: dict[str, dict[str, Any]] = manifest["members"]
    problems: list[str] = []
    with tarfile.open(archive, "r:gz") as tar:
        seen = set()
        for member in tar:
            if member.name == MANIFEST:
                continue
            if member.name not in expected or not member.isfile() or not _safe_member(
                    member.name):
                problems.append(f"unexpected member {member.name!r}")
                continue
            seen.add(member.name)
            tar.extract(member, into, filter="data")
        problems.extend(f"missing member {name!r}" for name in sorted(set(expected) - seen))
    for name in sorted(seen):
        path = into / name
        if sha256_file(path) != expected[name].get("sha256"):
            problems.append(f"checksum mismatch in {name!r}")
    if problems:
        raise BackupError(f"{archive} is damaged or was altered: " + "; ".join(problems[:10]))


def verify(archive: Path) -> dict[str, Any]:
    """Check an archive without restoring it (every member's checksum)."""
    manifest = read_manifest(archive)
    with tempfile.TemporaryDirectory(prefix=".kehu-verify-", dir=Path(settings.DATA_DIR)) as tmp:
        extract(archive, manifest, Path(tmp))
    return manifest


# --- restoring ---------------------------------------------------------------------------------

def is_empty() -> bool:
    """No company in the database and no stored document: nothing a restore would lose."""
    with connection.cursor() as cursor:
        if "core_tenant" in dumps.table_names(cursor, dumps.vendor()):
            cursor.execute("SELECT 1 FROM core_tenant LIMIT 1")
            if cursor.fetchone() is not None:
                return False
    return not _document_files()


def _check_compatible(manifest: dict[str, Any], *, force: bool) -> None:
    engine = manifest.get("database", {}).get("engine")
    if engine != dumps.vendor():
        raise BackupError(
            f"The archive holds a {engine} database but this installation uses "
            f"{dumps.vendor()}. Restore it into an installation on {engine}.")
    if manifest.get("field_key", {}).get("fingerprint") != key_fingerprint():
        raise BackupError(
            "This installation's field-encryption key is not the one the archive was made "
            "with: its ID numbers could not be read. Put the original key in "
            f"{Path(settings.DATA_DIR) / 'field_key'} (or KEHU_FIELD_KEY) and run again.")
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [f"{app}.{name}" for app, names in manifest.get("migrations", {}).items()
               for name in names if (app, name) not in known]
    if unknown:
        raise BackupError(
            "The archive comes from a newer Kehu (migrations unknown here: "
            f"{', '.join(unknown[:5])}). Upgrade Kehu to version "
            f"{manifest.get('kehu_version')} or later first.")
    if not force and not is_empty():
        raise BackupError(
            "This installation already holds data (companies or documents). Restore into "
            "an empty one (a new database and data folder), or add --force to replace "
            "everything in it with the archive.")


def _compare_tables(manifest: dict[str, Any]) -> None:
    now = dumps.current_digests()
    wanted: dict[str, dict[str, Any]] = manifest["tables"]
    wrong = [name for name, digest in wanted.items()
             if name not in now or now[name].as_dict() != digest]
    if wrong:
        raise BackupError("The restored database differs from the archive's manifest in "
                          f"{', '.join(sorted(wrong)[:10])}; do not use it.")


def _swap_documents(extracted: Path) -> None:
    """Put the archive's documents in place of the current folder (renames, not copies)."""
    target = documents_dir()
    source = extracted / DOCUMENTS
    if not source.is_dir():
        source.mkdir(parents=True)
    staging = Path(settings.DATA_DIR) / f".documents-restore-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.move(str(source), str(staging))
    old = Path(settings.DATA_DIR) / f".documents-replaced-{os.getpid()}"
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def restore(archive: Path, *, force: bool = False) -> RestoreInfo:
    """Verify ``archive``, load its database and documents, then migrate forward."""
    archive = Path(archive)
    manifest = read_manifest(archive)
    _check_compatible(manifest, force=force)
    with tempfile.TemporaryDirectory(prefix=".kehu-restore-",
                                     dir=Path(settings.DATA_DIR)) as tmp:
        work = Path(tmp)
        extract(archive, manifest, work)
        db_file = work / manifest["database"]["member"]
        if dumps.vendor() == "sqlite":
            dumps.load_sqlite(db_file)
        else:
            dumps.load_postgresql(db_file)
        _compare_tables(manifest)
        _swap_documents(work)
    before = {f"{a}.{n}" for a, names in _migration_state().items() for n in names}
    call_command("migrate", interactive=False, verbosity=0)
    after = {f"{a}.{n}" for a, names in _migration_state().items() for n in names}
    tables: dict[str, dict[str, Any]] = manifest["tables"]
    return RestoreInfo(
        tables=len(tables), rows=sum(int(t["rows"]) for t in tables.values()),
        documents=sum(1 for name in manifest["members"] if name.startswith(f"{DOCUMENTS}/")),
        created_at=str(manifest.get("created_at")), kehu_version=str(
            manifest.get("kehu_version")), migrated=sorted(after - before))
