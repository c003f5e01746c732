"""End-to-end task assignment: a city manager gives a task to their account manager,
who signs in, finds it (and the notice), comments and marks it done; the manager sees
it done. Then the weekly plan: the rep writes and submits, the manager reviews."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kehu.activities.models import Task, WorkPlan
from kehu.core.testing import World
from kehu.notifications.models import Notification
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _second_page(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    other = context.new_page()
    other.base_url = live_server.url
    return other


def test_manager_assigns_rep_comments_and_finishes(page: Any, browser: Any, live_server: Any,
                                                   world: World) -> None:
    rep = world.city_a1_rep
    sign_in(page, world.city_a1_manager.email)
    go(page, "/tasks/")
    page.locator('[data-testid="task-new"]').click()
    page.wait_for_url(re.compile(r"/tasks/new/$"))
    # Only people in the manager's area are offered.
    options = page.locator("#id_assignee option").all_inner_texts()
    assert any(rep.full_name in o for o in options)
    assert not any(world.prov_b_manager.full_name in o for o in options)
    page.fill("#id_title", "准备白云机场报价")
    page.select_option("#id_assignee", str(rep.pk))
    page.select_option("#id_priority", "high")
    page.fill("#id_due_at", "2030-01-15T10:00")
    page.fill("#id_description", "周五前发给客户")
    page.locator('[data-testid="task-save"]').click()
    page.wait_for_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get(title="准备白云机场报价")
    assert task.owner_id == rep.pk and task.assigned_by_id == world.city_a1_manager.pk
    assert Notification.objects.filter(recipient=rep, kind="task_assigned").count() == 1

    rep_page = _second_page(browser, live_server)
    try:
        sign_in(rep_page, rep.email)
        go(rep_page, "/tasks/?view=mine")
        rep_page.get_by_role("link", name="准备白云机场报价").click()
        rep_page.wait_for_url(re.compile(rf"/tasks/{task.pk}/$"))
        assert rep.full_name in rep_page.locator('[data-testid="task-assignee"]').inner_text()
        rep_page.fill("#id_body", "已联系客户，报价草稿完成")
        rep_page.locator('[data-testid="comment-add"]').click()
        rep_page.locator('[data-testid="comment-list"]', has_text="报价草稿完成").wait_for()
        rep_page.locator('[data-testid="task-status-done"]').click()
        rep_page.wait_for_url(re.compile(rf"/tasks/{task.pk}/$"))
        rep_page.locator('[data-testid="task-status-buttons"]').wait_for()
        assert not rep_page.locator('[data-testid="task-status-done"]').count()
        shot(rep_page, "task-done-by-rep.png")
    finally:
        rep_page.context.close()
    task.refresh_from_db()
    assert task.status == "done" and task.done_at is not None
    assert task.comments.count() == 1
    assert Notification.objects.filter(recipient=world.city_a1_manager,
                                       kind="task_comment").count() == 1

    go(page, "/tasks/?view=assigned")
    row = page.locator('[data-testid="task-table"] tr', has_text="准备白云机场报价")
    row.wait_for()
    assert row.locator('[data-testid="task-status"].ok').count() == 1  # the "done" badge
    page.get_by_role("link", name="准备白云机场报价").click()
    page.locator('[data-testid="comment-list"]', has_text="报价草稿完成").wait_for()
    shot(page, "task-done-seen-by-manager.png")


def test_rep_submits_a_weekly_plan_and_the_manager_reviews_it(page: Any, browser: Any,
                                                               live_server: Any,
                                                               world: World) -> None:
    rep_page = _second_page(browser, live_server)
    try:
        sign_in(rep_page, world.city_a1_rep.email)
        go(rep_page, "/workplans/new/")
        rep_page.fill("#id_week_start", "2030-W03")
        rep_page.fill("#id_goals", "拜访三家重点客户")
        rep_page.locator('[data-testid="workplan-save"]').click()
        rep_page.wait_for_url(re.compile(r"/workplans/\d+/$"))
        rep_page.locator('[data-testid="workplan-submit"]').click()
        rep_page.wait_for_url(re.compile(r"/workplans/\d+/$"))
    finally:
        rep_page.context.close()
    plan = WorkPlan.objects.get()
    assert plan.status == "submitted" and str(plan.week_start) == "2030-01-14"

    sign_in(page, world.city_a1_manager.email)
    go(page, "/workplans/?week=2030-W03")
    page.locator('[data-testid="team-row"]', has_text=world.city_a1_rep.full_name).wait_for()
    go(page, f"/workplans/{plan.pk}/")
    page.fill("#id_comment", "目标清晰")
    page.locator('[data-testid="workplan-review"]').click()
    page.wait_for_url(re.compile(rf"/workplans/{plan.pk}/$"))
    page.locator('[data-testid="comment-list"]', has_text="目标清晰").wait_for()
    plan.refresh_from_db()
    assert plan.status == "reviewed" and plan.reviewed_by_id == world.city_a1_manager.pk
    shot(page, "workplan-reviewed.png")
