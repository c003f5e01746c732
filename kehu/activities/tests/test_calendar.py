"""The calendar: whose calendar each persona may open, what it shows, the range rules, the
pages (day / week / month) and the secret iCalendar feed."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.activities.models import CalendarFeed, FollowUp, Interaction, Task
from kehu.activities.selectors.calendar import calendar_events, calendar_users
from kehu.activities.services import calendar as calendar_services
from kehu.activities.tests.test_reminders import followup, task
from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.core.tests.test_api import api_as, assert_error
from kehu.customers.testing import Book

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY = dt.date(2031, 3, 14)  # a Friday
AT = dt.datetime(2031, 3, 14, 10, 0, tzinfo=SHANGHAI)


class Rows:
    def __init__(self, world: World, book: Book) -> None:
        rep = world.city_a1_rep
        self.followup = followup(world, book, due=AT)
        self.task = task(world, book, due=AT + dt.timedelta(hours=3))
        self.visit = Interaction.objects.create(
            tenant=world.tenant, org_unit=world.city_a1, owner=rep, kind="visit",
            channel="face_to_face", customer=book.rep, subject="拜访白云机场",
            occurred_at=AT + dt.timedelta(hours=5), duration_minutes=90, created_by=rep)
        # A call is not a calendar item.
        Interaction.objects.create(
            tenant=world.tenant, org_unit=world.city_a1, owner=rep, kind="call",
            customer=book.rep, subject="电话回访", occurred_at=AT, created_by=rep)
        # The manager's meeting with the rep as a participant, about the manager's customer.
        self.meeting = Interaction.objects.create(
            tenant=world.tenant, org_unit=world.city_a1, owner=world.city_a1_manager,
            kind="meeting", customer=book.city_a1, subject="地铁项目例会",
            occurred_at=AT + dt.timedelta(days=1), created_by=world.city_a1_manager)
        self.meeting.participants.add(rep)
        # The rep's follow-up placed in province B with a province-B customer: the rep sees
        # it (it is theirs), the city A1 manager does not.
        self.far = followup(world, book, due=AT + dt.timedelta(hours=1),
                            customer=book.prov_b)
        FollowUp.objects.filter(pk=self.far.pk).update(org_unit=world.city_b1)
        # Cancelled ones and other people's are left out.
        followup(world, book, due=AT, state=FollowUp.State.CANCELLED)
        followup(world, book, due=AT, owner=world.city_a1_manager, customer=book.city_a1)
        # Outside the week.
        followup(world, book, due=AT + dt.timedelta(days=10))


@pytest.fixture
def rows(world: World, book: Book) -> Rows:
    return Rows(world, book)


def week(api: Any, user: User | None = None, **extra: Any) -> Any:
    query = {"start": "2031-03-10", "end": "2031-03-16", **extra}
    if user is not None:
        query["user"] = user.pk
    return api.get("/calendar", **query)


def keyed(response: Any) -> set[tuple[str, int]]:
    assert response.status == 200, response
    return {(e["type"], e["id"]) for e in response.data["events"]}


def test_my_own_calendar(world: World, rows: Rows) -> None:
    response = week(api_as(world.city_a1_rep))
    # The manager's meeting is there too: the rep took part in it.
    assert keyed(response) == {("followup", rows.followup.pk), ("task", rows.task.pk),
                               ("interaction", rows.visit.pk), ("followup", rows.far.pk),
                               ("interaction", rows.meeting.pk)}
    events = {e["id"]: e for e in response.data["events"] if e["type"] == "interaction"}
    visit = events[rows.visit.pk]
    assert visit["kind"] == "visit" and visit["customer"]["name"] == "广州市白云机场股份有限公司"
    start, end = dt.datetime.fromisoformat(visit["start"]), dt.datetime.fromisoformat(visit["end"])
    assert end - start == dt.timedelta(minutes=90)
    assert response.data["user"]["id"] == world.city_a1_rep.pk
    assert [e["start"] for e in response.data["events"]] == sorted(
        e["start"] for e in response.data["events"])


def test_city_manager_sees_the_reps_calendar_within_their_scope(world: World,
                                                                rows: Rows) -> None:
    response = week(api_as(world.city_a1_manager), world.city_a1_rep)
    # The far follow-up lies outside the manager's scope; the meeting they own is there.
    assert keyed(response) == {("followup", rows.followup.pk), ("task", rows.task.pk),
                               ("interaction", rows.visit.pk),
                               ("interaction", rows.meeting.pk)}


@pytest.mark.parametrize("persona", ["prov_a_manager", "hq_admin"])
def test_wider_managers_see_it_too(world: World, rows: Rows, persona: str) -> None:
    assert ("task", rows.task.pk) in keyed(week(api_as(getattr(world, persona)),
                                                world.city_a1_rep))


@pytest.mark.parametrize("persona", ["prov_b_manager", "other_tenant_admin"])
def test_others_get_404(world: World, rows: Rows, persona: str) -> None:
    assert_error(week(api_as(getattr(world, persona)), world.city_a1_rep), 404, "not_found")


def test_a_rep_cannot_open_a_colleagues_calendar(world: World, rows: Rows) -> None:
    assert_error(week(api_as(world.city_a1_rep), world.city_a1_manager), 404, "not_found")
    unknown = api_as(world.city_a1_rep).get("/calendar", start="2031-03-10",
                                            end="2031-03-16", user=2**62)
    assert_error(unknown, 404, "not_found")


def test_range_rules(world: World) -> None:
    api = api_as(world.city_a1_rep)
    too_long = api.get("/calendar", start="2031-01-01", end="2031-03-31")
    assert "end" in assert_error(too_long, 422, "validation_error")["fields"]
    backwards = api.get("/calendar", start="2031-03-10", end="2031-03-01")
    assert_error(backwards, 422, "validation_error")
    bad = api.get("/calendar", start="yesterday", end="2031-03-01")
    assert "start" in assert_error(bad, 422, "validation_error")["fields"]
    overflow = api.get("/calendar", start="9999-12-31", end="9999-12-31")
    assert_error(overflow, 422, "validation_error")
    missing = api.get("/calendar", start="2031-03-10")
    assert_error(missing, 422, "validation_error")
    exact = api.get("/calendar", start="2031-03-10T00:00:00+08:00",
                    end="2031-03-14T10:00:00+08:00")
    assert exact.status == 200  # an end date-time is exclusive
    one_day = api.get("/calendar", start="2031-03-14", end="2031-03-14")
    assert one_day.status == 200 and one_day.data["end"].startswith("2031-03-15")


def test_date_end_includes_the_whole_day(world: World, rows: Rows) -> None:
    api = api_as(world.city_a1_rep)
    same_day = api.get("/calendar", start="2031-03-14", end="2031-03-14")
    assert ("followup", rows.followup.pk) in keyed(same_day)
    before = api.get("/calendar", start="2031-03-14", end="2031-03-14T10:00:00+08:00")
    assert ("followup", rows.followup.pk) not in keyed(before)


def test_overdue_follow_ups_are_marked(world: World, book: Book) -> None:
    now = timezone.now()
    late = followup(world, book, due=now - dt.timedelta(hours=1))
    upcoming = followup(world, book, due=now + dt.timedelta(hours=1))
    rep = world.city_a1_rep
    events = {e.id: e for e in calendar_events(rep, rep, now - dt.timedelta(days=1),
                                               now + dt.timedelta(days=1))}
    assert events[late.pk].overdue and events[late.pk].status == "overdue"
    assert not events[upcoming.pk].overdue


def test_calendar_query_count_does_not_grow(world: World, book: Book) -> None:
    api = api_as(world.city_a1_manager)
    rep = world.city_a1_rep
    Rows(world, book)
    week(api, rep)
    with CaptureQueriesContext(connection) as small:
        assert week(api, rep).status == 200
    for hour in range(10):
        followup(world, book, due=AT + dt.timedelta(hours=hour))
        task(world, book, due=AT + dt.timedelta(hours=hour))
    with CaptureQueriesContext(connection) as large:
        assert len(week(api, rep).data["events"]) >= 24
    assert len(large.captured_queries) == len(small.captured_queries)


def test_calendar_users_offers_only_calendars_one_may_open(world: World) -> None:
    manager_sees = set(calendar_users(viewer=world.city_a1_manager))
    assert world.city_a1_rep in manager_sees and world.city_a1_manager in manager_sees
    assert world.prov_b_manager not in manager_sees
    assert set(calendar_users(viewer=world.city_a1_rep)) == {world.city_a1_rep}
    assert world.other_tenant_admin not in set(calendar_users(viewer=world.hq_admin))


# ---------------------------------------------------------------------------- pages


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("view", ["day", "week", "month"])
def test_calendar_page_views(world: World, rows: Rows, view: str) -> None:
    response = client_for(world.city_a1_rep).get("/calendar/", {"view": view,
                                                                "date": "2031-03-14"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-view="{view}"' in html
    assert "回访扩容方案" in html and "准备报价" in html
    if view != "day":
        assert 'data-date="2031-03-14"' in html
        assert html.count("<tr>") - 1 == (1 if view == "week" else 6)  # March 2031: 6 rows


def test_calendar_page_of_a_team_member(world: World, rows: Rows) -> None:
    manager = client_for(world.city_a1_manager)
    response = manager.get("/calendar/", {"user": str(world.city_a1_rep.pk),
                                          "date": "2031-03-14"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "准备报价" in html and world.city_a1_rep.full_name in html
    assert world.prov_b_manager.full_name not in html  # not offered in the chooser
    denied = client_for(world.prov_b_manager).get("/calendar/",
                                                  {"user": world.city_a1_rep.pk})
    assert denied.status_code == 404


def test_calendar_page_survives_odd_input(world: World) -> None:
    client = client_for(world.city_a1_rep)
    for query in ({"date": "2031-13-45"}, {"view": "year"}, {"user": "x"},
                  {"date": "9999-12-31", "view": "month"}, {"user": str(2**70)}):
        assert client.get("/calendar/", query).status_code == 200, query


def test_calendar_page_needs_sign_in(db: Any) -> None:
    assert Client().get("/calendar/").status_code == 302


# ---------------------------------------------------------------------------- feed


def test_feed_link_lifecycle(world: World, rows: Rows) -> None:
    rep = world.city_a1_rep
    api = api_as(rep)
    assert api.get("/calendar/feed").data["active"] is False
    created = api.post("/calendar/feed", {}, **{"Idempotency-Key": "feed-1"})
    assert created.status == 201, created
    url = created.data["url"]
    assert url.startswith("http://testserver/calendar/feed/") and url.endswith(".ics")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=rep)
    assert token not in feed.token_hash and feed.token_hash == \
        calendar_services.hash_feed_token(token)
    replay = api.post("/calendar/feed", {}, **{"Idempotency-Key": "feed-1"})
    assert replay.data["url"] is None  # the secret is never stored for replays
    assert AuditEvent.objects.filter(action="calendar_feed.create", actor=rep).count() == 1
    status = api.get("/calendar/feed").data
    assert status["active"] is True and status["prefix"] == token[:6]

    anonymous = Client()
    response = anonymous.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    feed.refresh_from_db()
    assert feed.last_used_at is not None

    # A new link replaces the old one.
    newer = api.post("/calendar/feed").data["url"]
    assert anonymous.get(f"/calendar/feed/{token}.ics").status_code == 404
    newer_path = newer.removeprefix("http://testserver")
    assert anonymous.get(newer_path).status_code == 200
    assert api.delete("/calendar/feed", If_Match="*").status == 204
    assert anonymous.get(newer_path).status_code == 404
    assert AuditEvent.objects.filter(action="calendar_feed.revoke", actor=rep).count() == 1
    assert_error(api.delete("/calendar/feed", If_Match="*"), 404, "not_found")


def test_feed_content(world: World, book: Book) -> None:
    from icalendar import Calendar

    rep = world.city_a1_rep
    now = timezone.now()
    soon = followup(world, book, due=now + dt.timedelta(days=2))
    job = task(world, book, due=now + dt.timedelta(days=100))
    followup(world, book, due=now + dt.timedelta(days=200))  # beyond the window
    followup(world, book, due=now - dt.timedelta(days=40))  # before it
    _feed, token = calendar_services.calendar_feed_create(actor=rep)
    response = Client().get(f"/calendar/feed/{token}.ics")
    cal = Calendar.from_ical(response.content)
    events = list(cal.walk("VEVENT"))
    uids = {str(e["UID"]) for e in events}
    assert uids == {f"kehu-followup-{soon.pk}@{rep.tenant_id}",
                    f"kehu-task-{job.pk}@{rep.tenant_id}"}
    summaries = " ".join(str(e["SUMMARY"]) for e in events)
    assert "回访扩容方案" in summaries and "准备报价" in summaries
    first: Any = next(e for e in events if "followup" in str(e["UID"]))
    start = first.decoded("DTSTART")
    assert abs(start - soon.due_at) < dt.timedelta(seconds=1)
    assert all(str(e["URL"]).startswith("http://testserver/") for e in events)


def test_feed_refuses_unknown_and_deactivated(world: World) -> None:
    rep = world.city_a1_rep
    _feed, token = calendar_services.calendar_feed_create(actor=rep)
    client = Client()
    assert client.get("/calendar/feed/not-a-token.ics").status_code == 404
    assert client.get(f"/calendar/feed/{token}x.ics").status_code == 404
    User.objects.filter(pk=rep.pk).update(is_active=False)
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 404


def test_feed_pages(world: World) -> None:
    client = client_for(world.city_a1_rep)
    settings_page = client.get("/notifications/settings/").content.decode()
    assert 'data-testid="feed-create"' in settings_page
    created = client.post("/calendar/feed/")
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    html = created.content.decode()
    assert "/calendar/feed/" in html and ".ics" in html
    assert 'data-testid="feed-revoke"' in client.get("/notifications/settings/").content.decode()
    assert client.post("/calendar/feed/revoke/").status_code == 302
    assert not CalendarFeed.objects.filter(user=world.city_a1_rep).exists()
    assert client.post("/calendar/feed/revoke/").status_code == 302  # nothing to revoke: ok


def test_intruder_cannot_touch_another_users_feed(world: World) -> None:
    _feed, _token = calendar_services.calendar_feed_create(actor=world.city_a1_rep)
    intruder = api_as(world.other_tenant_admin)
    assert_error(intruder.delete("/calendar/feed", If_Match="*"), 404, "not_found")
    assert CalendarFeed.objects.filter(user=world.city_a1_rep).exists()
    manager = api_as(world.city_a1_manager)
    assert_error(manager.delete("/calendar/feed", If_Match="*"), 404, "not_found")
    assert CalendarFeed.objects.filter(user=world.city_a1_rep).exists()


def test_task_without_due_time_is_not_in_the_calendar(world: World, book: Book) -> None:
    rep = world.city_a1_rep
    undated = Task.objects.create(tenant=world.tenant, org_unit=world.city_a1, owner=rep,
                                  title="无期限任务")
    events = calendar_events(rep, rep, timezone.now() - dt.timedelta(days=30),
                             timezone.now() + dt.timedelta(days=30))
    assert ("task", undated.pk) not in {(e.type, e.id) for e in events}


def test_revoking_the_feed_with_a_version_tag_is_a_documented_412(world: World) -> None:
    # Found by the API fuzzer: an If-Match that is no version tag gives 412, and the spec
    # must say so.
    api = api_as(world.city_a1_rep)
    api.post("/calendar/feed")
    assert_error(api.delete("/calendar/feed", If_Match='W/"false"'), 412, "precondition_failed")
    assert api.delete("/calendar/feed", If_Match="*").status == 204
    from kehu.api import api as root

    revoke = root.get_openapi_schema()["paths"]["/api/v1/calendar/feed"]["delete"]
    assert {"204", "404", "412", "428"} <= {str(code) for code in revoke["responses"]}
