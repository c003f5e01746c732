"""Dates at the edges (issue 11, item 11): refused on the way in, repaired when stored."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from kehu.activities.models import FollowUp, Interaction, Task
from kehu.activities.services.interactions import interaction_create
from kehu.core import moments
from kehu.core.forms.base import DayField, MomentField
from kehu.core.tests.test_api import api_as

pytestmark = pytest.mark.django_db

EDGES = ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-12:00",
         "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59+14:00", "1899-12-31T23:00:00",
         "2201-01-01T00:00:00"]


@pytest.mark.parametrize("value", EDGES)
def test_api_refuses_dates_out_of_range_and_changes_nothing(world, book, value):
    api = api_as(world.hq_admin)
    before = Interaction.objects.count()
    r = api.post("/interactions", {"customer_id": book.hq.pk, "kind": "call",
                                   "subject": "x", "occurred_at": value})
    assert r.status == 422, r
    assert "occurred_at" in str(r.data["error"]["fields"])
    assert Interaction.objects.count() == before
    for path, name in (("/interactions", "start"), ("/interactions", "end"),
                       ("/followups", "due_from"), ("/tasks", "due_before"),
                       ("/audit-events", "since")):
        assert api.get(path, **{name: value}).status == 422, (path, name)


def test_api_error_is_translated(world, book):
    api = api_as(world.hq_admin)
    api.language = "zh-hans"
    r = api.post("/tasks", {"title": "x", "assignee_id": world.hq_admin.pk,
                            "due_at": "9999-12-31T23:59:59-12:00"})
    assert r.status == 422
    assert "1900-01-01" in str(r.data["error"]["fields"])


def test_api_accepts_the_range_and_converts_to_local_time(world, book):
    r = api_as(world.hq_admin).post("/interactions", {
        "customer_id": book.hq.pk, "kind": "call", "subject": "x",
        "occurred_at": "2200-12-31T10:00:00+00:00"})
    assert r.status == 201, r
    assert dt.datetime.fromisoformat(r.data["occurred_at"]) == dt.datetime(
        2200, 12, 31, 10, tzinfo=dt.UTC)


def test_spec_states_the_range(world):
    spec = api_as(world.hq_admin).get("/openapi.json").data
    params = spec["paths"]["/api/v1/interactions"]["get"]["parameters"]
    start = next(p for p in params if p["name"] == "start")["schema"]["anyOf"][0]
    assert start["pattern"] == moments.YEAR_PATTERN
    offset = next(p for p in params if p["name"] == "offset")["schema"]
    assert offset["maximum"] < 2**63


@pytest.mark.parametrize("text", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T23:59"])
def test_form_field_refuses_out_of_range(text):
    field = MomentField(input_formats=["%Y-%m-%dT%H:%M"])
    with pytest.raises(Exception, match="1900-01-01"):
        field.clean(text)
    with pytest.raises(Exception, match="1900-01-01"):
        DayField().clean(text[:10])
    expected = timezone.make_aware(dt.datetime(2026, 3, 1, 14, 30))  # noqa: DTZ001
    assert field.clean("2026-03-01T14:30") == expected


def test_interaction_form_page_refuses_year_9999(world, book):
    client = Client()
    client.force_login(world.hq_admin)
    before = Interaction.objects.count()
    r = client.post("/interactions/new/", {
        "customer": book.hq.pk, "kind": "call", "occurred_at": "9999-12-31T23:59",
        "subject": "x", "direction": "outbound", "channel": "phone"})
    assert r.status_code == 422
    assert "1900-01-01" in r.content.decode()
    assert Interaction.objects.count() == before


def test_list_filters_of_pages_ignore_dates_out_of_range(world, book):
    client = Client()
    client.force_login(world.hq_admin)
    for url, query in (("/interactions/", {"start": "0001-01-01", "end": "9999-12-31"}),
                       ("/tasks/", {"due_after": "0001-01-01", "due_before": "9999-12-31"}),
                       ("/calendar/", {"date": "9999-12-31"})):
        assert client.get(url, query).status_code in (200, 400), url


def test_migration_clamps_stored_dates(world, book):
    interaction = interaction_create(actor=world.hq_admin, customer_id=book.hq.pk,
                                     kind="call", subject="late")
    Interaction.objects.filter(pk=interaction.pk).update(
        occurred_at=dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.UTC))
    early = interaction_create(actor=world.hq_admin, customer_id=book.hq.pk, kind="call",
                               subject="early")
    Interaction.objects.filter(pk=early.pk).update(
        occurred_at=dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC))
    migration = importlib.import_module("kehu.activities.migrations.0003_clamp_dates")
    migration.clamp_dates(apps, SimpleNamespace(connection=connection))
    low, high = migration.bounds()
    assert Interaction.objects.get(pk=interaction.pk).occurred_at == high
    assert Interaction.objects.get(pk=early.pk).occurred_at == low
    assert moments.check_moment(high) == high
    assert moments.check_moment(low) == low
    assert FollowUp.objects.filter(due_at__gt=high).count() == 0
    assert Task.objects.filter(due_at__gt=high).count() == 0
    # The pages that broke show the repaired record.
    client = Client()
    client.force_login(world.hq_admin)
    assert client.get("/interactions/").status_code == 200


def test_moment_checks_year_before_any_arithmetic():
    for value in (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))),
                  dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-12))),
                  dt.datetime(9999, 12, 31, 23, 59)):  # noqa: DTZ001
        with pytest.raises(moments.OutOfRange):
            moments.check_moment(value)
    assert moments.parse_moment("9999-12-31T23:59:59-12:00") is None
    assert moments.parse_moment("2200-12-31", end=True) is not None
