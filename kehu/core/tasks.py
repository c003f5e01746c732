"""Background jobs for core (run by ``kehu worker``): idempotency-key and sign-up request
purges, the sweep of orphaned upload files, heartbeat, the daily backup."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab, signals
from huey.contrib.djhuey import HUEY, db_periodic_task

from kehu.core import backups, health, uploads, worker
from kehu.core.models import IdempotencyKey
from kehu.core.services import signup

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


def purge_idempotency_keys(now: datetime | None = None) -> int:
    """Forget stored create responses older than a day; clients retry within minutes."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@db_periodic_task(crontab(minute="17", hour="*"))
def purge_idempotency_keys_hourly() -> int:
    return purge_idempotency_keys()


@db_periodic_task(crontab(minute="23", hour="*"))
def purge_signup_requests_hourly() -> int:
    return signup.purge_signup_requests()


@HUEY.signal(signals.SIGNAL_ENQUEUED)
def remember_enqueued(signal: str, task: object, *args: object) -> None:
    """When each task was queued, for the queue's age (``/metrics``, status page)."""
    health.note_enqueued(str(getattr(task, "id", "")))


@HUEY.signal(signals.SIGNAL_EXECUTING, signals.SIGNAL_REVOKED, signals.SIGNAL_CANCELED,
             signals.SIGNAL_EXPIRED)
def forget_enqueued(signal: str, task: object, *args: object) -> None:
    health.forget_enqueued(str(getattr(task, "id", "")))


@db_periodic_task(crontab(minute="41", hour="*"))
def sweep_uploads_hourly() -> dict[str, int]:
    """Files a crash left without their row (kehu.core.uploads.sweep)."""
    return uploads.sweep()


@HUEY.on_startup()
def heartbeat_on_start() -> None:
    worker.beat()


@db_periodic_task(crontab(minute="*"))
def heartbeat_every_minute() -> None:
    """Tell the web side a consumer is alive (kehu.core.worker.is_running)."""
    worker.beat()


def backup_due(timestamp: datetime) -> bool:
    """Whether ``timestamp`` (Huey's: naive UTC) is KEHU_BACKUP_TIME in TIME_ZONE."""
    when = settings.KEHU_BACKUP_TIME
    if when is None:
        return False
    aware = timestamp.replace(tzinfo=UTC) if timezone.is_naive(timestamp) else timestamp
    local = timezone.localtime(aware)
    return (local.hour, local.minute) == tuple(when)


def scheduled_backup(now: datetime | None = None) -> backups.BackupInfo:
    """One archive, then retention; a lock keeps two consumers from both running it."""
    with HUEY.lock_task("kehu-backup"):
        info = backups.create(now=now)
        removed = backups.prune(info.path.parent, daily=settings.KEHU_BACKUP_KEEP_DAILY,
                                weekly=settings.KEHU_BACKUP_KEEP_WEEKLY)
    logging.getLogger("kehu.backup").info(
        "Backup written: %s (%d bytes); %d old archives removed", info.path, info.size,
        len(removed))
    return info


@db_periodic_task(backup_due)
def backup_daily() -> None:
    scheduled_backup()
