"""Pages of interactions."""

from __future__ import annotations

import pytest

from kehu.activities.models import Interaction

pytestmark = pytest.mark.django_db


def test_customer_page_shows_timeline_and_followups(world, book, engagement, client):
    client.force_login(world.city_a1_rep)
    page = client.get(f"/customers/{book.rep.pk}/").content.decode()
    assert 'data-testid="panel-interactions"' in page
    assert engagement.interaction.subject in page
    assert 'data-testid="customer-record-interaction"' in page
    assert engagement.followup.subject in page
    # Marketing-style readers without interactions.create get no button.
    client.force_login(world.analyst)
    page = client.get(f"/customers/{book.rep.pk}/").content.decode()
    assert 'data-testid="customer-record-interaction"' not in page


def test_record_from_the_customer_page(world, book, client):
    client.force_login(world.city_a1_rep)
    r = client.get(f"/interactions/new/?customer={book.rep.pk}")
    assert r.status_code == 200 and book.rep_contact.name in r.content.decode()
    r = client.post("/interactions/new/", {
        "customer": book.rep.pk, "kind": "call", "occurred_at": "2026-03-01T10:00",
        "subject": "电话确认需求", "direction": "outbound", "channel": "phone",
        "contacts": [book.rep_contact.pk]})
    assert r.status_code == 302 and r["Location"].endswith("#panel-interactions")
    i = Interaction.objects.get()
    assert i.subject == "电话确认需求" and list(i.contacts.all()) == [book.rep_contact]
    # Invalid input: the form again with messages, nothing saved.
    r = client.post("/interactions/new/", {"customer": book.rep.pk, "kind": "call",
                                           "occurred_at": "", "subject": "",
                                           "direction": "outbound", "channel": "phone"})
    assert r.status_code == 422 and Interaction.objects.count() == 1


def test_record_from_a_contact_preselects_them(world, book, client):
    client.force_login(world.city_a1_rep)
    page = client.get(f"/contacts/{book.rep_contact.pk}/").content.decode()
    assert f"/interactions/new/?contact={book.rep_contact.pk}" in page
    r = client.get(f"/interactions/new/?contact={book.rep_contact.pk}")
    html = r.content.decode()
    assert r.status_code == 200 and book.rep.name in html
    assert f'value="{book.rep_contact.pk}"' in html and "checked" in html


def test_others_cannot_open_or_record(world, book, engagement, client):
    client.force_login(world.prov_b_manager)
    pk = engagement.interaction.pk
    assert client.get(f"/interactions/{pk}/").status_code == 404
    assert client.get(f"/interactions/new/?customer={book.rep.pk}").status_code == 404
    r = client.post("/interactions/new/", {"customer": book.rep.pk, "kind": "call",
                                           "occurred_at": "2026-03-01T10:00",
                                           "subject": "入侵", "direction": "outbound",
                                           "channel": "phone"})
    assert r.status_code == 404 and Interaction.objects.count() == 1
    assert client.post(f"/interactions/{pk}/delete/").status_code == 404
    assert client.get(f"/interactions/timeline/{book.rep.pk}/").status_code == 404
    assert engagement.interaction.subject not in client.get("/interactions/").content.decode()


def test_list_detail_edit_delete(world, book, engagement, client):
    client.force_login(world.city_a1_manager)
    pk = engagement.interaction.pk
    page = client.get("/interactions/?kind=visit").content.decode()
    assert engagement.interaction.subject in page
    empty = client.get("/interactions/?kind=email").content.decode()
    assert 'data-testid="interaction-empty"' in empty
    detail = client.get(f"/interactions/{pk}/").content.decode()
    assert "讨论专线扩容" in detail and "王经理" in detail
    r = client.post(f"/interactions/{pk}/edit/", {
        "kind": "visit", "occurred_at": "2026-03-01T10:00", "subject": "已改",
        "direction": "outbound", "channel": "face_to_face",
        "contacts": [book.rep_contact.pk]})
    assert r.status_code == 302
    assert Interaction.objects.get(pk=pk).subject == "已改"
    r = client.post(f"/interactions/{pk}/delete/")
    assert r.status_code == 302 and not Interaction.objects.filter(pk=pk).exists()


def test_timeline_partial_filters_by_type(world, book, engagement, client):
    client.force_login(world.city_a1_rep)
    url = f"/interactions/timeline/{book.rep.pk}/"
    page = client.get(url + "?kind=visit").content.decode()
    assert engagement.interaction.subject in page and "<html" in page  # whole page
    assert "<html" not in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    html = client.get(url + "?kind=call", HTTP_HX_REQUEST="true").content.decode()
    assert engagement.interaction.subject not in html
    assert 'data-testid="timeline-empty"' in html
