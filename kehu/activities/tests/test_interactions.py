"""Interactions: services, visibility per persona, API, the customer-view panel and
query counts of the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.activities.models import Interaction
from kehu.activities.selectors import interactions as selectors
from kehu.activities.services import interactions as services
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as, assert_error, ids, state
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

pytestmark = pytest.mark.django_db


def record(actor: Any, customer: Any, **extra: Any) -> Interaction:
    data: dict[str, Any] = {"kind": "call", "subject": "电话沟通"}
    data.update(extra)
    return services.interaction_create(actor=actor, customer_id=customer.pk, **data)


# ---------------------------------------------------------------------------- services


def test_create_defaults_and_audit(world, book):
    rep = world.city_a1_rep
    i = record(rep, book.rep, contact_ids=[book.rep_contact.pk],
               participant_ids=[world.city_a1_manager.pk], duration_minutes=15,
               channel="phone", direction="inbound", content="询问报价")
    assert i.owner == rep and i.org_unit == world.city_a1 and i.created_by == rep
    assert list(i.contacts.all()) == [book.rep_contact]
    assert list(i.participants.all()) == [world.city_a1_manager]
    event = AuditEvent.objects.get(action="interaction.create", object_id=str(i.pk))
    assert event.changes["contacts"] == [[], [book.rep_contact.pk]]
    assert event.changes["subject"] == [None, "电话沟通"]


def test_create_accepts_labels_and_refuses_bad_values(world, book):
    i = record(world.city_a1_rep, book.rep, kind="Visit")
    assert i.kind == "visit"
    with pytest.raises(ValidationFailed) as exc:
        record(world.city_a1_rep, book.rep, kind="fax", subject="", duration_minutes=-1)
    assert set(exc.value.fields) == {"kind", "subject", "duration_minutes"}
    assert Interaction.objects.count() == 1


def test_links_outside_what_the_actor_may_see_are_refused(world, book):
    rep = world.city_a1_rep
    other_contact = contact_services.contact_create(
        actor=world.prov_b_manager, name="赵总", customer_id=book.prov_b.pk)
    cases = [
        ({"customer_id": book.prov_b.pk}, "customer_id"),          # another branch
        ({"customer_id": book.other_tenant.pk}, "customer_id"),    # another tenant
        ({"customer_id": book.rep.pk, "contact_ids": [other_contact.pk]}, "contact_ids"),
        ({"customer_id": book.rep.pk,
          "participant_ids": [world.other_tenant_admin.pk]}, "participant_ids"),
        ({"customer_id": book.rep.pk, "owner_id": world.city_a1_manager.pk}, "owner_id"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.interaction_create(actor=rep, kind="call", subject="x", **extra)
        assert field in exc.value.fields, extra
    # A contact of another customer the rep can see is still refused for this one.
    contact = contact_services.contact_create(actor=rep, name="钱工",
                                              customer_id=book.person.pk)
    with pytest.raises(ValidationFailed):
        record(rep, book.rep, contact_ids=[contact.pk])
    assert Interaction.objects.count() == 0


def test_update_and_delete(world, book, engagement):
    i = engagement.interaction
    rep = world.city_a1_rep
    updated = services.interaction_update(actor=rep, interaction_id=i.pk,
                                          expected_version=i.version, subject="改期拜访",
                                          contact_ids=[])
    assert updated.subject == "改期拜访" and updated.version == i.version + 1
    assert list(updated.contacts.all()) == []
    event = AuditEvent.objects.get(action="interaction.update", object_id=str(i.pk))
    assert event.changes["subject"] == ["拜访白云机场信息部", "改期拜访"]
    assert event.changes["contacts"] == [[book.rep_contact.pk], []]
    # Reps may not delete (account_manager has no interactions.delete); managers may.
    with pytest.raises(Exception):  # noqa: B017,PT011 -- Forbidden
        services.interaction_delete(actor=rep, interaction_id=i.pk)
    services.interaction_delete(actor=world.city_a1_manager, interaction_id=i.pk)
    assert not Interaction.objects.filter(pk=i.pk).exists()
    assert AuditEvent.objects.filter(action="interaction.delete", object_id=str(i.pk)).exists()


# ---------------------------------------------------------------------------- visibility


def test_visibility_per_persona(world, book, engagement):
    by_manager = record(world.city_a1_manager, book.rep, subject="经理代为拜访")
    on_prov_b = record(world.prov_b_manager, book.prov_b)
    on_hq = record(world.hq_admin, book.hq)
    mine = {engagement.interaction.pk, by_manager.pk}

    def seen(user: Any) -> set[int]:
        return set(selectors.interaction_list(actor=user).values_list("pk", flat=True))

    assert seen(world.hq_admin) == mine | {on_prov_b.pk, on_hq.pk}
    # The rep sees what others recorded on the customers they own.
    assert seen(world.city_a1_rep) == mine
    assert seen(world.city_a1_manager) == mine
    assert seen(world.prov_a_manager) == mine
    assert seen(world.prov_b_manager) == {on_prov_b.pk}
    assert seen(world.other_tenant_admin) == set()


def test_participants_see_the_meeting_they_joined(world, book):
    # prov_b_manager cannot see book.prov_a's customer, but joined this meeting on it.
    meeting = record(world.prov_a_manager, book.prov_a, kind="meeting",
                     participant_ids=[world.prov_b_manager.pk])
    alone = record(world.prov_a_manager, book.prov_a, kind="meeting")
    seen = set(selectors.interaction_list(actor=world.prov_b_manager)
               .values_list("pk", flat=True))
    assert meeting.pk in seen and alone.pk not in seen
    # Seeing the meeting gives no way into the customer itself.
    with pytest.raises(NotFound):
        customer_services.customer_update(actor=world.prov_b_manager,
                                          customer_id=book.prov_a.pk, notes="x")


def test_denied_update_and_delete_change_nothing(world, book, engagement):
    i = engagement.interaction
    before = state(i)
    for user in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            services.interaction_update(actor=user, interaction_id=i.pk, subject="入侵")
        with pytest.raises(NotFound):
            services.interaction_delete(actor=user, interaction_id=i.pk)
    assert state(i) == before
    assert list(i.contacts.all()) == [book.rep_contact]


def test_filters(world, book, engagement):
    hq = world.hq_admin
    old = record(hq, book.rep, kind="email", subject="报价邮件",
                 occurred_at=timezone.now() - dt.timedelta(days=40))

    def found(**data: Any) -> set[int]:
        f = selectors.InteractionFilters.from_mapping(data)
        return set(selectors.interaction_list(actor=hq, filters=f).values_list("pk", flat=True))

    assert found(kind="email") == {old.pk}
    assert found(q="报价") == {old.pk}
    assert found(contact_id=book.rep_contact.pk) == {engagement.interaction.pk}
    start = (timezone.now() - dt.timedelta(days=10)).date().isoformat()
    assert found(start=start) == {engagement.interaction.pk}
    assert found(org_unit_id=world.prov_a.pk) == {engagement.interaction.pk}
    assert found(org_unit_id=world.prov_b.pk) == set()
    assert found(customer_id=book.hq.pk) == set()
    assert found(kind="nonsense", start="not a date") == {old.pk, engagement.interaction.pk}


# ---------------------------------------------------------------------------- API


def test_api_crud(world, book):
    client = api_as(world.city_a1_rep)
    body = {"customer_id": book.rep.pk, "kind": "visit", "channel": "face_to_face",
            "subject": "上门拜访", "contact_ids": [book.rep_contact.pk],
            "occurred_at": "2026-03-01T10:00:00+08:00", "duration_minutes": 60}
    r = client.post("/interactions", body, Idempotency_Key="k1")
    assert r.status == 201, r
    assert r.data["customer"] == {"id": book.rep.pk, "name": book.rep.name, "redacted": False}
    assert r.data["contacts"] == [{"id": book.rep_contact.pk, "name": "王经理",
                                   "redacted": False}]
    assert r.headers["ETag"] == '"1"'
    again = client.post("/interactions", body, Idempotency_Key="k1")
    assert again.data["id"] == r.data["id"] and Interaction.objects.count() == 1
    pk = r.data["id"]
    assert client.get(f"/interactions/{pk}").data["subject"] == "上门拜访"
    assert_error(client.patch(f"/interactions/{pk}", {"subject": "x"}), 428,
                 "precondition_required")
    assert_error(client.patch(f"/interactions/{pk}", {"subject": "x"}, If_Match='"9"'), 412,
                 "precondition_failed")
    r = client.patch(f"/interactions/{pk}", {"subject": "二次拜访"}, If_Match='"1"')
    assert r.status == 200 and r.data["subject"] == "二次拜访" and r.data["version"] == 2
    assert_error(client.patch(f"/interactions/{pk}", {"tenant_id": 1}, If_Match="*"), 422,
                 "validation_error")
    assert ids(client.get("/interactions", customer_id=book.rep.pk)) == {pk}
    # Reps cannot delete; the manager can, with If-Match.
    assert client.delete(f"/interactions/{pk}", If_Match='"2"').status == 403
    manager = api_as(world.city_a1_manager)
    assert_error(manager.delete(f"/interactions/{pk}"), 428, "precondition_required")
    assert manager.delete(f"/interactions/{pk}", If_Match='"2"').status == 204
    assert Interaction.objects.count() == 0


def test_api_refuses_invisible_customer_and_hides_others(world, book, engagement):
    r = api_as(world.prov_b_manager).post(
        "/interactions", {"customer_id": book.rep.pk, "kind": "call", "subject": "x"})
    assert_error(r, 422, "validation_error")
    assert "customer_id" in r.data["error"]["fields"]
    pk = engagement.interaction.pk
    assert_error(api_as(world.prov_b_manager).get(f"/interactions/{pk}"), 404, "not_found")
    assert ids(api_as(world.prov_b_manager).get("/interactions")) == set()
    assert ids(api_as(world.city_a1_rep).get("/interactions")) == {pk}


def test_customer_view_has_the_interactions_panel(world, book, engagement):
    r = api_as(world.city_a1_rep).get(f"/customers/{book.rep.pk}/view")
    assert r.status == 200
    panel = r.data["panels"]["interactions"]
    assert panel["count"] == 1
    assert panel["items"][0]["id"] == engagement.interaction.pk
    assert panel["items"][0]["contacts"] == [{"id": book.rep_contact.pk, "name": "王经理"}]
    assert {k["value"]: k["count"] for k in panel["kinds"]}["visit"] == 1
    assert r.data["panels"]["followups"]["items"][0]["id"] == engagement.followup.pk
    # Another branch's manager cannot open the customer at all.
    assert api_as(world.prov_b_manager).get(f"/customers/{book.rep.pk}/view").status == 404


def test_timeline_pages_and_filters(world, book):
    now = timezone.now()
    for n in range(25):
        record(world.city_a1_rep, book.rep, kind="call" if n % 5 else "visit",
               subject=f"第{n}次", occurred_at=now - dt.timedelta(hours=n))
    data = selectors.customer_timeline(actor=world.city_a1_rep, customer=book.rep)
    assert data["count"] == 25 and len(data["items"]) == 20 and data["next_offset"] == 20
    assert data["items"][0]["subject"] == "第0次"
    data = selectors.customer_timeline(actor=world.city_a1_rep, customer=book.rep, offset=20)
    assert [i["subject"] for i in data["items"]] == [f"第{n}次" for n in range(20, 25)]
    data = selectors.customer_timeline(actor=world.city_a1_rep, customer=book.rep,
                                       kind="visit")
    assert data["count"] == 5 and {i["kind"] for i in data["items"]} == {"visit"}


def _add(world: Any, book: Any, n: int) -> None:
    for k in range(n):
        i = record(world.city_a1_rep, book.rep, contact_ids=[book.rep_contact.pk],
                   participant_ids=[world.city_a1_manager.pk], subject=f"s{k}")
        assert i.pk


def test_query_counts_stay_flat(world, book):
    client = api_as(world.city_a1_rep)

    def count(path: str) -> int:
        client.get("/auth/me")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status == 200
        return len(ctx.captured_queries)

    view = f"/customers/{book.rep.pk}/view"
    listing = f"/interactions?customer_id={book.rep.pk}&limit=50"
    _add(world, book, 3)
    small = (count(view), count(listing))
    _add(world, book, 27)
    assert (count(view), count(listing)) == small


def test_timeline_partial_query_count(world, book, client):
    client.force_login(world.city_a1_rep)
    url = f"/interactions/timeline/{book.rep.pk}/"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
        return len(ctx.captured_queries)

    _add(world, book, 3)
    small = count()
    _add(world, book, 27)
    assert count() == small
