"""End-to-end: the calendar (day / week / month, a team member's calendar), the header
badge and notification centre, and the secret .ics link fetched over HTTP."""

from __future__ import annotations

import datetime as dt
import urllib.request
from typing import Any

import pytest
from django.utils import timezone

from kehu.activities.models import FollowUp, Task
from kehu.core.testing import World
from kehu.customers.testing import Book
from kehu.notifications.tasks import fire_due_reminders
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def plan(world: World, book: Book, day: dt.date) -> tuple[FollowUp, Task]:
    rep = world.city_a1_rep
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    placed = {"tenant": world.tenant, "org_unit": world.city_a1, "owner": rep}
    followup = FollowUp(**placed, customer=book.rep, subject="回访扩容方案", due_at=at,
                        remind_minutes_before=60 * 24 * 30, created_by=rep)
    followup.schedule_reminder()
    followup.save()
    task = Task(**placed, title="准备白云机场报价", assigned_by=world.city_a1_manager,
                due_at=at + dt.timedelta(hours=5), customer=book.rep)
    task.save()
    return followup, task


def cell(page: Any, day: dt.date) -> Any:
    return page.locator(f'[data-testid="cal-grid"] td[data-date="{day:%Y-%m-%d}"]')


def test_calendar_views_badge_team_calendar_and_ics_feed(page: Any, browser: Any,
                                                         live_server: Any, world: World,
                                                         book: Book) -> None:
    day = timezone.localdate() + dt.timedelta(days=3)
    followup, task = plan(world, book, day)
    assert fire_due_reminders() == 1  # the 30-day lead makes its reminder due now

    sign_in(page, world.city_a1_rep.email)
    badge = page.locator('[data-testid="unread-count"]')
    assert badge.inner_text().startswith("1")

    # Week view (the default) around the day: both items on the right day.
    go(page, f"/calendar/?date={day:%Y-%m-%d}")
    assert page.locator('[data-testid="cal-grid"]').get_attribute("data-view") == "week"
    week_cell = cell(page, day)
    assert week_cell.locator(f'[data-type="followup"][data-id="{followup.pk}"]').count() == 1
    assert week_cell.locator(f'[data-type="task"][data-id="{task.pk}"]').count() == 1
    shot(page, "calendar-week.png")

    # Month view, reached by keyboard: focus the link and press Enter.
    page.locator('[data-testid="cal-view-month"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="cal-grid"][data-view="month"]')
    month_cell = cell(page, day)
    assert "回访扩容方案" in month_cell.inner_text()
    assert "准备白云机场报价" in month_cell.inner_text()
    shot(page, "calendar-month.png")

    # Day view from the day's number in the grid.
    month_cell.locator("a.cal-date").click()
    page.wait_for_selector('[data-testid="cal-grid"][data-view="day"]')
    items = page.locator('[data-testid="cal-event"]')
    assert items.count() == 2
    assert items.nth(0).get_attribute("data-type") == "followup"
    page.locator('[data-testid="cal-next"]').click()
    page.wait_for_selector('[data-testid="cal-grid"][data-view="day"]')
    assert page.locator('[data-testid="cal-event"]').count() == 0
    page.locator('[data-testid="cal-today"]').click()
    assert f"date={timezone.localdate():%Y-%m-%d}" in page.url

    # The badge leads to the notification centre; mark everything read.
    page.locator('[data-testid="notification-badge"]').click()
    page.wait_for_selector('[data-testid="notification"]')
    assert "回访扩容方案" in page.locator('[data-testid="notification-list"]').inner_text()
    page.locator('[data-testid="read-all"]').click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="unread-count"]').count() == 0

    # The .ics link: created once, fetched over HTTP by a "calendar app".
    go(page, "/notifications/settings/")
    page.locator('[data-testid="feed-create"]').click()
    url = page.locator('[data-testid="feed-url"]').input_value()
    assert url.startswith(live_server.url) and url.endswith(".ics")
    shot(page, "calendar-feed-link.png")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- live server
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.read().decode()
    assert body.count("BEGIN:VEVENT") == 2
    assert "回访扩容方案" in body and "准备白云机场报价" in body

    # The city manager opens the rep's calendar from the chooser.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    manager = context.new_page()
    manager.base_url = live_server.url
    try:
        sign_in(manager, world.city_a1_manager.email)
        go(manager, f"/calendar/?date={day:%Y-%m-%d}")
        manager.locator('[data-testid="cal-user"]').select_option(str(world.city_a1_rep.pk))
        manager.locator(".cal-chooser button[type=submit]").click()
        manager.wait_for_url(f"**user={world.city_a1_rep.pk}**")
        assert world.city_a1_rep.full_name in manager.locator("h1").inner_text()
        team_cell = cell(manager, day)
        assert team_cell.locator(f'[data-type="task"][data-id="{task.pk}"]').count() == 1
        shot(manager, "calendar-team-member.png")
    finally:
        context.close()
