"""Is this installation healthy? The checks behind ``/readyz``, the facts on the operator's
status page, and the queue's state that ``/metrics`` reports.

Every check answers only ok or fail: its reason goes to the log, never to the caller
(``/readyz`` is unauthenticated).
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connection
from django.utils import timezone

from kehu.core import worker

logger = logging.getLogger("kehu.health")

ENQUEUED_PREFIX = "kehu:enqueued:"
# Only the head of the queue is looked at for the oldest task's age.
AGE_SAMPLE = 20


# --- the task queue ---------------------------------------------------------------------

def note_enqueued(task_id: str, now: dt.datetime | None = None) -> None:
    """Remember when a task was queued (a Huey signal calls it), for the queue's age."""
    worker.storage().put_data(f"{ENQUEUED_PREFIX}{task_id}",
                              (now or timezone.now()).isoformat().encode())


def forget_enqueued(task_id: str) -> None:
    worker.storage().pop_data(f"{ENQUEUED_PREFIX}{task_id}")


def queue_state(now: dt.datetime | None = None) -> dict[str, float | None]:
    """Tasks waiting, tasks scheduled, and the age in seconds of the oldest waiting one
    (None when unknown). Empty when the task store cannot be read."""
    from huey.contrib.djhuey import HUEY

    now = now or timezone.now()
    try:
        pending = HUEY.pending_count()
        scheduled = HUEY.scheduled_count()
        oldest: float | None = 0.0 if not pending else None
        for task in HUEY.pending(limit=AGE_SAMPLE) if pending else []:
            raw = worker.storage().peek_data(f"{ENQUEUED_PREFIX}{task.id}")
            if isinstance(raw, bytes):
                age = (now - dt.datetime.fromisoformat(raw.decode())).total_seconds()
                oldest = max(oldest or 0.0, age)
    except Exception:
        logger.exception("The task store cannot be read")
        return {}
    return {"pending": float(pending), "scheduled": float(scheduled), "oldest_age": oldest}


# --- readiness --------------------------------------------------------------------------

def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _queue() -> bool:
    from huey.contrib.djhuey import HUEY

    HUEY.pending_count()
    return True


def _worker() -> bool:
    return worker.is_running()


def free_disk_bytes() -> int:
    return shutil.disk_usage(Path(settings.DATA_DIR)).free


def _disk() -> bool:
    return free_disk_bytes() >= int(settings.KEHU_READY_MIN_FREE_MB) * 1024 * 1024


CHECKS: dict[str, Callable[[], bool]] = {
    "database": _database,
    "queue": _queue,
    "worker": _worker,
    "disk": _disk,
}


def readiness() -> dict[str, bool]:
    """Each check's verdict; a check that raises has failed (its reason is logged)."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = bool(check())
        except Exception:
            logger.exception("Readiness check %s failed", name)
            results[name] = False
        if not results[name]:
            logger.warning("Readiness check %s: fail", name)
    return results


# --- the status page's facts ----------------------------------------------------------------

def database_size() -> int | None:
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_database_size(current_database())")
                row = cursor.fetchone()
                return int(row[0]) if row else None
        name = str(connection.settings_dict["NAME"])
        path = Path(name)
        if name.startswith("file:") or not path.exists():
            return None
        return sum(p.stat().st_size for p in (path, Path(f"{name}-wal")) if p.exists())
    except Exception:
        logger.exception("The database size cannot be read")
        return None


def database_version() -> str:
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        version = int(connection.pg_version)  # type: ignore[attr-defined]
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def versions() -> dict[str, str]:
    from kehu.core.backups import kehu_version

    return {"kehu": kehu_version(), "python": platform.python_version(),
            "django": django.get_version(), "database": database_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "executable": sys.executable}


def status(now: dt.datetime | None = None) -> dict[str, Any]:
    """What the operator's status page shows (the view adds the slowest routes)."""
    from kehu.core import backups, logs

    now = now or timezone.now()
    return {
        "versions": versions(),
        "database_size": database_size(),
        "free_disk": free_disk_bytes(),
        "queue": queue_state(now),
        "worker_seen": worker.last_seen(),
        "worker_running": worker.is_running(now),
        "last_backup": backups.last_backup(),
        "checks": readiness(),
        "errors": logs.recent_errors(since=now - dt.timedelta(hours=1)),
    }
