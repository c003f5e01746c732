"""The database half of a backup: a consistent copy out, a copy back in, and per-table
row counts and checksums that prove the two hold the same rows.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``: a consistent
snapshot while others keep writing); PostgreSQL with ``pg_dump`` in custom format, run in
a snapshot that the row counts are read in too (``pg_export_snapshot``), so the manifest
describes exactly the rows in the dump.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

# Tables that describe the machine, not the data: never counted nor compared.
SKIPPED_TABLES = frozenset({"sqlite_sequence", "sqlite_stat1", "sqlite_stat4"})


class DumpError(RuntimeError):
    """A dump or load that cannot proceed; the message says what to do."""


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256}


def vendor() -> str:
    return str(connection.vendor)


# --- checksums ---------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    if isinstance(value, memoryview):
        return value.tobytes().hex()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str) and value[:1] in "{[":
        # SQLite returns JSON columns as text, PostgreSQL as parsed values: compare parsed.
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_names(cursor: Any, engine: str) -> list[str]:
    if engine == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(row[0] for row in cursor.fetchall() if row[0] not in SKIPPED_TABLES)


def table_digest(cursor: Any, table: str) -> TableDigest:
    """Rows and an order-independent checksum (the sum of each row's SHA-256), so no
    ORDER BY over a large table is needed and equal tables give equal sums anywhere."""
    cursor.execute(f"SELECT * FROM {_quote(table)}")  # noqa: S608 -- a table name we listed
    total, rows = 0, 0
    while batch := cursor.fetchmany(2000):
        for row in batch:
            line = json.dumps([_canonical(v) for v in row], default=str, sort_keys=True,
                              ensure_ascii=False)
            total = (total + int.from_bytes(hashlib.sha256(line.encode()).digest())) % 2**256
            rows += 1
    return TableDigest(rows, f"{total:064x}")


def digests(cursor: Any, engine: str) -> dict[str, TableDigest]:
    return {table: table_digest(cursor, table) for table in table_names(cursor, engine)}


# --- SQLite ------------------------------------------------------------------------------

def _sqlite_raw() -> sqlite3.Connection:
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def dump_sqlite(target: Path) -> dict[str, TableDigest]:
    """Copy the live database into ``target`` and digest the copy (it is the snapshot)."""
    if connection.in_atomic_block:
        # The copy would wait for this connection's own open write forever.
        raise DumpError("A backup cannot run inside a database transaction.")
    out = sqlite3.connect(target)
    try:
        _sqlite_raw().backup(out)
        out.commit()
        return digests(out.cursor(), "sqlite")
    finally:
        out.close()


def sqlite_digests(name: str | Path) -> dict[str, TableDigest]:
    """Digests read through a plain connection: Django's converts columns (dates, decimals,
    booleans), the copy in an archive is read without, and both must give the same sums."""
    name = str(name)
    db = (sqlite3.connect(name, uri=True) if name.startswith("file:")
          else sqlite3.connect(f"file:{name}?mode=ro", uri=True))
    try:
        return digests(db.cursor(), "sqlite")
    finally:
        db.close()


def load_sqlite(source: Path) -> None:
    """Replace the configured SQLite database's content with ``source``, page by page
    through the backup API (works on a database in WAL mode that others have open)."""
    connection.close()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(_sqlite_raw())
    finally:
        src.close()
        connection.close()


# --- PostgreSQL --------------------------------------------------------------------------

def _pg_env() -> dict[str, str]:
    """libpq's environment for the configured database: no password on a command line."""
    conf = connection.settings_dict
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                      ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        value = conf.get(key)
        if value:
            env[name] = str(value)
    sslmode = (conf.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _major(text: str) -> int:
    """15 from ``pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)``."""
    match = re.search(r"\)\s*(\d+)", text) or re.search(r"(\d+)", text)
    return int(match.group(1)) if match else 0


def server_major() -> int:
    connection.ensure_connection()
    return int(connection.pg_version) // 10000  # type: ignore[attr-defined]


def pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` at least as new as the server: ``KEHU_PG_BIN`` if set,
    else the newest of PATH and Debian's /usr/lib/postgresql/<version>/bin."""
    need = server_major()
    given = getattr(settings, "KEHU_PG_BIN", "")
    candidates: list[str] = []
    if given:
        candidates.append(str(Path(given) / name))
    else:
        found = shutil.which(name)
        if found:
            candidates.append(found)
        candidates.extend(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    best: tuple[int, str] | None = None
    for path in candidates:
        if not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,  # noqa: S603
                                 timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        version = _major(out)
        if best is None or version > best[0]:
            best = (version, path)
    if best is None:
        raise DumpError(
            f"{name} was not found (looked in {given or 'PATH and /usr/lib/postgresql/*/bin'}). "
            f"Install the PostgreSQL client (Debian: apt install postgresql-client-{need}) "
            "or set KEHU_PG_BIN to the folder that holds it.")
    if best[0] < need:
        raise DumpError(
            f"{best[1]} is version {best[0]} but the server is PostgreSQL {need}; install "
            f"postgresql-client-{need} or set KEHU_PG_BIN to a newer client's folder.")
    return best[1]


def _run(args: list[str]) -> None:
    result = subprocess.run(args, env=_pg_env(), capture_output=True, text=True,  # noqa: S603
                            check=False)
    if result.returncode != 0:
        tool = Path(args[0]).name
        raise DumpError(f"{tool} failed: {(result.stderr or result.stdout).strip()[-2000:]}")


@contextlib.contextmanager
def _pg_snapshot() -> Iterator[tuple[Any, str]]:
    """A repeatable-read transaction and its exported snapshot id, held open meanwhile."""
    import psycopg

    conf = connection.settings_dict
    params: dict[str, Any] = {k.lower(): conf[k] for k in ("HOST", "PORT", "USER", "PASSWORD")
                              if conf.get(k)}
    sslmode = (conf.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        params["sslmode"] = sslmode
    with psycopg.connect(dbname=conf["NAME"], **params) as db:
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = db.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        yield db.cursor(), str(row[0])
        db.rollback()


def dump_postgresql(target: Path) -> dict[str, TableDigest]:
    tool = pg_tool("pg_dump")
    with _pg_snapshot() as (cursor, snapshot):
        _run([tool, "--format=custom", "--no-owner", "--no-privileges",
              f"--snapshot={snapshot}", f"--file={target}"])
        return digests(cursor, "postgresql")


def load_postgresql(source: Path) -> None:
    """Empty the configured database's schema and restore the dump into it, in one
    transaction: a failure leaves the schema as it was emptied, never half-loaded."""
    tool = pg_tool("pg_restore")
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()
    _run([tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          f"--dbname={connection.settings_dict['NAME']}", str(source)])


def postgresql_digests() -> dict[str, TableDigest]:
    with connection.cursor() as cursor:
        return digests(cursor, "postgresql")


def current_digests() -> dict[str, TableDigest]:
    if vendor() == "sqlite":
        return sqlite_digests(connection.settings_dict["NAME"])
    return postgresql_digests()
