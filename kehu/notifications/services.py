"""Notifications: the in-app inbox, reminder settings, due reminders and the email outbox.

The periodic jobs in kehu.notifications.tasks call ``fire_due_reminders`` (over every
registered reminder source, see kehu.notifications.registry) and ``send_pending_emails``
every minute; tests call them directly with a chosen ``now``.

Once-only delivery rests on three conditional updates, never on the worker's memory:

1. a reminder is *claimed* by ``UPDATE … SET reminded_at=now WHERE reminded_at IS NULL``
   in the same transaction that creates its notification, so a crash before the commit
   leaves it unclaimed (it fires on the next run) and two workers never both claim it;
2. the notification's ``key`` is unique per recipient, so even a re-armed reminder for the
   same due time never makes a second notice;
3. an email is claimed by ``UPDATE … SET email_status='sending' WHERE email_status=<seen>``
   before it is handed to the mail server (see ``send_pending_emails``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from kehu.core import audit, worker
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.notifications.models import Notification, ReminderSettings
from kehu.notifications.registry import ReminderSource, reminder_sources

if TYPE_CHECKING:
    from kehu.core.models import User

logger = logging.getLogger("kehu.notifications")

# Lead times a user may choose (minutes before the due time).
LEAD_CHOICES = (0, 5, 10, 15, 30, 60, 120, 1440)
# Reminders and emails handled per run; the job runs every minute and takes the rest next.
BATCH = 200
# Email delivery: attempts in all, the wait before retry n (n = attempts so far), and how
# long a claimed email may stay "sending" before it is given up (see send_pending_emails).
MAX_EMAIL_ATTEMPTS = 3
EMAIL_RETRY_AFTER = (dt.timedelta(minutes=2), dt.timedelta(minutes=10))
EMAIL_STUCK_AFTER = dt.timedelta(minutes=15)


# ---------------------------------------------------------------------------- settings


def reminder_settings(user: User) -> ReminderSettings:
    """The user's reminder preferences; defaults when never saved (not written)."""
    try:
        return user.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(tenant_id=user.tenant_id, user=user)


@transaction.atomic
def reminder_settings_update(*, actor: User, default_lead_minutes: int,
                             email_enabled: bool) -> ReminderSettings:
    """Save the actor's own reminder preferences (nobody changes another's)."""
    if default_lead_minutes not in LEAD_CHOICES:
        raise ValidationFailed(fields={"default_lead_minutes": [
            _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(str(c) for c in LEAD_CHOICES)}]})
    current = reminder_settings(actor)
    before = audit.snapshot(current, ["default_lead_minutes", "email_enabled"])
    current.default_lead_minutes = default_lead_minutes
    current.email_enabled = bool(email_enabled)
    current.save()
    after = audit.snapshot(current, ["default_lead_minutes", "email_enabled"])
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit.record(actor=actor, action="reminder_settings.update", obj=current,
                 object_repr=actor.email, changes=changes)
    return current


# ---------------------------------------------------------------------------- inbox


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


