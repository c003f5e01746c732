"""Notifications: the personal in-app inbox with its email outbox, reminder preferences,
and ``Reminding``, the due-time-with-reminder mixin other apps' models inherit.

A notification belongs to its recipient alone: it is a personal inbox, never scoped.
Kinds are registered by the apps that send them (kehu.notifications.registry).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Reminding(models.Model):
    """A due time with an optional reminder ``remind_minutes_before`` it.

    ``remind_at`` is stored (due time minus the lead) so the periodic reminder task finds
    due reminders through one partial index; ``reminded_at`` is set in the same
    transaction as the notification, which is what makes a reminder fire once. A model
    inheriting this registers itself as a reminder source (how: kehu.notifications).
    """

    remind_minutes_before = models.PositiveIntegerField(
        _("remind before (minutes)"), null=True, blank=True,
        help_text=_("Leave empty for no reminder."),
    )
    remind_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def due_time(self) -> dt.datetime | None:
        raise NotImplementedError

    def schedule_reminder(self) -> None:
        """Recompute ``remind_at``; a changed due time or lead re-arms the reminder."""
        due = self.due_time()
        if due is None or self.remind_minutes_before is None:
            new = None
        else:
            new = due - dt.timedelta(minutes=self.remind_minutes_before)
        if new != self.remind_at:
            self.remind_at = new
            self.reminded_at = None


class NotificationQuerySet(models.QuerySet):
    def for_recipient(self, user: Any) -> NotificationQuerySet:
        """A user's own inbox: notifications are never shown to anyone else."""
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(tenant_id=user.tenant_id, recipient_id=user.pk)


class ReadVia(models.TextChoices):
    """How a notice was marked read: on its own, with "mark all read", or by opening it."""

    ONE = "one", _("Marked read")
    ALL = "all", _("Marked all read")
    OPENED = "opened", _("Opened")


class Notification(models.Model):
    """An in-app notice, optionally also sent by email through the outbox columns."""

    class Email(models.TextChoices):
        NONE = "none", _("Not emailed")
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey("core.User", on_delete=models.CASCADE,
                                  related_name="notifications")
    # A registered kind (kehu.notifications.registry), e.g. "task_assigned".
    kind = models.CharField(_("kind"), max_length=50)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    # Unique per recipient: the same event never produces two notices.
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # How it came to be read: the first marking is kept (see services.notification_mark_read).
    read_via = models.CharField(_("read via"), max_length=10, choices=ReadVia.choices,
                                blank=True)
    email_status = models.CharField(_("email"), max_length=10, choices=Email.choices,
                                    default=Email.NONE)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)
    # Fixed at the first claim, before anything is sent: a resend after a crash carries
    # the same Message-ID, so mail systems can drop the second copy.
    email_message_id = models.CharField(max_length=200, blank=True)
    # The worker process sending it (kehu.core.worker.process_id) while ``sending``.
    email_claimed_by = models.CharField(max_length=120, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"],
                                    name="notifications_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notifications_unread"),
            models.Index(fields=["email_status"], condition=Q(email_status="pending"),
                         name="notifications_outbox"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        from kehu.notifications.registry import kind_label

        return kind_label(self.kind)


class ReminderSettings(models.Model):
    """A user's reminder preferences: default lead time and whether to email."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField("core.User", on_delete=models.CASCADE,
                                related_name="reminder_settings")
    default_lead_minutes = models.PositiveIntegerField(_("default reminder lead (minutes)"),
                                                       default=15)
    email_enabled = models.BooleanField(_("also send reminders by email"), default=True)
    # The ETag of the settings: 0 until first saved (the defaults), then raised per save.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("reminder settings")
        verbose_name_plural = _("reminder settings")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.default_lead_minutes}"
