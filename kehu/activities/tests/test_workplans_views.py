"""The HTML door of weekly work plans: write, submit, review and comment through the
pages; odd weeks fall back to this week."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kehu.activities.models import WorkPlan
from kehu.activities.tests.test_tasks_views import client_for, html

pytestmark = pytest.mark.django_db


def test_workplan_write_submit_review_through_pages(world):
    rep, manager = client_for(world.city_a1_rep), client_for(world.city_a1_manager)
    assert rep.get(reverse("workplan_create")).status_code == 200
    r = rep.post(reverse("workplan_create"), {"week_start": "2026-W48", "goals": "拜访客户"})
    plan = WorkPlan.objects.get()
    assert r.status_code == 302 and plan.week_start == dt.date(2026, 11, 23)
    r = rep.post(reverse("workplan_create"), {"week_start": "2026-11-25", "goals": "重复"})
    assert r.status_code == 422 and WorkPlan.objects.count() == 1
    r = rep.post(reverse("workplan_edit", args=[plan.pk]),
                 {"goals": "拜访两家客户", "summary": "", "expected_version": plan.version})
    assert r.status_code == 302
    assert manager.get(reverse("workplan_edit", args=[plan.pk])).status_code == 404
    rep.post(reverse("workplan_submit", args=[plan.pk]))
    page = html(manager.get(reverse("workplan_list") + "?week=2026-W48"))
    assert 'data-testid="team-week"' in page and world.city_a1_rep.full_name in page
    page = html(manager.get(reverse("workplan_detail", args=[plan.pk])))
    assert 'data-testid="workplan-review"' in page
    r = manager.post(reverse("workplan_review", args=[plan.pk]), {"comment": "很好"})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "reviewed" and plan.reviewed_by == world.city_a1_manager
    page = html(rep.get(reverse("workplan_detail", args=[plan.pk])))
    assert "很好" in page and 'data-testid="workplan-edit"' not in page
    r = rep.post(reverse("workplan_comment", args=[plan.pk]), {"body": "收到"},
                 HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "收到" in html(r)
    assert html(rep.get(reverse("workplan_list"))).count("2026-11-23") >= 1


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "2026-W99", "x", "0001-01-01"])
def test_odd_weeks_fall_back_to_this_week(world, week):
    r = client_for(world.city_a1_manager).get(reverse("workplan_list"), {"week": week})
    assert r.status_code == 200