def notification_mark_read(*, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's own notices read; anyone else's is 404 and left alone.

    Reading one's own inbox is not audited: it changes nothing anyone else sees.
    """
    notice = Notification.objects.for_recipient(actor).filter(pk=notification_id).first()
    if notice is None:
        raise NotFound()
    if notice.read_at is None:
        notice.read_at = timezone.now()
        Notification.objects.filter(pk=notice.pk, read_at__isnull=True).update(
            read_at=notice.read_at)
    return notice


def notification_mark_all_read(*, actor: User) -> int:
    """Mark all of the actor's unread notices read; returns how many changed."""
    return int(Notification.objects.for_recipient(actor).filter(read_at__isnull=True)
               .update(read_at=timezone.now()))


# ---------------------------------------------------------------------------- reminders


def fire_due_reminders(now: dt.datetime | None = None) -> int:
    """Notify the recipients of every registered reminder source whose time has come.

    Each reminder is claimed and notified in one transaction: the conditional update
    (``reminded_at IS NULL`` and the ``remind_at`` we read, so a re-armed one is not
    claimed with stale data) succeeds for one worker only, and a crash before the commit
    leaves it to the next run. A reminder whose time passed long ago (say, planned after
    its reminder time) still fires, once. Returns the number of reminders claimed.
    """
    now = now or timezone.now()
    return sum(_fire_source(source, now) for source in reminder_sources())


def _fire_source(source: ReminderSource, now: dt.datetime) -> int:
    fired = 0
    due = list(source.rows().filter(remind_at__lte=now, reminded_at__isnull=True)
               .select_related(*source.related).order_by("remind_at", "pk")[:BATCH])
    for item in due:
        with transaction.atomic():
            claimed = source.rows().filter(
                pk=item.pk, reminded_at__isnull=True, remind_at=item.remind_at,
            ).update(reminded_at=now)
            if claimed != 1:
                continue
            _remind(source, item)
            fired += 1
    return fired


def _remind(source: ReminderSource, item: Any) -> None:
    """One notice per active recipient, worded in the recipient's language."""
    for recipient in source.recipients(item):
        if recipient is None or not recipient.is_active:
            continue
        with translation.override(recipient.language):
            notice = source.notice(item, recipient)
        notify(recipient=recipient, kind=notice.kind, title=notice.title, body=notice.body,
               key=notice.key, url=notice.url, email=source.email)


# ---------------------------------------------------------------------------- email outbox


def _absolute(url: str) -> str:
    if not url:
        return str(settings.KEHU_BASE_URL) + "/"
    if url.startswith(("http://", "https://")):
        return url
    return str(settings.KEHU_BASE_URL) + (url if url.startswith("/") else "/" + url)


def build_email(notice: Notification) -> EmailMultiAlternatives:
    """The message for ``notice``, in its recipient's language, linking to the record."""
    recipient = notice.recipient
    link = _absolute(notice.url or reverse("notification_list"))
    settings_link = _absolute(reverse("notification_settings"))
    with translation.override(recipient.language):
        subject = f"[{_('Kehu CRM')}] {notice.title}"
        footer = _("You receive this email because reminders by email are on. Turn them "
                   "off in your reminder settings: %(url)s") % {"url": settings_link}
        open_label = _("Open in Kehu")
        text = "\n\n".join(part for part in (
            notice.title, notice.body, f"{open_label}: {link}", "-- \n" + footer) if part)
        html = format_html(
            '<p><strong>{}</strong></p><p style="white-space:pre-line">{}</p>'
            '<p><a href="{}">{}</a></p><hr><p style="color:#5b6675;font-size:12px">{}</p>',
            notice.title, notice.body, link, open_label, footer)
    headers = {"Message-ID": notice.email_message_id} if notice.email_message_id else None
    message = EmailMultiAlternatives(subject=subject.replace("\n", " "), body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[recipient.email], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def _release_stuck(now: dt.datetime) -> int:
    """Emails left ``sending`` by a worker that died mid-send (its process is gone, or the
    claim is older than ``EMAIL_STUCK_AFTER``) go back to the outbox. The server may have
    accepted the first copy: the resend carries the same Message-ID, so that copy and
    this one are the same message to mail systems; an email is never lost."""
    released = 0
    for pk, claimer, attempts, claimed_at in Notification.objects.filter(
            email_status=Notification.Email.SENDING).values_list(
            "pk", "email_claimed_by", "email_attempts", "email_claimed_at"):
        if not (worker.process_gone(claimer)
                or claimed_at is None or claimed_at < now - EMAIL_STUCK_AFTER):
            continue
        exhausted = attempts >= MAX_EMAIL_ATTEMPTS
        released += Notification.objects.filter(
            pk=pk, email_status=Notification.Email.SENDING, email_claimed_by=claimer,
        ).update(
            email_status=Notification.Email.FAILED if exhausted else Notification.Email.PENDING,
            email_claimed_by="",
            email_error="Interrupted while sending; sent again with the same Message-ID.")
    return released


def _outbox(now: dt.datetime) -> list[Notification]:
    retry = Q()
    for attempts, wait in enumerate(EMAIL_RETRY_AFTER, start=1):
        retry |= Q(email_attempts=attempts, email_claimed_at__lte=now - wait)
    return list(Notification.objects.filter(
        Q(email_status=Notification.Email.PENDING)
        | (Q(email_status=Notification.Email.FAILED, email_attempts__lt=MAX_EMAIL_ATTEMPTS)
           & retry),
    ).select_related("recipient").order_by("created_at", "pk")[:BATCH])


def send_pending_emails(now: dt.datetime | None = None) -> int:
    """Send the email outbox; returns the number of emails handed to the mail server.

    Each email is first claimed (``pending``/``failed`` → ``sending``, with the attempt
    counted) by a conditional update that commits at once, so only one worker sends it.
    After sending it becomes ``sent``; an error makes it ``failed`` with the reason, and a
    failed email is retried, after 2 and then 10 minutes, up to 3 attempts in all.

    Delivery is **at least once, under one Message-ID**: the Message-ID is stored with the
    claim, before anything is sent. An email still ``sending`` whose worker process is gone
    (or 15 minutes after its claim, for a worker on another machine) goes back to the
    outbox and is sent again with that same Message-ID (``_release_stuck``), so a copy the
    server accepted before the crash and the resend are one message to mail systems.
    """
    now = now or timezone.now()
    _release_stuck(now)
    pending = _outbox(now)
    if not pending:
        return 0
    sent = 0
    connection = get_connection(fail_silently=False)
    try:
        for notice in pending:
            message_id = notice.email_message_id or make_msgid(domain=DNS_NAME)
            claimed = Notification.objects.filter(
                pk=notice.pk, email_status=notice.email_status,
                email_attempts=notice.email_attempts,
            ).update(email_status=Notification.Email.SENDING, email_claimed_at=now,
                     email_attempts=F("email_attempts") + 1, email_message_id=message_id,
                     email_claimed_by=worker.process_id())
            if claimed != 1:
                continue
            notice.email_message_id = message_id
            recipient = notice.recipient
            if not recipient.is_active or not recipient.email:
                Notification.objects.filter(pk=notice.pk).update(
                    email_status=Notification.Email.FAILED,
                    email_attempts=MAX_EMAIL_ATTEMPTS,
                    email_error="The recipient is inactive or has no email address.")
                continue
            try:
                message = build_email(notice)
                message.connection = connection
                message.send()
            except Exception as exc:  # any failure is recorded, then retried
                logger.warning("Email for notification %s failed: %s", notice.pk, exc)
                Notification.objects.filter(pk=notice.pk).update(
                    email_status=Notification.Email.FAILED, email_claimed_by="",
                    email_error=f"{type(exc).__name__}: {exc}"[:300])
                continue
            Notification.objects.filter(pk=notice.pk).update(
                email_status=Notification.Email.SENT, emailed_at=timezone.now(),
                email_error="", email_claimed_by="")
            sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection must not hide why
            logger.warning("Closing the email connection failed", exc_info=True)
    return sent
