"""The notification centre (API and pages), reminder settings, the header badge and the
email outbox, including delivery through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.activities.models import NoticeKind
from kehu.activities.services import notifications as services
from kehu.activities.tasks import fire_due_reminders, send_pending_emails
from kehu.activities.tests.test_reminders import T, followup
from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.core.tests.test_api import ApiClient, api_as, assert_error
from kehu.customers.testing import Book
from kehu.notifications.models import Notification, ReminderSettings

pytestmark = pytest.mark.django_db


def notice(user: User, n: int, **extra: Any) -> Notification:
    return Notification.objects.create(
        tenant_id=user.tenant_id, recipient=user, kind=NoticeKind.TASK_ASSIGNED,
        title=f"通知{n}", key=f"test:{n}", **{"url": "/", **extra})


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------- API


def test_api_lists_only_my_notifications(world: World) -> None:
    rep, manager = world.city_a1_rep, world.city_a1_manager
    mine = [notice(rep, i) for i in range(3)]
    notice(manager, 9)
    mine[0].read_at = timezone.now()
    mine[0].save()
    api = api_as(rep)
    response = api.get("/notifications")
    assert response.status == 200
    assert [i["id"] for i in response.data["items"]] == [n.pk for n in reversed(mine)]
    unread = api.get("/notifications", unread="true")
    assert {i["id"] for i in unread.data["items"]} == {mine[1].pk, mine[2].pk}
    first = api.get("/notifications", order="unread_first").data["items"]
    assert first[-1]["id"] == mine[0].pk and first[-1]["is_read"] is True
    assert api.get("/notifications/unread-count").data == {"count": 2}
    assert api_as(world.hq_admin).get("/notifications").data["count"] == 0


def test_api_mark_read_is_limited_to_the_recipient(world: World) -> None:
    rep, manager = world.city_a1_rep, world.city_a1_manager
    theirs = notice(manager, 1)
    mine = notice(rep, 2)
    api = api_as(rep)
    assert_error(api.post(f"/notifications/{theirs.pk}/read"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = api.post(f"/notifications/{mine.pk}/read")
    assert response.status == 200 and response.data["is_read"] is True
    again = api.post(f"/notifications/{mine.pk}/read")
    assert again.data["read_at"] == response.data["read_at"]  # reading twice keeps the time


def test_api_read_all_touches_only_my_own(world: World) -> None:
    rep, manager = world.city_a1_rep, world.city_a1_manager
    for i in range(3):
        notice(rep, i)
    theirs = notice(manager, 9)
    api = api_as(rep)
    assert api.post("/notifications/read-all").data == {"updated": 3}
    assert api.post("/notifications/read-all").data == {"updated": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api.get("/notifications/unread-count").data == {"count": 0}


def test_api_list_query_count_does_not_grow(world: World) -> None:
    rep = world.city_a1_rep
    api = api_as(rep)
    notice(rep, 0)
    api.get("/notifications")  # warm up (token user, language)
    with CaptureQueriesContext(connection) as small:
        assert api.get("/notifications").status == 200
    for i in range(1, 30):
        notice(rep, i)
    with CaptureQueriesContext(connection) as large:
        assert len(api.get("/notifications", limit=50).data["items"]) == 30
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(small.captured_queries) <= 6


def test_api_reminder_settings(world: World) -> None:
    api = api_as(world.city_a1_rep)
    got = api.get("/notifications/settings")
    assert got.data["default_lead_minutes"] == 15 and got.data["email_enabled"] is True
    assert 1440 in got.data["lead_choices"]
    assert not ReminderSettings.objects.exists()  # reading writes nothing
    put = api.request("PUT", "/notifications/settings",
                      {"default_lead_minutes": 60, "email_enabled": False})
    assert put.status == 200, put
    assert put.data["default_lead_minutes"] == 60 and put.data["email_enabled"] is False
    saved = ReminderSettings.objects.get(user=world.city_a1_rep)
    assert (saved.default_lead_minutes, saved.email_enabled) == (60, False)
    assert AuditEvent.objects.filter(action="reminder_settings.update",
                                     actor=world.city_a1_rep).count() == 1
    bad = api.request("PUT", "/notifications/settings",
                      {"default_lead_minutes": 7, "email_enabled": True})
    error = assert_error(bad, 422, "validation_error")
    assert "default_lead_minutes" in error["fields"]
    extra = api.request("PUT", "/notifications/settings",
                        {"default_lead_minutes": 5, "email_enabled": True, "user": 1})
    assert_error(extra, 422, "validation_error")
    saved.refresh_from_db()
    assert saved.default_lead_minutes == 60


def test_api_needs_authentication() -> None:
    assert_error(ApiClient().get("/notifications"), 401, "not_authenticated")


# ---------------------------------------------------------------------------- pages


def test_header_badge_shows_the_unread_count(world: World) -> None:
    rep = world.city_a1_rep
    for i in range(4):
        notice(rep, i)
    client = signed_in(rep)
    html = client.get("/").content.decode()
    assert 'data-testid="notification-badge"' in html
    assert 'data-testid="unread-count">4<' in html
    client.post("/notifications/read-all/")
    html = client.get("/").content.decode()
    assert 'data-testid="unread-count"' not in html


def test_anonymous_pages_render_without_a_badge(db: Any) -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    assert b"notification-badge" not in response.content


def test_notification_page_lists_marks_read_and_opens(world: World) -> None:
    rep = world.city_a1_rep
    first, second = notice(rep, 1), notice(rep, 2, url="/customers/")
    other = notice(world.city_a1_manager, 3)
    client = signed_in(rep)
    page = client.get("/notifications/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "通知1" in text and "通知2" in text and "通知3" not in text
    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None
    opened = client.get(f"/notifications/{second.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == "/customers/"
    assert client.post(f"/notifications/{other.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{other.pk}/open/").status_code == 404
    assert client.get(f"/notifications/{2**63}/open/").status_code == 404
    other.refresh_from_db()
    assert other.read_at is None
    unread = client.get("/notifications/?show=unread").content.decode()
    assert "通知1" not in unread


def test_notification_open_never_redirects_off_site(world: World) -> None:
    rep = world.city_a1_rep
    evil = notice(rep, 1)
    Notification.objects.filter(pk=evil.pk).update(url="https://evil.example/x")
    response = signed_in(rep).get(f"/notifications/{evil.pk}/open/")
    assert response["Location"] == "/notifications/"


def test_reminder_settings_page(world: World) -> None:
    client = signed_in(world.city_a1_rep)
    page = client.get("/notifications/settings/")
    assert page.status_code == 200
    assert 'name="default_lead_minutes"' in page.content.decode()
    response = client.post("/notifications/settings/",
                           {"default_lead_minutes": "120", "email_enabled": ""})
    assert response.status_code == 302
    saved = ReminderSettings.objects.get(user=world.city_a1_rep)
    assert (saved.default_lead_minutes, saved.email_enabled) == (120, False)
    bad = client.post("/notifications/settings/", {"default_lead_minutes": "7"})
    assert bad.status_code == 200
    saved.refresh_from_db()
    assert saved.default_lead_minutes == 120


# ---------------------------------------------------------------------------- outbox


def test_email_is_in_the_recipients_language_with_an_absolute_link(
        world: World, book: Book, settings: Any) -> None:
    settings.KEHU_BASE_URL = "https://crm.example.com"
    followup(world, book)
    fire_due_reminders(T)
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
        world: World, book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    followup(world, book)
    fire_due_reminders(T)
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


def test_an_email_stuck_in_sending_is_not_resent(world: World, book: Book) -> None:
    followup(world, book)
    fire_due_reminders(T)
    # A worker claimed it and died mid-send (the server may have accepted the message).
    Notification.objects.update(email_status=Notification.Email.SENDING, email_claimed_at=T,
                                email_attempts=1)
    mail.outbox.clear()
    assert send_pending_emails(T + dt.timedelta(minutes=5)) == 0
    assert Notification.objects.get().email_status == Notification.Email.SENDING
    assert send_pending_emails(T + dt.timedelta(minutes=16)) == 0
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.FAILED
    assert "not resent" in stored.email_error
    assert send_pending_emails(T + dt.timedelta(days=1)) == 0
    assert mail.outbox == []


def test_no_email_for_a_deactivated_recipient(world: World, book: Book) -> None:
    followup(world, book)
    fire_due_reminders(T)
    User.objects.filter(pk=world.city_a1_rep.pk).update(is_active=False)
    mail.outbox.clear()
    assert send_pending_emails(T) == 0
    assert mail.outbox == []
    assert Notification.objects.get().email_status == Notification.Email.FAILED


def test_notify_twice_with_the_same_key_makes_one_notice(world: World) -> None:
    rep = world.city_a1_rep
    first, created = services.notify(recipient=rep, kind="task_assigned", title="x", key="k")
    second, again = services.notify(recipient=rep, kind="task_assigned", title="y", key="k")
    assert created and not again and first.pk == second.pk


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


def test_reminder_email_through_a_real_smtp_server(world: World, book: Book, settings: Any,
                                                   smtp_server: tuple[Collector, int]) -> None:
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.KEHU_BASE_URL = "https://crm.example.com"
    settings.DEFAULT_FROM_EMAIL = "客户 Kehu <noreply@crm.example.com>"
    item = followup(world, book)
    assert fire_due_reminders(T) == 1
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
    stored = Notification.objects.get(key=f"followup:{item.pk}:due:{T.isoformat()}")
    assert stored.email_status == Notification.Email.SENT


def test_an_unreachable_smtp_server_fails_cleanly(world: World, book: Book,
                                                  settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_TIMEOUT = 5
    followup(world, book)
    fire_due_reminders(T)
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
