"""Every ``next`` / return URL goes through ``kehu.core.redirects``: same-origin relative
paths only, in links as well as redirects (issue 11, item 5)."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from kehu.core.redirects import is_safe_path, safe_next
from kehu.core.testing import PASSWORD

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "//evil.example/", "\\\\evil.example/",
    "/\\evil.example/", "/\\/evil.example/", "https://evil.example/", "http://testserver.evil/",
    "evil.example/x", "/\tjavascript:alert(1)", "/x\nLocation: https://evil.example/",
    "ftp://testserver/x", "",
]
SAFE = ["/customers/?page=2", "/", "/documents/upload?customer=3#files"]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_are_refused(target):
    request = RequestFactory().get("/")
    assert not is_safe_path(target, request)
    assert safe_next(request, target, "/home/") == "/home/"


@pytest.mark.parametrize("target", SAFE)
def test_relative_paths_pass(target):
    assert safe_next(RequestFactory().get("/"), target, "/home/") == target


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("target", HOSTILE[:-1])
def test_document_upload_page_never_links_to_a_hostile_next(world, target):
    response = signed_in(world.city_a1_rep).get(reverse("document_upload"), {"next": target})
    body = response.content.decode()
    assert response.status_code == 200
    assert "evil.example" not in body and "javascript:" not in body.lower()
    assert "data:text/html" not in body


def test_document_upload_page_links_back_to_a_safe_next(world):
    response = signed_in(world.city_a1_rep).get(reverse("document_upload"),
                                                {"next": "/customers/"})
    assert 'href="/customers/"' in response.content.decode()


@pytest.mark.parametrize("target", ["//evil.example/", "javascript:alert(1)", "/\\evil.example"])
def test_redirecting_pages_ignore_a_hostile_next(world, target):
    client = signed_in(world.hq_admin)
    pages = [
        (reverse("notification_read_all"), reverse("notification_list")),
        (reverse("customer_bulk"), reverse("customer_list")),
    ]
    for url, default in pages:
        response = client.post(url, {"next": target})
        assert response.status_code == 302, url
        assert response["Location"] == default, url


def test_login_ignores_a_hostile_next(world):
    client = Client()
    page = client.get(reverse("login"), {"next": "//evil.example/"})
    assert 'name="next" value="//evil' not in page.content.decode()
    response = client.post(reverse("login") + "?next=//evil.example/",
                           {"email": world.city_a1_rep.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_login_follows_a_safe_next(world):
    response = Client().post(reverse("login") + "?next=/customers/",
                             {"email": world.city_a1_rep.email, "password": PASSWORD})
    assert response["Location"] == "/customers/"
