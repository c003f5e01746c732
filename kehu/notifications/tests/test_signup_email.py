"""Sign-up emails through the outbox (issue 11, item 10): a real SMTP server on loopback
receives a single-use link for a new address and a "you have an account" note for a
registered one; without a mail server the link is in the log. The answers and the
link's rules: kehu/core/tests/test_signup.py."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from kehu.core.models import SignupRequest, Tenant, User
from kehu.core.testing import PASSWORD, World
from kehu.notifications.tasks import send_pending_emails
from kehu.notifications.tests.test_outbox import Collector, smtp_server  # noqa: F401

pytestmark = pytest.mark.django_db

NEW = {"company_name": "新星贸易有限公司", "admin_name": "张三", "password": PASSWORD}
BASE = "https://crm.example.com"


def sign_up(address: str, **extra: Any) -> None:
    r = Client().post("/api/v1/auth/signup", {**NEW, "email": address, **extra},
                      content_type="application/json")
    assert r.status_code == 202, r.content


def plain_text(content: bytes) -> str:
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and parsed.get_body(preferencelist=("html",)) is not None
    return str(body.get_content())


def test_both_emails_through_a_real_smtp_server(world: World, settings: Any,
                                                smtp_server: tuple[Collector, int]) -> None:  # noqa: F811
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.KEHU_BASE_URL = BASE
    sign_up("new@xinxing.test")
    sign_up(world.hq_admin.email, company_name="另一家公司")
    send_pending_emails()  # (the request also queued a prompt send; nothing goes twice)
    assert send_pending_emails() == 0
    by_rcpt = {rcpt[0]: content for _from, rcpt, content in handler.messages}
    assert sorted(by_rcpt) == sorted(["new@xinxing.test", world.hq_admin.email])
    assert len(handler.messages) == 2
    assert set(SignupRequest.objects.values_list("email_status", flat=True)) == {"sent"}

    # The registered address: no link that creates anything, a way to sign in.
    known = plain_text(by_rcpt[world.hq_admin.email])
    assert f"{BASE}/login/" in known and "/signup/confirm/" not in known
    assert "已存在" in known  # in the signer's language (zh-hans by default)

    # The new address: a link that completes the sign-up, once.
    text = plain_text(by_rcpt["new@xinxing.test"])
    [link] = re.findall(rf"{re.escape(BASE)}(/signup/confirm/[^/\s]+/)", text)
    assert not Tenant.objects.filter(name=NEW["company_name"]).exists()
    client = Client()
    assert client.post(link).status_code == 302
    admin = User.objects.get(email="new@xinxing.test")
    assert admin.tenant.name == NEW["company_name"] and admin.check_password(PASSWORD)
    assert Client().post(link).status_code == 422
    assert Tenant.objects.filter(name=NEW["company_name"]).count() == 1


def test_without_a_mail_server_the_link_is_in_the_log(db: Any, settings: Any,
                                                      caplog: Any) -> None:
    """The development default (`make run`, no KEHU_EMAIL_HOST): the operator finds the
    link in the server's log and can finish the sign-up."""
    settings.EMAIL_HOST = ""
    settings.KEHU_BASE_URL = BASE
    sign_up("dev@xinxing.test")
    mail.outbox.clear()
    with caplog.at_level(logging.WARNING, logger="kehu.signup"):
        assert send_pending_emails() == 1
    [logged] = re.findall(rf"{re.escape(BASE)}/signup/confirm/\S+/", caplog.text)
    assert logged in mail.outbox[0].body
    assert "KEHU_EMAIL_HOST" in caplog.text
