"""Background jobs of notifications (run by ``kehu worker``; discovered by djhuey, which
imports every installed app's ``tasks`` module): due reminders and the email outbox."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kehu.notifications.services import fire_due_reminders, send_pending_emails

__all__ = [
    "fire_due_reminders",
    "reminders_every_minute",
    "send_emails_every_minute",
    "send_emails_now",
    "send_pending_emails",
]


@db_periodic_task(crontab(minute="*"))
def reminders_every_minute() -> int:
    """Turn due reminders of every registered source into notifications (and queued
    emails)."""
    return fire_due_reminders()


@db_periodic_task(crontab(minute="*"))
def send_emails_every_minute() -> int:
    """Send queued notification emails; see send_pending_emails for the delivery rules."""
    return send_pending_emails()


@db_task()
def send_emails_now() -> int:
    """Send the outbox now, not at the next minute: queued when someone signs up, who
    waits for the email (a second sender at the same time claims nothing twice)."""
    return send_pending_emails()
