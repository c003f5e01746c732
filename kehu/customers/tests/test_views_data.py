"""Pages of data stewardship (duplicate review, merge, data quality) and the quality API."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as, assert_error
from kehu.core.tests.test_views import client_for
from kehu.customers.models import Customer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def copy(world, book) -> Customer:
    """A second record of the rep's customer (same phone, similar name)."""
    return customer_services.customer_create(actor=world.hq_admin, name="广州市白云机场有限公司",
                                             phones=["138 1234 5678"], short_name="白云机场",
                                             owner_id=world.city_a1_rep.pk)


# ---------------------------------------------------------------------------- duplicates


def test_duplicate_review_shows_pairs_side_by_side_masked(world, book, copy):
    response = client_for(world.hq_admin).get(reverse("duplicate_list"))
    assert response.status_code == 200
    body = text(response)
    assert book.rep.name in body and copy.name in body
    assert 'data-testid="duplicate-pair"' in body
    assert "13812345678" not in body and "138****5678" in body
    assert 'class="differs"' in body  # the short names differ
    assert f'name="keep" value="{book.rep.pk}"' in body
    assert f'name="keep" value="{copy.pk}"' in body


@pytest.mark.parametrize("persona", ["prov_a_manager", "city_a1_rep", "analyst"])
def test_duplicate_pages_need_the_admin_right(world, book, copy, persona):
    actor = getattr(world, persona)
    client = client_for(actor)
    assert client.get(reverse("duplicate_list")).status_code == 403
    response = client.post(reverse("customer_merge"), {"survivor_id": book.rep.pk,
                                                       "loser_id": copy.pk})
    assert response.status_code == 403
    assert Customer.objects.get(pk=copy.pk).merged_into_id is None
    assert AuditEvent.objects.filter(action="permission_denied", actor=actor,
                                     changes__permission="customers.admin").count() == 2


def test_anonymous_is_sent_to_sign_in(world):
    for name in ("duplicate_list", "customer_merge", "quality_report", "customer_export"):
        response = client_for_anonymous().get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def client_for_anonymous():
    from django.test import Client

    return Client()


def test_merge_confirmation_then_merge_lands_on_the_survivor(world, book, copy):
    contact_services.contact_link(actor=world.hq_admin, contact_id=book.rep_contact.pk,
                                  customer_id=copy.pk)
    client = client_for(world.hq_admin)
    url = reverse("customer_merge") + f"?a={book.rep.pk}&b={copy.pk}&keep={book.rep.pk}"
    response = client.get(url)
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="merge-moves"' in body
    assert f'name="survivor_id" value="{book.rep.pk}"' in body
    assert f'name="loser_id" value="{copy.pk}"' in body
    assert Customer.objects.get(pk=copy.pk).merged_into_id is None  # nothing yet

    response = client.post(reverse("customer_merge"), {
        "survivor_id": book.rep.pk, "loser_id": copy.pk,
        "survivor_version": book.rep.version, "loser_version": copy.version})
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[book.rep.pk])
    assert Customer.objects.get(pk=copy.pk).merged_into_id == book.rep.pk
    assert AuditEvent.objects.filter(action="customer.merge",
                                     object_id=str(book.rep.pk)).exists()
    # The merged customer's old address leads to the survivor.
    old = client.get(reverse("customer_detail", args=[copy.pk]))
    assert old.status_code == 302
    assert old["Location"] == reverse("customer_detail", args=[book.rep.pk])


def test_stale_or_refused_merges_change_nothing_and_say_why(world, book, copy):
    client = client_for(world.hq_admin)
    response = client.post(reverse("customer_merge"), {
        "survivor_id": book.rep.pk, "loser_id": copy.pk, "loser_version": copy.version + 3})
    assert response.status_code == 302
    assert response["Location"] == reverse("duplicate_list")
    assert messages_of(response)
    assert Customer.objects.get(pk=copy.pk).merged_into_id is None

    child = customer_services.customer_create(actor=world.hq_admin, name="白云机场货运",
                                              parent_id=copy.pk)
    response = client.get(reverse("customer_merge")
                          + f"?a={copy.pk}&b={child.pk}&keep={child.pk}")
    assert response.status_code == 302
    assert any(copy.name in message for message in messages_of(response))
    response = client.get(reverse("customer_merge") + f"?a={copy.pk}&b={child.pk}&keep=1")
    assert response.status_code == 302
    assert messages_of(response)
    response = client.get(reverse("customer_merge")
                          + f"?a={copy.pk}&b={book.other_tenant.pk}&keep={copy.pk}")
    assert response.status_code == 404
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


# ---------------------------------------------------------------------------- quality


def test_quality_page_by_unit_with_links(world, book):
    response = client_for(world.prov_a_manager).get(reverse("quality_report"))
    assert response.status_code == 200
    body = text(response)
    table = body.split('data-testid="quality-units"')[1].split("</table>")[0]
    assert world.city_a1.name in table and world.prov_a.name in table
    assert world.prov_b.name not in table and world.hq.name not in table
    assert f"org_unit_id={world.city_a1.pk}&amp;quality_below=60" in body
    assert "<meter" in body
    assert 'data-testid="quality-customers">4<' in body


def test_quality_page_needs_the_export_right(world, book):
    assert client_for(world.city_a1_rep).get(reverse("quality_report")).status_code == 403


def test_quality_api_follows_visibility(world, book):
    r = api_as(world.prov_a_manager).get("/customers/quality")
    assert r.status == 200, r
    assert r.data["customers"] == 4
    assert {u["org_unit_id"] for u in r.data["by_unit"]} == {world.prov_a.pk, world.city_a1.pk}
    assert {f["key"] for f in r.data["fields"]} >= {"identifier", "phones", "contacts"}
    by_missing = [f["missing"] * f["weight"] for f in r.data["fields"]]
    assert by_missing == sorted(by_missing, reverse=True)
    r = api_as(world.analyst).get("/customers/quality")
    assert r.data["customers"] == 6
    assert_error(api_as(world.city_a1_rep).get("/customers/quality"), 403, "permission_denied")
