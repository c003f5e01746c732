"""Sign-up confirmed by email (issue 11, item 10): the answer never tells whether an email
has an account, nothing is created before the emailed link is followed, and the link
works once and expires. The emails themselves, through a real SMTP server:
kehu/notifications/tests/test_signup_email.py."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.models import AuditEvent, OrgUnit, SignupRequest, Tenant, User
from kehu.core.services.signup import signup_token
from kehu.core.testing import PASSWORD, World

pytestmark = pytest.mark.django_db

API = "/api/v1"
NEW = {"company_name": "新星贸易有限公司", "admin_name": "张三",
       "email": "zhang@xinxing.test", "password": PASSWORD}


class CountingHasher(MD5PasswordHasher):
    """The test suite's fast hasher, counting how often a password is hashed."""

    algorithm = "md5counted"
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt)


def api_post(path: str, body: dict[str, Any]) -> Any:
    return Client().post(API + path, body, content_type="application/json")


def created() -> dict[str, int]:
    return {m.__name__: m._default_manager.count()
            for m in (Tenant, OrgUnit, User, AuditEvent)}


def test_api_answers_alike_for_a_new_and_a_registered_email(world: World,
                                                            settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["kehu.core.tests.test_signup.CountingHasher"]
    before = created()
    answers: list[tuple[int, set[str], str]] = []
    for email in ("nobody@new.test", world.hq_admin.email.upper()):
        CountingHasher.calls = 0
        r = api_post("/auth/signup", {**NEW, "company_name": f"公司{len(answers)}",
                                      "email": email})
        # The same status and body (the address echoed as given, lower-cased), and the
        # same work: the password is hashed for the registered address too.
        answers.append((r.status_code, set(r.json()), r.json()["detail"]))
        assert r.json()["email"] == email.lower()
        assert CountingHasher.calls == 1
    assert answers[0] == answers[1] and answers[0][0] == 202
    assert created() == before  # no company, no user, no audit event yet
    new, registered = SignupRequest.objects.order_by("pk")
    assert not new.account_exists and new.password.startswith("md5counted$")
    assert registered.account_exists and registered.password == ""


def test_html_answers_alike_for_a_new_and_a_registered_email(world: World) -> None:
    pages = []
    for n, email in enumerate(("nobody@new.test", world.hq_admin.email)):
        client = Client()
        response = client.post(reverse("signup"), {
            "company_name": f"公司{n}", "admin_name": "某人", "email": email,
            "password": PASSWORD, "password_confirm": PASSWORD})
        assert response.status_code == 302 and response["Location"] == reverse("signup_sent")
        page = client.get(reverse("signup_sent"))
        assert page.status_code == 200
        body = page.content.decode().replace(email, "EMAIL")
        # Less the per-session CSRF secret.
        pages.append(re.sub(r'(CSRFToken": "|value=")[A-Za-z0-9]{64}"', "", body))
    assert pages[0] == pages[1]
    assert not Tenant.objects.filter(name__in=["公司0", "公司1"]).exists()


def test_the_link_creates_the_company_once(db: Any) -> None:
    assert api_post("/auth/signup", NEW).status_code == 202
    assert not Tenant.objects.exists() and not User.objects.exists()
    token = signup_token(SignupRequest.objects.get())
    r = api_post("/auth/signup/confirm", {"token": token})
    assert r.status_code == 201, r.json()
    tenant = Tenant.objects.get()
    assert r.json()["tenant"] == {"id": tenant.pk, "name": NEW["company_name"]}
    admin = User.objects.get(email=NEW["email"])
    assert admin.tenant_id == tenant.pk and admin.check_password(PASSWORD)
    stored = SignupRequest.objects.get()
    assert stored.confirmed_at is not None and stored.tenant_id == tenant.pk
    assert stored.password == ""  # the hash lives on in the user only
    # Used: the same link again is refused and creates nothing.
    again = api_post("/auth/signup/confirm", {"token": token})
    assert again.status_code == 422 and "token" in again.json()["error"]["fields"]
    assert Tenant.objects.count() == 1 and User.objects.count() == 1


def test_the_link_expires(db: Any, settings: Any) -> None:
    settings.KEHU_SIGN_UP_LINK_HOURS = 24
    api_post("/auth/signup", NEW)
    pending = SignupRequest.objects.get()
    SignupRequest.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=24, minutes=1))
    pending.refresh_from_db()
    r = api_post("/auth/signup/confirm", {"token": signup_token(pending)})
    assert r.status_code == 422
    assert not Tenant.objects.exists()


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # one character off
    lambda t: "9" + t,  # another request's number
    lambda t: t.split("-")[0],  # no signature
    lambda t: "x-" + t,
])
def test_a_forged_token_is_refused(db: Any, mangle: Any) -> None:
    api_post("/auth/signup", NEW)
    token = mangle(signup_token(SignupRequest.objects.get()))
    r = api_post("/auth/signup/confirm", {"token": token})
    assert r.status_code == 422
    assert not Tenant.objects.exists()


def test_a_registered_emails_request_has_no_working_link(world: World) -> None:
    api_post("/auth/signup", {**NEW, "email": world.hq_admin.email})
    pending = SignupRequest.objects.get()
    assert pending.account_exists
    r = api_post("/auth/signup/confirm", {"token": signup_token(pending)})
    assert r.status_code == 422
    assert not Tenant.objects.filter(name=NEW["company_name"]).exists()


def test_html_link_opens_a_page_and_only_the_button_creates(db: Any) -> None:
    """A mail scanner that opens the link must not use it up."""
    api_post("/auth/signup", NEW)
    link = reverse("signup_confirm", args=[signup_token(SignupRequest.objects.get())])
    client = Client()
    for _ in range(2):
        page = client.get(link)
        assert page.status_code == 200 and NEW["company_name"] in page.content.decode()
    assert not Tenant.objects.exists()
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert NEW["company_name"] in client.get(reverse("home")).content.decode()
    # Used: opening it again says so, and a second press creates nothing.
    assert client.get(link).status_code == 422
    assert Client().post(link).status_code == 422
    assert Tenant.objects.count() == 1


def test_a_company_name_taken_meanwhile_is_refused_at_confirmation(world: World) -> None:
    api_post("/auth/signup", NEW)
    pending = SignupRequest.objects.get()
    SignupRequest.objects.filter(pk=pending.pk).update(company_name=world.tenant.name)
    pending.refresh_from_db()
    r = api_post("/auth/signup/confirm", {"token": signup_token(pending)})
    assert r.status_code == 409 and "company_name" in r.json()["error"]["fields"]
    assert not User.objects.filter(email=NEW["email"]).exists()
    assert SignupRequest.objects.get().confirmed_at is None
