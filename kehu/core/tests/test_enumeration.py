"""Nobody learns which emails have accounts (issue 11, item 10), and a new password
revokes the user's API tokens (item 9)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kehu.core.auth import login_with_password
from kehu.core.exceptions import AuthenticationFailed
from kehu.core.models import ApiToken, AuditEvent
from kehu.core.services.profile import api_token_create
from kehu.core.testing import PASSWORD, World, fresh
from kehu.core.tests.test_api import ApiClient, api_as, assert_error, etag

pytestmark = pytest.mark.django_db


def refusal(email: str, password: str) -> str:
    with pytest.raises(AuthenticationFailed) as err:
        login_with_password(email, password)
    return str(err.value.message)


def test_a_locked_account_answers_like_an_unknown_email(world: World, settings,
                                                        django_capture_on_commit_callbacks):
    settings.KEHU_LOCKOUT_THRESHOLD = 5
    unknown = refusal("nobody@huaxia.test", "wrong")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [refusal("rep_a1@huaxia.test", "wrong") for _ in range(7)]
    assert set(answers) == {unknown}
    assert fresh(world.city_a1_rep).is_locked()
    assert refusal("rep_a1@huaxia.test", PASSWORD) == unknown  # still locked out
    # The owner is told, by a notice (and email when they take it).
    from kehu.notifications.models import Notification

    notice = Notification.objects.get(recipient=world.city_a1_rep, kind="account_locked")
    assert notice.body
    # ...and an administrator sees it.
    admin = api_as(world.hq_admin)
    assert admin.get(f"/users/{world.city_a1_rep.pk}").data["is_locked"] is True


def test_the_sign_in_page_answers_alike(world: World, settings):
    settings.KEHU_LOCKOUT_THRESHOLD = 2
    pages = []
    for email in ("nobody@huaxia.test", "rep_a1@huaxia.test"):
        for _ in range(3):
            response = Client().post(reverse("login"), {"email": email, "password": "wrong"})
        page = response.content.decode().replace(email, "EMAIL")
        pages.append(re.sub(r"[A-Za-z0-9]{64}", "CSRF", page))
    assert pages[0] == pages[1]
    r = ApiClient().post("/auth/token", {"email": "rep_a1@huaxia.test", "password": PASSWORD,
                                         "name": "x"})
    unknown = ApiClient().post("/auth/token", {"email": "nobody@huaxia.test",
                                               "password": PASSWORD, "name": "x"})
    assert (r.status, r.data) == (unknown.status, unknown.data)


def test_user_creation_does_not_reveal_another_company(world: World):
    body = {"full_name": "某人", "org_unit_id": world.other_unit.pk,
            "role_ids": [world.role("account_manager", world.other_tenant).pk]}
    other_admin = api_as(world.other_tenant_admin)
    r = other_admin.post("/users", {**body, "email": world.city_a1_rep.email})
    error = assert_error(r, 409, "conflict")
    message = error["fields"]["email"][0]
    assert "already" not in message and "已" not in message
    r2 = other_admin.post("/users", {**body, "email": world.other_tenant_admin.email})
    own = assert_error(r2, 409, "conflict")["fields"]["email"][0]
    assert own != message  # a duplicate in one's own company may say so


def test_a_new_password_revokes_api_tokens(world: World):
    me = world.city_a1_rep
    api_token_create(actor=me, name="script")
    client = api_as(me)
    r = client.patch("/auth/me", {"current_password": PASSWORD,
                                  "new_password": "Another-pass-2026x"}, If_Match=etag(me))
    assert r.status == 200, r.data
    assert r.data["tokens_revoked"] == 2
    assert not ApiToken.objects.filter(user=me, revoked_at__isnull=True).exists()
    assert client.get("/auth/me").status == 401
    event = AuditEvent.objects.filter(action="user.profile_update").latest("id")
    assert event.changes["api_tokens_revoked"] == [None, 2]


def test_the_password_form_warns_and_revokes(world: World):
    me = world.city_a1_rep
    api_token_create(actor=me, name="script")
    client = Client()
    client.force_login(me)
    page = client.get(reverse("profile"))
    assert b'data-testid="password-revokes-tokens"' in page.content
    r = client.post(reverse("profile_password"), {
        "current_password": PASSWORD, "new_password": "Another-pass-2026x",
        "new_password_confirm": "Another-pass-2026x"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert not ApiToken.objects.filter(user=me, revoked_at__isnull=True).exists()
