"""The notification centre (API and pages), reminder settings, the header badge and
``notify``'s once-per-key rule. The email outbox: test_outbox.py; reminders of follow-ups
and tasks: kehu/activities/tests/test_reminders.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.core.tests.test_api import ApiClient, api_as, assert_error
from kehu.notifications import services
from kehu.notifications.models import Notification, ReminderSettings

pytestmark = pytest.mark.django_db


def notice(user: User, n: int, **extra: Any) -> Notification:
    return Notification.objects.create(
        tenant_id=user.tenant_id, recipient=user, kind="task_assigned",
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
    assert response.data["read_via"] == "one"
    again = api.post(f"/notifications/{mine.pk}/read")
    assert again.data["read_at"] == response.data["read_at"]  # reading twice keeps the time
    theirs.refresh_from_db()
    assert (theirs.read_at, theirs.read_via) == (None, "")


def test_marking_read_is_recorded_and_queryable(world: World) -> None:
    """When and how each notice was first read is kept and can be listed: marked on its
    own (API or page), with "mark all read", or opened through its link."""
    rep = world.city_a1_rep
    marked, opened, bulk, later = (notice(rep, i) for i in range(4))
    api = api_as(rep)
    assert api.get("/notifications").data["items"][0]["read_via"] == ""
    api.post(f"/notifications/{marked.pk}/read")
    signed_in(rep).get(f"/notifications/{opened.pk}/open/")
    before_bulk = timezone.now()
    assert api.post("/notifications/read-all").data == {"updated": 2}
    # The first reading stays: opening an already read notice changes nothing.
    signed_in(rep).get(f"/notifications/{bulk.pk}/open/")
    rows = {n.pk: (n.read_via, n.read_at is not None)
            for n in Notification.objects.filter(recipient=rep)}
    assert rows == {marked.pk: ("one", True), opened.pk: ("opened", True),
                    bulk.pk: ("all", True), later.pk: ("all", True)}

    def listed(**query: Any) -> set[int]:
        response = api.get("/notifications", **query)
        assert response.status == 200, response
        return {item["id"] for item in response.data["items"]}

    assert listed(read_via="one") == {marked.pk}
    assert listed(read_via="opened") == {opened.pk}
    assert listed(read_via="all") == {bulk.pk, later.pk}
    assert listed(read_since=before_bulk.isoformat()) == {bulk.pk, later.pk}
    items = {i["id"]: i for i in api.get("/notifications").data["items"]}
    assert items[opened.pk]["read_via"] == "opened" and items[opened.pk]["read_at"]
    assert_error(api.get("/notifications", read_via="glanced"), 422, "validation_error")


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
    assert got.headers["ETag"] == '"0"' and got.data["version"] == 0  # the defaults
    assert not ReminderSettings.objects.exists()  # reading writes nothing
    put = api.request("PUT", "/notifications/settings",
                      {"default_lead_minutes": 60, "email_enabled": False},
                      headers={"If-Match": got.headers["ETag"]})
    assert put.status == 200, put
    assert put.data["default_lead_minutes"] == 60 and put.data["email_enabled"] is False
    assert put.headers["ETag"] == '"1"'
    saved = ReminderSettings.objects.get(user=world.city_a1_rep)
    assert (saved.default_lead_minutes, saved.email_enabled) == (60, False)
    assert AuditEvent.objects.filter(action="reminder_settings.update",
                                     actor=world.city_a1_rep).count() == 1
    bad = api.request("PUT", "/notifications/settings",
                      {"default_lead_minutes": 7, "email_enabled": True},
                      headers={"If-Match": '"1"'})
    error = assert_error(bad, 422, "validation_error")
    assert "default_lead_minutes" in error["fields"]
    extra = api.request("PUT", "/notifications/settings",
                        {"default_lead_minutes": 5, "email_enabled": True, "user": 1},
                        headers={"If-Match": '"1"'})
    assert_error(extra, 422, "validation_error")
    saved.refresh_from_db()
    assert (saved.default_lead_minutes, saved.version) == (60, 1)


def test_api_reminder_settings_need_a_current_if_match(world: World) -> None:
    """Like every update: 428 without If-Match, 412 when another device saved meanwhile
    (including a first save racing another first save); nothing changes either way."""
    rep = world.city_a1_rep
    phone, laptop = api_as(rep), api_as(rep)
    body = {"default_lead_minutes": 60, "email_enabled": False}
    assert_error(phone.request("PUT", "/notifications/settings", body), 428,
                 "precondition_required")
    assert not ReminderSettings.objects.exists()
    seen = laptop.get("/notifications/settings").headers["ETag"]
    first = phone.request("PUT", "/notifications/settings", body, headers={"If-Match": seen})
    assert first.status == 200
    stale = laptop.request("PUT", "/notifications/settings",
                           {"default_lead_minutes": 5, "email_enabled": True},
                           headers={"If-Match": seen})
    assert_error(stale, 412, "precondition_failed")
    saved = ReminderSettings.objects.get(user=rep)
    assert (saved.default_lead_minutes, saved.email_enabled, saved.version) == (60, False, 1)
    anyway = laptop.request("PUT", "/notifications/settings",
                            {"default_lead_minutes": 5, "email_enabled": True},
                            headers={"If-Match": "*"})
    assert anyway.status == 200 and anyway.headers["ETag"] == '"2"'


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
    assert 'name="expected_version" value="0"' in page.content.decode()
    response = client.post("/notifications/settings/",
                           {"default_lead_minutes": "120", "email_enabled": "",
                            "expected_version": "0"})
    assert response.status_code == 302
    saved = ReminderSettings.objects.get(user=world.city_a1_rep)
    assert (saved.default_lead_minutes, saved.email_enabled) == (120, False)
    # A page loaded before that save (another tab) is refused, not applied.
    stale = client.post("/notifications/settings/",
                        {"default_lead_minutes": "5", "email_enabled": "on",
                         "expected_version": "0"})
    assert stale.status_code == 200
    saved.refresh_from_db()
    assert (saved.default_lead_minutes, saved.version) == (120, 1)
    bad = client.post("/notifications/settings/", {"default_lead_minutes": "7"})
    assert bad.status_code == 200
    saved.refresh_from_db()
    assert saved.default_lead_minutes == 120


def test_notify_twice_with_the_same_key_makes_one_notice(world: World) -> None:
    rep = world.city_a1_rep
    first, created = services.notify(recipient=rep, kind="task_assigned", title="x", key="k")
    second, again = services.notify(recipient=rep, kind="task_assigned", title="y", key="k")
    assert created and not again and first.pk == second.pk


def test_settings_page_shows_the_registered_sections(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The calendar link card is a section activities registers; without it the page
    still stands on its own."""
    from kehu.notifications import registry

    client = signed_in(world.city_a1_rep)
    html = client.get("/notifications/settings/").content.decode()
    assert 'data-testid="feed-status"' in html and '· <a href="/calendar/">' in html
    monkeypatch.setattr(registry, "SETTINGS_SECTIONS", {})
    alone = client.get("/notifications/settings/")
    assert alone.status_code == 200
    text = alone.content.decode()
    assert 'name="default_lead_minutes"' in text
    assert 'data-testid="feed-status"' not in text and '· <a href="/calendar/">' not in text
