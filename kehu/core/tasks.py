"""Background jobs for core (run by ``kehu worker``): idempotency-key purge, the sweep
of orphaned upload files, heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from kehu.core import uploads, worker
from kehu.core.models import IdempotencyKey

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


def purge_idempotency_keys(now: datetime | None = None) -> int:
    """Forget stored create responses older than a day; clients retry within minutes."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@db_periodic_task(crontab(minute="17", hour="*"))
def purge_idempotency_keys_hourly() -> int:
    return purge_idempotency_keys()


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
