"""Notifications: the in-app inbox and the email outbox (see kehu.activities.tasks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from kehu.activities.models import Notification, ReminderSettings

if TYPE_CHECKING:
    from kehu.core.models import User


def reminder_settings(user: User) -> ReminderSettings:
    """The user's reminder preferences; defaults when never saved (not written)."""
    try:
        return user.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(tenant_id=user.tenant_id, user=user)


def notify(*, recipient: User, kind: str, title: str, key: str, body: str = "",
           url: str = "", email: bool = False) -> tuple[Notification, bool]:
    """Give ``recipient`` one notice for the event named by ``key``.

    The same key never makes a second notice (a unique constraint, so this holds across
    workers and restarts); the second call returns the first notice and ``False``. With
    ``email`` the notice also enters the email outbox, if the recipient wants email.
    """
    wants_email = email and bool(recipient.email) and reminder_settings(recipient).email_enabled
    try:
        with transaction.atomic():
            notice = Notification.objects.create(
                tenant_id=recipient.tenant_id, recipient=recipient, kind=kind,
                title=title[:200], body=body, url=url[:300], key=key[:200],
                email_status=(Notification.Email.PENDING if wants_email
                              else Notification.Email.NONE),
            )
    except IntegrityError:
        return Notification.objects.get(recipient=recipient, key=key[:200]), False
    return notice, True
