"""The email outbox: once-only claims, retries with backoff, resends under one Message-ID, the
message itself, delivery through a real SMTP server on loopback (aiosmtpd), and the email
settings. A follow-up reminder's email end to end: kehu/activities/tests/test_reminders.py.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail

from kehu.core.models import User
from kehu.core.testing import World
from kehu.notifications import services
from kehu.notifications.models import Notification
from kehu.notifications.tasks import send_pending_emails

pytestmark = pytest.mark.django_db

T = dt.datetime(2031, 3, 14, 10, 0, tzinfo=dt.UTC)


def queued(world: World) -> Notification:
    """A notice queued for email, as a follow-up reminder makes one (see the reminder
    texts in kehu.activities.reminders)."""
    notice, created = services.notify(
        recipient=world.city_a1_rep, kind="followup_due",
        title="跟进到期 2031-03-14 18:00：回访扩容方案", body="客户：广州白云机场有限公司",
        key="followup:1:due:2031-03-14T10:00:00+00:00", url="/followups/1/", email=True)
    assert created and notice.email_status == Notification.Email.PENDING
    return notice


# ---------------------------------------------------------------------------- outbox


def test_email_is_in_the_recipients_language_with_an_absolute_link(
        world: World, settings: Any) -> None:
    settings.KEHU_BASE_URL = "https://crm.example.com"
    queued(world)
    mail.outbox.clear()
    assert send_pending_emails(T) == 1
    [message] = mail.outbox
    assert message.to == [world.city_a1_rep.email]
    assert "回访扩容方案" in message.subject
    assert "https://crm.example.com/" in message.body
    html = message.alternatives[0][0]  # type: ignore[attr-defined]
    assert "https://crm.example.com/" in str(html)
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.SENT and stored.emailed_at is not None
    assert stored.email_attempts == 1


def test_failed_email_is_retried_with_backoff_up_to_three_attempts(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    queued(world)
    calls: list[int] = []

    def refuse(self: Any, *args: Any, **kwargs: Any) -> int:
        calls.append(1)
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.message.EmailMessage.send", refuse)
    assert send_pending_emails(T) == 0
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.FAILED
    assert "mail server down" in stored.email_error and stored.email_attempts == 1
    assert send_pending_emails(T + dt.timedelta(minutes=1)) == 0 and len(calls) == 1
    send_pending_emails(T + dt.timedelta(minutes=2))  # second attempt after 2 minutes
    assert len(calls) == 2
    send_pending_emails(T + dt.timedelta(minutes=5))
    assert len(calls) == 2  # the third waits 10 minutes after the second
    send_pending_emails(T + dt.timedelta(minutes=13))
    assert len(calls) == 3
    send_pending_emails(T + dt.timedelta(days=1))
    assert len(calls) == 3
    stored.refresh_from_db()
    assert stored.email_attempts == 3 and stored.email_status == Notification.Email.FAILED


def test_an_email_stuck_in_sending_is_resent_with_the_same_message_id(world: World) -> None:
    queued(world)
    # A worker on another machine claimed it and died mid-send (the server may have
    # accepted the message): the Message-ID was stored with the claim.
    Notification.objects.update(email_status=Notification.Email.SENDING, email_claimed_at=T,
                                email_attempts=1, email_message_id="<stuck.1@kehu.test>",
                                email_claimed_by="elsewhere:4242:abc")
    mail.outbox.clear()
    assert send_pending_emails(T + dt.timedelta(minutes=5)) == 0
    assert Notification.objects.get().email_status == Notification.Email.SENDING
    assert send_pending_emails(T + dt.timedelta(minutes=16)) == 1
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.SENT
    assert stored.email_attempts == 2 and stored.email_message_id == "<stuck.1@kehu.test>"
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == ["<stuck.1@kehu.test>"]
    assert mail.outbox[0].message()["Message-ID"] == "<stuck.1@kehu.test>"


def test_an_email_claimed_by_a_dead_process_here_is_resent_at_once(world: World) -> None:
    import socket as socket_module

    queued(world)
    dead = f"{socket_module.gethostname()}:999999999:abc"  # no such pid on this host
    Notification.objects.update(email_status=Notification.Email.SENDING, email_claimed_at=T,
                                email_attempts=1, email_message_id="<dead.1@kehu.test>",
                                email_claimed_by=dead)
    mail.outbox.clear()
    assert send_pending_emails(T + dt.timedelta(seconds=5)) == 1
    assert mail.outbox[0].message()["Message-ID"] == "<dead.1@kehu.test>"


def test_the_message_id_is_stored_before_sending_and_kept(world: World) -> None:
    queued(world)
    mail.outbox.clear()
    assert send_pending_emails(T) == 1
    stored = Notification.objects.get()
    assert stored.email_message_id.startswith("<") and stored.email_claimed_by == ""
    assert mail.outbox[0].message()["Message-ID"] == stored.email_message_id


def test_no_email_for_a_deactivated_recipient(world: World) -> None:
    queued(world)
    User.objects.filter(pk=world.city_a1_rep.pk).update(is_active=False)
    mail.outbox.clear()
    assert send_pending_emails(T) == 0
    assert mail.outbox == []
    assert Notification.objects.get().email_status == Notification.Email.FAILED


# ---------------------------------------------------------------------------- real SMTP


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    from aiosmtpd.controller import Controller

    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_reminder_email_through_a_real_smtp_server(world: World, settings: Any,
                                                   smtp_server: tuple[Collector, int]) -> None:
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.KEHU_BASE_URL = "https://crm.example.com"
    settings.DEFAULT_FROM_EMAIL = "客户 Kehu <noreply@crm.example.com>"
    item = queued(world)
    assert send_pending_emails(T) == 1
    assert send_pending_emails(T + dt.timedelta(hours=1)) == 0
    assert len(handler.messages) == 1
    mail_from, rcpt_tos, content = handler.messages[0]
    assert mail_from == "noreply@crm.example.com"
    assert rcpt_tos == [world.city_a1_rep.email]
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    subject = str(parsed["Subject"]).strip()
    assert subject.endswith("回访扩容方案")  # decoded from RFC 2047
    headers = content.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    assert headers.isascii() and b"=?utf-8?" in headers.lower()  # RFC 2047 encoded
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "https://crm.example.com/" in text
    assert "白云机场" in text
    assert parsed.get_body(preferencelist=("html",)) is not None
    stored = Notification.objects.get(pk=item.pk)
    assert stored.email_status == Notification.Email.SENT


def test_an_unreachable_smtp_server_fails_cleanly(world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_TIMEOUT = 5
    queued(world)
    assert send_pending_emails(T) == 0
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.FAILED and stored.email_error


# ---------------------------------------------------------------------------- settings


def test_email_settings_come_from_the_environment(tmp_path: Any) -> None:
    from kehu.core.tests.test_settings import kehu

    show = ["shell", "-c", "from django.conf import settings as s; print(s.EMAIL_BACKEND, "
            "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL, s.KEHU_BASE_URL)"]
    default = kehu(show, {}, tmp_path)
    assert default.returncode == 0, default.stderr
    assert "backends.console.EmailBackend" in default.stdout
    assert "http://127.0.0.1:8000" in default.stdout
    configured = kehu(show, {"KEHU_EMAIL_HOST": "smtp.example.com", "KEHU_EMAIL_PORT": "587",
                             "KEHU_EMAIL_TLS": "1", "KEHU_EMAIL_FROM": "CRM <crm@example.com>",
                             "KEHU_BASE_URL": "https://crm.example.com/"}, tmp_path)
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip().splitlines()[-1].split() == [
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "587", "True",
        "CRM", "<crm@example.com>", "https://crm.example.com"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"KEHU_EMAIL_TLS": "1", "KEHU_EMAIL_SSL": "1"}, "Set at most one of KEHU_EMAIL_TLS"),
    ({"KEHU_BASE_URL": "crm.example.com"}, "KEHU_BASE_URL='crm.example.com' must be"),
    ({"KEHU_EMAIL_PORT": "smtp"}, "KEHU_EMAIL_PORT='smtp' is not an integer"),
])
def test_bad_email_settings_stop_with_a_clear_message(tmp_path: Any, extra: dict[str, str],
                                                      message: str) -> None:
    from kehu.core.tests.test_settings import kehu

    done = kehu(["check"], extra, tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
