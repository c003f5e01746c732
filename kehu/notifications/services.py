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
from collections.abc import Callable
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
from kehu.core.exceptions import NotFound, StaleVersion, ValidationFailed
from kehu.core.models import SignupRequest
from kehu.core.services import signup
from kehu.core.versions import check_version
from kehu.notifications.models import Notification, ReadVia, ReminderSettings
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
    """The user's reminder preferences; defaults (version 0) when never saved (not
    written)."""
    try:
        return user.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(tenant_id=user.tenant_id, user=user, version=0)


@transaction.atomic
def reminder_settings_update(*, actor: User, default_lead_minutes: int, email_enabled: bool,
                             expected_version: int | None = None) -> ReminderSettings:
    """Save the actor's own reminder preferences (nobody changes another's).

    ``expected_version`` is the version the change was based on (None: any): an older one
    is refused (412), so two devices cannot silently undo each other's change.
    """
    if default_lead_minutes not in LEAD_CHOICES:
        raise ValidationFailed(fields={"default_lead_minutes": [
            _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(str(c) for c in LEAD_CHOICES)}]})
    current = (ReminderSettings.objects.select_for_update().filter(user=actor).first()
               or ReminderSettings(tenant_id=actor.tenant_id, user=actor, version=0))
    check_version(current, expected_version)
    before = audit.snapshot(current, ["default_lead_minutes", "email_enabled"])
    current.default_lead_minutes = default_lead_minutes
    current.email_enabled = bool(email_enabled)
    current.version += 1
    try:
        with transaction.atomic():
            current.save()
    except IntegrityError:  # a first save of the same user's settings won
        raise StaleVersion() from None
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


def notification_mark_read(*, actor: User, notification_id: int,
                           via: str = ReadVia.ONE) -> Notification:
    """Mark one of the actor's own notices read; anyone else's is 404 and left alone.

    When and how (``via``: marked, or opened through its link) it was first read are
    kept on the notice (``read_at``, ``read_via``; a notice is its recipient's alone, so
    the reader is the recipient) and can be listed; a second marking changes neither.
    Reading one's own inbox is not audited: it changes nothing anyone else sees.
    """
    notice = Notification.objects.for_recipient(actor).filter(pk=notification_id).first()
    if notice is None:
        raise NotFound()
    if notice.read_at is None:
        now = timezone.now()
        if Notification.objects.filter(pk=notice.pk, read_at__isnull=True).update(
                read_at=now, read_via=via):
            notice.read_at, notice.read_via = now, via
        else:  # read meanwhile (another tab): keep that first reading
            notice.refresh_from_db(fields=["read_at", "read_via"])
    return notice


def notification_mark_all_read(*, actor: User) -> int:
    """Mark all of the actor's unread notices read (``read_via`` "all"); returns how many
    changed."""
    return int(Notification.objects.for_recipient(actor).filter(read_at__isnull=True)
               .update(read_at=timezone.now(), read_via=ReadVia.ALL))


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


def build_signup_email(request: SignupRequest) -> EmailMultiAlternatives:
    """A sign-up's email (its text is core's: kehu.core.services.signup)."""
    subject, text, html = signup.signup_email(request)
    message = EmailMultiAlternatives(subject=subject, body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[request.email])
    message.attach_alternative(html, "text/html")
    return message


class Undeliverable(Exception):
    """The email cannot be sent, ever (the reason is stored; it is not retried)."""


def _build_notice(notice: Notification) -> EmailMultiAlternatives:
    recipient = notice.recipient
    if not recipient.is_active or not recipient.email:
        raise Undeliverable("The recipient is inactive or has no email address.")
    return build_email(notice)


def _build_signup(request: SignupRequest) -> EmailMultiAlternatives:
    signup.log_link_without_mail_server(request)
    return build_signup_email(request)


