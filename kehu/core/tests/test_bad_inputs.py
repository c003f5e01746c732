"""Bad input answers 400/422, never 500 (issue 11 items 11–14)."""

from __future__ import annotations

import pytest
from django.test import Client

from kehu.core.tests.test_api import api_as

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


@pytest.mark.parametrize(("path", "query"), [
    ("/customers", {"owner_id": HUGE}),
    ("/customers", {"org_unit_id": HUGE}),
    ("/customers", {"parent_id": HUGE}),
    ("/customers", {"offset": HUGE}),
    ("/contacts", {"customer_id": HUGE}),
    ("/interactions", {"customer_id": HUGE}),
    ("/interactions", {"offset": "9223372036854775807"}),
    ("/interactions", {"start": "0001-01-01T00:00:00+14:00"}),
    ("/interactions", {"end": "9999-12-31T23:59:59-12:00"}),
    ("/followups", {"due_from": "0001-01-01T00:00:00+14:00"}),
    ("/tasks", {"due_before": "9999-12-31T23:59:59-12:00"}),
    ("/calendar", {"start": "0001-01-01T00:00:00+14:00", "end": "9999-12-31T23:59:59-12:00"}),
    ("/search", {"q": "\x00\x00\x00"}),
    ("/search", {"q": "\x01\x02\x03"}),
])
def test_bad_query_is_not_a_server_error(world, path, query):
    response = api_as(world.hq_admin).get(path, **query)
    assert response.status in (200, 400, 422), (path, query, response)


@pytest.mark.parametrize("url", [
    "/interactions/99999999999999999999/", "/customers/99999999999999999999/",
    "/tasks/99999999999999999999/", "/interactions/timeline/99999999999999999999/",
])
def test_huge_id_in_a_page_path_is_404(world, url):
    client = Client()
    client.force_login(world.hq_admin)
    assert client.get(url).status_code == 404


def test_huge_offset_on_a_page_is_not_a_server_error(world, book):
    client = Client()
    client.force_login(world.hq_admin)
    url = f"/interactions/timeline/{book.hq.pk}/"
    assert client.get(url, {"offset": HUGE}).status_code in (200, 400)
    assert client.get("/interactions/", {"offset": HUGE, "owner": HUGE,
                                         "customer": HUGE}).status_code in (200, 400)
    assert client.get("/customers/", {"owner": HUGE, "unit": HUGE,
                                      "page": HUGE}).status_code in (200, 400)
