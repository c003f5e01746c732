"""Per-address limits on sign-in and sign-up."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kehu.core import context
from kehu.core.auth import login_with_password
from kehu.core.exceptions import AuthenticationFailed, Throttled
from kehu.core.models import SignupRequest, Tenant
from kehu.core.services.signup import signup_request
from kehu.core.testing import PASSWORD, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_address():
    token = context.activate(context.RequestContext("r", "203.0.113.9"))
    yield
    context.deactivate(token)


def test_sign_in_attempts_limited_per_address(world: World, settings, client_address) -> None:
    settings.KEHU_SIGN_IN_LIMIT = 3
    for email in ("a@x.test", "b@x.test", "c@x.test"):  # spraying different accounts
        with pytest.raises(AuthenticationFailed):
            login_with_password(email, "guess")
    with pytest.raises(Throttled):
        login_with_password(world.analyst.email, PASSWORD)  # even the right password


def test_sign_ups_limited_per_address(db, settings, client_address) -> None:
    settings.KEHU_SIGN_UP_LIMIT = 2
    for n in range(2):
        signup_request(company_name=f"公司{n}", admin_name="甲",
                       email=f"a{n}@x.test", password=PASSWORD)
    with pytest.raises(Throttled):
        signup_request(company_name="公司9", admin_name="甲", email="a9@x.test",
                       password=PASSWORD)
    assert SignupRequest.objects.count() == 2 and Tenant.objects.count() == 0


def test_sign_ups_limited_per_email_whatever_the_address(db, settings) -> None:
    """One mailbox is not flooded with confirmation emails from many addresses."""
    settings.KEHU_SIGN_UP_EMAIL_LIMIT = 2
    for n in range(3):
        token = context.activate(context.RequestContext("r", f"203.0.113.{n}"))
        try:
            if n < 2:
                signup_request(company_name=f"公司{n}", admin_name="甲",
                               email="Same@X.test", password=PASSWORD)
            else:
                with pytest.raises(Throttled):
                    signup_request(company_name="公司9", admin_name="甲",
                                   email="same@x.test", password=PASSWORD)
        finally:
            context.deactivate(token)
    assert SignupRequest.objects.count() == 2


def test_no_limit_without_a_client_address(world: World, settings) -> None:
    settings.KEHU_SIGN_IN_LIMIT = 1
    for _ in range(3):
        assert login_with_password(world.analyst.email, PASSWORD)


def test_throttled_api_answers_429(world: World, settings) -> None:
    settings.KEHU_SIGN_IN_LIMIT = 2
    client = Client()
    url = "/api/v1/auth/token"
    body = {"email": world.analyst.email, "password": "wrong"}
    for _ in range(2):
        assert client.post(url, body, content_type="application/json").status_code == 401
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    page = client.post(reverse("login"), {"email": world.analyst.email, "password": PASSWORD})
    assert page.status_code == 401
    assert "_auth_user_id" not in client.session
