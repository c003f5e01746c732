"""The periodic jobs: ``kehu worker`` discovers and schedules them every minute."""

from __future__ import annotations

import datetime as dt

from django.utils.module_loading import autodiscover_modules


def test_the_worker_runs_both_jobs_every_minute() -> None:
    """`kehu worker` (run_huey) imports every app's tasks module: ours must be among them
    and its two periodic jobs due at any minute."""
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    names = {task.name for task in HUEY._registry.periodic_tasks}
    assert {"reminders_every_minute", "send_emails_every_minute"} <= names
    ours = {"reminders_every_minute", "send_emails_every_minute"}
    assert {type(task).__module__ for task in HUEY._registry.periodic_tasks
            if task.name in ours} == {"kehu.notifications.tasks"}
    moment = dt.datetime(2031, 3, 14, 10, 7)  # noqa: DTZ001 -- huey schedules naive
    due = {task.name for task in HUEY.read_periodic(moment)}
    assert {"reminders_every_minute", "send_emails_every_minute"} <= due
