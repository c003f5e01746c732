"""The worker's heartbeat and the embedded consumer switch (the consumer itself is run by
tests/e2e/test_make_run.py under the real `make run`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from kehu.core import worker


@pytest.fixture
def queued_mode(monkeypatch: Any) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)
    HUEY.storage.pop_data(worker.HEARTBEAT_KEY)


@pytest.mark.usefixtures("queued_mode")
def test_no_heartbeat_means_no_worker() -> None:
    assert worker.last_seen() is None
    assert not worker.is_running()


@pytest.mark.usefixtures("queued_mode")
def test_a_recent_beat_counts_and_an_old_one_does_not() -> None:
    now = timezone.now()
    worker.beat(now - dt.timedelta(seconds=90))
    assert worker.last_seen() == now - dt.timedelta(seconds=90)
    assert worker.is_running(now)
    assert not worker.is_running(now + dt.timedelta(minutes=1))


def test_immediate_mode_needs_no_worker(monkeypatch: Any) -> None:
    monkeypatch.setattr(HUEY, "immediate", True)
    assert worker.is_running()
    assert not worker.embedded_enabled()


@pytest.mark.usefixtures("queued_mode")
def test_embedded_worker_follows_the_setting(settings: Any) -> None:
    settings.EMBEDDED_WORKER = True
    assert worker.embedded_enabled()
    settings.EMBEDDED_WORKER = False
    assert not worker.embedded_enabled()


def test_the_consumer_beats_on_start_and_every_minute() -> None:
    from kehu.core import tasks

    on_the_minute = HUEY.read_periodic(timezone.now().replace(second=0, microsecond=0))
    assert any(task.name.endswith("heartbeat_every_minute") for task in on_the_minute)
    assert tasks.heartbeat_on_start in HUEY._startup.values()
