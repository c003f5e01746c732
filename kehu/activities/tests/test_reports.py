"""Manager views: customers without contact, overdue follow-ups, activity counts."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kehu.activities.models import FollowUp, Interaction
from kehu.activities.selectors import reports
from kehu.core.exceptions import Forbidden, ValidationFailed
from kehu.customers.services import customers as customer_services

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def contact(customer: Any, by: Any, *, days_ago: float, kind: str = "call",
            at: dt.datetime | None = None) -> Interaction:
    return Interaction.objects.create(
        tenant_id=customer.tenant_id, org_unit_id=by.org_unit_id, owner=by, kind=kind,
        customer=customer, subject="跟进", created_by=by,
        occurred_at=at or NOW - dt.timedelta(days=days_ago))


def plan(customer: Any, by: Any, *, due_in_days: float, state: str = "planned") -> FollowUp:
    return FollowUp.objects.create(
        tenant_id=customer.tenant_id, org_unit_id=by.org_unit_id, owner=by,
        customer=customer, subject="回访", due_at=NOW + dt.timedelta(days=due_in_days),
        state=state, created_by=by)


def silent_names(actor: Any, days: int = 30, **kw: Any) -> set[str]:
    return {c.name for c in reports.uncontacted_customers(actor=actor, days=days, now=NOW,
                                                          **kw)}


def test_no_contact_for_n_days_with_explicit_times(world, book):
    contact(book.rep, world.city_a1_rep, days_ago=31)       # silent for N=30
    contact(book.person, world.city_a1_rep, days_ago=29)    # contacted within 30 days
    contact(book.person, world.city_a1_rep, days_ago=90)    # older one does not matter
    # book.city_a1: never contacted.
    manager = world.city_a1_manager
    assert silent_names(manager) == {book.rep.name, book.city_a1.name}
    assert silent_names(manager, days=40) == {book.city_a1.name}
    assert silent_names(manager, days=28) == {book.rep.name, book.city_a1.name,
                                              book.person.name}
    last = {c.name: cast(Any, c).last_contact for c in reports.uncontacted_customers(
        actor=manager, days=30, now=NOW)}
    assert last[book.city_a1.name] is None
    assert abs(last[book.rep.name] - (NOW - dt.timedelta(days=31))) < dt.timedelta(seconds=1)
    summary = reports.uncontacted_summary(actor=manager, days=30, now=NOW)
    assert {(r.label, r.count) for r in summary["by_owner"]} == {
        (world.city_a1_rep.full_name, 1), (world.city_a1_manager.full_name, 1)}
    assert [(r.label, r.count) for r in summary["by_unit"]] == [(world.city_a1.name, 2)]
    assert summary["total"] == 2
    # Only the rep's customers, when drilled down by owner.
    assert silent_names(manager, owner_id=world.city_a1_rep.pk) == {book.rep.name}


def test_no_contact_per_persona(world, book):
    contact(book.prov_b, world.prov_b_manager, days_ago=1)
    assert silent_names(world.prov_b_manager) == set()
    assert book.rep.name not in silent_names(world.prov_b_manager, days=1)
    assert silent_names(world.prov_a_manager) == {
        book.prov_a.name, book.city_a1.name, book.rep.name, book.person.name}
    a1 = reports.report_unit(world.prov_a_manager, world.city_a1.pk)
    assert silent_names(world.prov_a_manager, unit=a1) == {
        book.city_a1.name, book.rep.name, book.person.name}
    assert book.other_tenant.name not in silent_names(world.hq_admin)
    for outside in (world.prov_b, world.hq, world.other_unit):
        with pytest.raises(ValidationFailed):
            reports.report_unit(world.prov_a_manager, outside.pk)
    with pytest.raises(Forbidden):
        reports.uncontacted_customers(actor=world.city_a1_rep, days=30)
    with pytest.raises(ValidationFailed):
        silent_names(world.prov_a_manager, days=0)


def test_overdue_follow_ups(world, book):
    late = plan(book.rep, world.city_a1_rep, due_in_days=-1)
    plan(book.rep, world.city_a1_rep, due_in_days=-2, state="done")
    plan(book.rep, world.city_a1_rep, due_in_days=-3, state="cancelled")
    plan(book.rep, world.city_a1_rep, due_in_days=1)
    b_late = plan(book.prov_b, world.prov_b_manager, due_in_days=-5)
    assert list(reports.overdue_followups(actor=world.city_a1_manager, now=NOW)) == [late]
    assert [(r.label, r.count) for r in reports.overdue_summary(
        actor=world.city_a1_manager, now=NOW)] == [(world.city_a1_rep.full_name, 1)]
    assert list(reports.overdue_followups(actor=world.prov_b_manager, now=NOW)) == [b_late]
    assert set(reports.overdue_followups(actor=world.hq_admin, now=NOW)) == {late, b_late}
    assert list(reports.overdue_followups(actor=world.other_tenant_admin, now=NOW)) == []
    # Just due: a follow-up due a minute ago is overdue, one due in a minute is not.
    assert reports.overdue_followups(actor=world.city_a1_manager,
                                     now=NOW - dt.timedelta(days=1, minutes=1)).count() == 0


def test_activity_counts_by_person_type_and_week(world, book):
    tz = timezone.get_current_timezone()
    monday = dt.datetime(2026, 3, 2, 10, 0, tzinfo=tz)  # ISO week 10 of 2026
    rep, manager = world.city_a1_rep, world.city_a1_manager
    contact(book.rep, rep, days_ago=0, kind="call", at=monday)
    contact(book.rep, rep, days_ago=0, kind="call", at=monday + dt.timedelta(days=6))
    contact(book.rep, rep, days_ago=0, kind="visit", at=monday + dt.timedelta(days=7))
    contact(book.city_a1, manager, days_ago=0, kind="meeting", at=monday + dt.timedelta(days=8))
    contact(book.prov_b, world.prov_b_manager, days_ago=0, kind="call", at=monday)
    # Outside the range.
    contact(book.rep, rep, days_ago=0, kind="call", at=monday - dt.timedelta(days=1))
    result = reports.activity_counts(actor=world.city_a1_manager, start=monday.date(),
                                     end=monday.date() + dt.timedelta(days=13))
    kinds = [k for k, _label in result["kinds"]]
    people = {r["label"]: dict(zip(kinds, r["cells"], strict=True))
              for r in result["by_person"]}
    assert people[rep.full_name]["call"] == 2 and people[rep.full_name]["visit"] == 1
    assert people[manager.full_name]["meeting"] == 1
    assert world.prov_b_manager.full_name not in people
    weeks = [(r["iso"], r["total"]) for r in result["by_week"]]
    assert weeks == [((2026, 10), 2), ((2026, 11), 2)]
    assert result["total"] == 4
    with pytest.raises(ValidationFailed):
        reports.activity_counts(actor=manager, start=monday.date(),
                                end=monday.date() - dt.timedelta(days=1))
    with pytest.raises(Forbidden):
        reports.activity_counts(actor=rep, start=monday.date(), end=monday.date())
    b = reports.activity_counts(actor=world.prov_b_manager, start=monday.date(),
                                end=monday.date() + dt.timedelta(days=13))
    assert [r["label"] for r in b["by_person"]] == [world.prov_b_manager.full_name]


# ---------------------------------------------------------------------------- pages


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_report_pages_per_persona(world, book):
    contact(book.rep, world.city_a1_rep, days_ago=45)
    plan(book.rep, world.city_a1_rep, due_in_days=-1)
    client = signed_in(world.city_a1_manager)
    r = client.get(reverse("engagement_report"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="report-uncontacted"' in html and 'data-testid="activity-by-week"' in html
    assert world.city_a1_rep.full_name in html
    assert 'href="/reports/engagement"' in html or reverse("engagement_report") in html
    r = client.get(reverse("engagement_uncontacted"), {"days": 30})
    assert book.rep.name in r.content.decode() and book.prov_b.name not in r.content.decode()
    r = client.get(reverse("engagement_overdue"))
    assert "回访" in r.content.decode()
    b = signed_in(world.prov_b_manager)
    assert book.rep.name not in b.get(reverse("engagement_uncontacted")).content.decode()
    assert world.city_a1_rep.full_name not in b.get(
        reverse("engagement_report")).content.decode()
    # A unit outside the area: refused with the reason, no data.
    r = b.get(reverse("engagement_report"), {"unit": world.city_a1.pk})
    assert r.status_code == 422 and book.rep.name not in r.content.decode()
    r = client.get(reverse("engagement_report"), {"days": "abc"})
    assert r.status_code == 422
    for name in ("engagement_report", "engagement_uncontacted", "engagement_overdue"):
        assert signed_in(world.city_a1_rep).get(reverse(name)).status_code == 403
    nav = signed_in(world.city_a1_rep).get(reverse("home")).content.decode()
    assert reverse("engagement_report") not in nav


def test_report_queries_stay_flat(world, book):
    client = signed_in(world.prov_a_manager)
    client.get(reverse("engagement_report"))

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as main:
            assert client.get(reverse("engagement_report")).status_code == 200
        with CaptureQueriesContext(connection) as drill:
            assert client.get(reverse("engagement_uncontacted")).status_code == 200
        return len(main.captured_queries), len(drill.captured_queries)

    contact(book.rep, world.city_a1_rep, days_ago=40)
    before = count()
    for i in range(8):
        customer = customer_services.customer_create(actor=world.city_a1_rep,
                                                     name=f"测试客户{i}有限公司")
        contact(customer, world.city_a1_rep, days_ago=35 + i, kind="visit")
        contact(customer, world.city_a1_manager, days_ago=i, kind="call")
        plan(customer, world.city_a1_rep, due_in_days=-i - 1)
    assert count() == before