# The outboxes: a model with the email_* columns, what to load with it, and its message.
# Notices and sign-up emails share the rules below.
OUTBOXES: tuple[tuple[type[Any], tuple[str, ...], Callable[[Any], EmailMultiAlternatives]],
                ...] = (
    (Notification, ("recipient",), _build_notice),
    (SignupRequest, (), _build_signup),
)


def _release_stuck(model: type[Any], now: dt.datetime) -> int:
    """Emails left ``sending`` by a worker that died mid-send (its process is gone, or the
    claim is older than ``EMAIL_STUCK_AFTER``) go back to the outbox. The server may have
    accepted the first copy: the resend carries the same Message-ID, so that copy and
    this one are the same message to mail systems; an email is never lost."""
    released = 0
    for pk, claimer, attempts, claimed_at in model.objects.filter(
            email_status="sending").values_list(
            "pk", "email_claimed_by", "email_attempts", "email_claimed_at"):
        if not (worker.process_gone(claimer)
                or claimed_at is None or claimed_at < now - EMAIL_STUCK_AFTER):
            continue
        exhausted = attempts >= MAX_EMAIL_ATTEMPTS
        released += model.objects.filter(
            pk=pk, email_status="sending", email_claimed_by=claimer,
        ).update(
            email_status="failed" if exhausted else "pending", email_claimed_by="",
            email_error="Interrupted while sending; sent again with the same Message-ID.")
    return released


def _outbox(model: type[Any], related: tuple[str, ...], now: dt.datetime) -> list[Any]:
    retry = Q()
    for attempts, wait in enumerate(EMAIL_RETRY_AFTER, start=1):
        retry |= Q(email_attempts=attempts, email_claimed_at__lte=now - wait)
    return list(model.objects.filter(
        Q(email_status="pending")
        | (Q(email_status="failed", email_attempts__lt=MAX_EMAIL_ATTEMPTS) & retry),
    ).select_related(*related).order_by("created_at", "pk")[:BATCH])


def send_pending_emails(now: dt.datetime | None = None) -> int:
    """Send the email outboxes (notices, sign-ups); returns the number of emails handed
    to the mail server.

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
    batches = []
    for model, related, build in OUTBOXES:
        _release_stuck(model, now)
        batches.append((model, build, _outbox(model, related, now)))
    if not any(items for _m, _b, items in batches):
        return 0
    sent = 0
    connection = get_connection(fail_silently=False)
    try:
        for model, build, items in batches:
            for item in items:
                sent += _send_one(model, build, item, now, connection)
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken connection must not hide why
            logger.warning("Closing the email connection failed", exc_info=True)
    return sent


def _send_one(model: type[Any], build: Callable[[Any], EmailMultiAlternatives], item: Any,
              now: dt.datetime, connection: Any) -> int:
    message_id = item.email_message_id or make_msgid(domain=DNS_NAME)
    claimed = model.objects.filter(
        pk=item.pk, email_status=item.email_status, email_attempts=item.email_attempts,
    ).update(email_status="sending", email_claimed_at=now,
             email_attempts=F("email_attempts") + 1, email_message_id=message_id,
             email_claimed_by=worker.process_id())
    if claimed != 1:
        return 0
    item.email_message_id = message_id
    try:
        message = build(item)
        message.extra_headers["Message-ID"] = message_id
        message.connection = connection
        message.send()
    except Undeliverable as exc:
        model.objects.filter(pk=item.pk).update(
            email_status="failed", email_attempts=MAX_EMAIL_ATTEMPTS, email_error=str(exc))
        return 0
    except Exception as exc:  # any failure is recorded, then retried
        logger.warning("Email for %s %s failed: %s", model._meta.model_name, item.pk, exc)
        model.objects.filter(pk=item.pk).update(
            email_status="failed", email_claimed_by="",
            email_error=f"{type(exc).__name__}: {exc}"[:300])
        return 0
    model.objects.filter(pk=item.pk).update(
        email_status="sent", emailed_at=timezone.now(), email_error="", email_claimed_by="")
    return 1
