"""The pages show a related customer or contact the reader may not see as redacted,
never named nor linked (issue 11, item 3): interactions, follow-ups, tasks, the overdue
report, the calendar and its .ics feed, on the records of ``build_crossing`` that
``city_a1_rep`` may see about province B's customer and contact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.activities.services.calendar import calendar_feed_create
from kehu.activities.tests.test_references_openapi import Crossing, build_crossing
from kehu.core.models import User

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _pages(cross: Crossing) -> list[str]:
    today = timezone.localdate()
    return [
        reverse("interaction_list"),
        reverse("interaction_detail", args=[cross.interaction.pk]),
        reverse("interaction_edit", args=[cross.interaction.pk]),
        reverse("followup_list") + "?status=",
        reverse("followup_complete", args=[cross.followup.pk]),
        reverse("followup_cancel", args=[cross.followup.pk]),
        reverse("followup_edit", args=[cross.followup.pk]),
        reverse("task_list"),
        reverse("task_detail", args=[cross.task.pk]),
        reverse("task_edit", args=[cross.task.pk]),
        # Day views name an entry's customer: the follow-up, the meeting, the task.
        *(reverse("calendar") + f"?view=day&date={(today + dt.timedelta(days=n)).isoformat()}"
          for n in (-1, 1, 2)),
    ]


def _hidden(book: Any, cross: Crossing) -> list[str]:
    """What must not appear: the customer's and contact's names, code and page links."""
    return [book.prov_b.name, book.prov_b.code, cross.contact.name,
            reverse("customer_detail", args=[book.prov_b.pk]) + '"',
            reverse("contact_detail", args=[cross.contact.pk]) + '"']


def test_pages_redact_a_customer_and_contact_the_reader_cannot_see(world, book):
    cross = build_crossing(world, book)
    client = _client(world.city_a1_rep)
    for url in _pages(cross):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        html = r.content.decode()
        for text in _hidden(book, cross):
            assert text not in html, (url, text)
        if "/tasks/" not in url or "/edit/" not in url:  # there: an empty code field
            assert 'data-testid="redacted-' in html, url
    html = client.get(reverse("interaction_detail", args=[cross.interaction.pk])).content.decode()
    assert 'data-testid="redacted-customer"' in html
    assert "1" in html.split('data-testid="interaction-contacts"')[1].split("</dd>")[0]


def test_the_same_pages_name_them_for_a_reader_who_may_see_them(world, book):
    cross = build_crossing(world, book)
    client = _client(world.hq_admin)
    for url in (reverse("interaction_detail", args=[cross.interaction.pk]),
                reverse("followup_list") + "?tab=team&status=",
                reverse("task_detail", args=[cross.task.pk])):
        html = client.get(url).content.decode()
        assert book.prov_b.name in html and 'data-testid="redacted-' not in html, url


def test_the_overdue_report_redacts_the_customer(world, book):
    cross = build_crossing(world, book)
    r = _client(world.city_a1_manager).get(reverse("engagement_overdue"))
    assert r.status_code == 200
    html = r.content.decode()
    assert cross.followup.subject in html
    for text in _hidden(book, cross):
        assert text not in html, text


def test_the_calendar_feed_redacts_the_customer(world, book):
    cross = build_crossing(world, book)
    _feed, token = calendar_feed_create(actor=world.city_a1_rep)
    r = Client(HTTP_HOST="localhost").get(reverse("calendar_feed_ics", args=[token]))
    assert r.status_code == 200
    ics = r.content.decode()
    assert cross.task.title in ics
    assert book.prov_b.name not in ics
    assert f"/customers/{book.prov_b.pk}/" not in ics


def test_saving_a_task_keeps_a_customer_the_editor_cannot_see(world, book):
    cross = build_crossing(world, book)
    client = _client(world.city_a1_rep)
    r = client.post(reverse("task_edit", args=[cross.task.pk]), {
        "title": "准备资料（改）", "assignee": world.city_a1_rep.pk, "priority": "normal",
        "customer": "", "description": "", "expected_version": cross.task.version})
    assert r.status_code == 302, r.content.decode()[-2000:]
    cross.task.refresh_from_db()
    assert cross.task.title == "准备资料（改）" and cross.task.customer_id == book.prov_b.pk
