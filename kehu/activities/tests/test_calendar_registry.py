"""The calendar-entry registry: a source registered from outside activities shows in the
calendar page, ``GET /api/v1/calendar`` and the .ics feed; a source whose permission the
viewer lacks is left out; each source reads through ``visible_to`` itself."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kehu.activities.calendar_registry import (
    SOURCES,
    CalendarEvent,
    register_calendar_source,
    unregister_calendar_source,
)
from kehu.activities.selectors.calendar import calendar_events
from kehu.activities.services import calendar as calendar_services
from kehu.core.models import User
from kehu.core.testing import World
from kehu.core.tests.test_api import api_as
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.testing import Book

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2031, 3, 14, 9, 0, tzinfo=SHANGHAI)


class CloseDates:
    """A stand-in for a later app's source: one entry per customer the viewer sees that
    the calendar's owner owns, on ``when``."""

    def __init__(self, when: dt.datetime, type_: str, label: str = "") -> None:
        self.when, self.type, self.label = when, type_, label

    def __call__(self, viewer: User, owner: User, start: dt.datetime,
                 end: dt.datetime) -> list[CalendarEvent]:
        if not start <= self.when < end:
            return []
        customers = customer_selectors.visible_customers(actor=viewer).filter(owner_id=owner.pk)
        return [CalendarEvent(type=self.type, id=c.pk, title=f"签约 {c.name}",
                              start=self.when, end=self.when, all_day=True, customer=c,
                              status="planned", status_label="Planned", url="/customers/",
                              label=self.label, css_class="cal-ev-close-date")
                for c in customers.order_by("pk")]


@pytest.fixture
def sources() -> Iterator[dict[str, CloseDates]]:
    """Two outside sources: one any customer reader gets, one needing a manager's
    ``interactions.report`` (the rep lacks it). Removed again after the test."""
    before = dict(SOURCES)
    loaders = {"open": CloseDates(AT, "close_date", label="Close date"),
               "restricted": CloseDates(AT + dt.timedelta(hours=2), "secret_date")}
    register_calendar_source("test_close_dates", "Close dates", loaders["open"],
                             permission="customers.view", order=40)
    register_calendar_source("test_secret_dates", "Secret dates", loaders["restricted"],
                             permission="interactions.report", order=50)
    yield loaders
    unregister_calendar_source("test_close_dates")
    unregister_calendar_source("test_secret_dates")
    assert before == SOURCES


def _move(sources: dict[str, CloseDates], when: dt.datetime) -> None:
    sources["open"].when = when
    sources["restricted"].when = when + dt.timedelta(hours=2)


def test_activities_registers_its_three_sources() -> None:
    assert {"followups", "tasks", "interactions"} <= set(SOURCES)


def test_outside_source_in_the_api(world: World, book: Book,
                                   sources: dict[str, CloseDates]) -> None:
    rep = world.city_a1_rep
    response = api_as(rep).get("/calendar", start="2031-03-10", end="2031-03-16")
    assert response.status == 200, response
    events = [e for e in response.data["events"] if e["type"] == "close_date"]
    assert {e["id"] for e in events} == {book.rep.pk, book.person.pk}
    assert events[0]["all_day"] is True and events[0]["customer"]["id"] == events[0]["id"]
    # The rep lacks interactions.report: that source is not even asked.
    assert not [e for e in response.data["events"] if e["type"] == "secret_date"]


def test_permission_decides_per_viewer(world: World, book: Book,
                                       sources: dict[str, CloseDates]) -> None:
    start, end = AT - dt.timedelta(days=1), AT + dt.timedelta(days=1)
    manager = world.city_a1_manager
    # The manager holds interactions.report: the restricted source shows, and the open
    # one shows only what the manager may see of the rep's customers.
    mine = calendar_events(manager, world.city_a1_rep, start, end)
    assert {e.type for e in mine} >= {"close_date", "secret_date"}
    # Each source applies visible_to itself: another tenant's admin sees none of it
    # even of their own calendar.
    outsider = world.other_tenant_admin
    theirs = calendar_events(outsider, outsider, start, end)
    assert not [e for e in theirs if e.customer is not None
                and e.customer.tenant_id != outsider.tenant_id]


def test_outside_source_in_the_ics_feed(world: World, book: Book,
                                        sources: dict[str, CloseDates]) -> None:
    from icalendar import Calendar

    rep = world.city_a1_rep
    _move(sources, timezone.now() + dt.timedelta(days=3))
    _feed, token = calendar_services.calendar_feed_create(actor=rep)
    response = Client().get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200
    events = list(Calendar.from_ical(response.content).walk("VEVENT"))
    uids = {str(e["UID"]) for e in events}
    assert f"kehu-close_date-{book.rep.pk}@{rep.tenant_id}" in uids
    assert not [u for u in uids if u.startswith("kehu-secret_date-")]
    summary: Any = next(str(e["SUMMARY"]) for e in events if "close_date" in str(e["UID"]))
    assert summary.startswith("[Close date] 签约")


def test_outside_source_in_the_page(world: World, book: Book,
                                    sources: dict[str, CloseDates]) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    html = client.get("/calendar/", {"view": "week", "date": "2031-03-14"}).content.decode()
    assert 'data-type="close_date"' in html and "cal-ev-close-date" in html
    assert "Close date" in html and 'data-type="secret_date"' not in html


def test_entry_without_label_gets_the_source_label(world: World, book: Book,
                                                   sources: dict[str, CloseDates]) -> None:
    sources["open"].label = ""
    events = calendar_events(world.city_a1_rep, world.city_a1_rep,
                             AT - dt.timedelta(days=1), AT + dt.timedelta(days=1))
    assert {e.label for e in events if e.type == "close_date"} == {"Close dates"}
