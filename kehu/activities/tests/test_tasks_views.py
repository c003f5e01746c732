"""The HTML door of tasks: pages per persona, the assignment rule in the form (choices
and refusal), comments by htmx, status buttons, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from kehu.activities.models import Task
from kehu.activities.services import tasks as task_services
from kehu.activities.services import workplans as plan_services
from kehu.core.models import User
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def test_task_pages_render_in_chinese_with_tabs_and_empty_state(world):
    r = client_for(world.city_a1_rep).get(reverse("task_list"))
    assert r.status_code == 200
    page = html(r)
    assert 'lang="zh-CN"' in page and 'data-testid="empty-state"' in page
    assert 'data-testid="task-tab-assigned"' in page


def test_form_offers_only_assignable_people(world):
    page = html(client_for(world.city_a1_rep).get(reverse("task_create")))
    assert world.city_a1_rep.full_name in page and world.city_a1_manager.full_name not in page
    page = html(client_for(world.city_a1_manager).get(reverse("task_create")))
    assert world.city_a1_rep.full_name in page and world.prov_b_manager.full_name not in page


def test_manager_creates_a_task_for_the_rep(world, book):
    due = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client_for(world.city_a1_manager).post(reverse("task_create"), {
        "title": "准备报价", "assignee": world.city_a1_rep.pk, "priority": "high",
        "due_at": due, "customer": book.rep.code, "description": "本周内"})
    task = Task.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("task_detail", args=[task.pk])
    assert task.owner == world.city_a1_rep and task.customer == book.rep
    assert Notification.objects.filter(recipient=world.city_a1_rep).count() == 1


def test_refused_assignment_shows_the_error_and_writes_nothing(world):
    # A forged post naming someone outside the manager's area.
    with translation.override("en"):
        r = client_for(world.prov_b_manager).post(reverse("task_create"), {
            "title": "越权", "assignee": world.city_a1_rep.pk, "priority": "normal"})
    assert r.status_code == 422
    assert not Task.objects.exists() and not Notification.objects.exists()
    r = client_for(world.city_a1_manager).post(reverse("task_create"), {
        "title": "x", "assignee": world.city_a1_manager.pk, "priority": "normal",
        "customer": "NOPE"})
    assert r.status_code == 422 and "NOPE" in html(r)
    assert not Task.objects.exists()


def test_detail_comment_by_htmx_and_status_buttons(world):
    task = task_services.task_create(actor=world.city_a1_manager, title="跟进",
                                     assignee_id=world.city_a1_rep.pk)
    rep = client_for(world.city_a1_rep)
    page = html(rep.get(reverse("task_detail", args=[task.pk])))
    assert "跟进" in page and 'data-testid="task-status-done"' in page
    r = rep.post(reverse("task_comment", args=[task.pk]), {"body": "已电话联系"},
                 HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已电话联系" in html(r) and "<html" not in html(r)
    r = rep.post(reverse("task_status", args=[task.pk]),
                 {"status": "done", "expected_version": task.version})
    assert r.status_code == 302
    assert Task.objects.get(pk=task.pk).status == "done"
    page = html(client_for(world.city_a1_manager).get(reverse("task_list") + "?view=assigned"))
    with translation.override("zh-hans"):
        done_label = str(Task.Status.DONE.label)
    assert "跟进" in page and done_label in page


def test_stale_status_button_changes_nothing(world):
    task = task_services.task_create(actor=world.city_a1_rep, title="t")
    task_services.task_update(actor=world.city_a1_rep, task_id=task.pk, title="t2")
    r = client_for(world.city_a1_rep).post(reverse("task_status", args=[task.pk]),
                                           {"status": "done", "expected_version": 1})
    assert r.status_code == 302
    assert Task.objects.get(pk=task.pk).status == "open"


@pytest.mark.parametrize("name", ["prov_b_manager", "other_tenant_admin"])
def test_outsiders_get_404_and_change_nothing(world, name):
    task = task_services.task_create(actor=world.city_a1_manager, title="t",
                                     assignee_id=world.city_a1_rep.pk)
    plan = plan_services.workplan_create(actor=world.city_a1_rep,
                                         week_start=timezone.localdate(), goals="g")
    client = client_for(getattr(world, name))
    assert client.get(reverse("task_detail", args=[task.pk])).status_code in (403, 404)
    assert client.post(reverse("task_status", args=[task.pk]),
                       {"status": "done"}).status_code in (302, 403, 404)
    assert client.post(reverse("task_comment", args=[task.pk]),
                       {"body": "x"}).status_code in (302, 403, 404)
    assert client.get(reverse("workplan_detail", args=[plan.pk])).status_code in (403, 404)
    assert Task.objects.get(pk=task.pk).status == "open" and not task.comments.exists()
    assert "t" not in [t.title for t in Task.objects.visible_to(getattr(world, name))]


def test_overdue_rows_are_marked(world):
    task_services.task_create(actor=world.city_a1_rep, title="逾期任务",
                              due_at=timezone.now() - dt.timedelta(hours=3))
    page = html(client_for(world.city_a1_rep).get(reverse("task_list")))
    assert 'data-overdue="1"' in page and "逾期" in page


def test_task_list_query_count_does_not_grow(world):
    client = client_for(world.city_a1_manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("task_list") + "?view=team").status_code == 200
        return len(ctx)

    task_services.task_create(actor=world.city_a1_manager, title="a",
                              assignee_id=world.city_a1_rep.pk)
    count()
    small = count()
    for i in range(8):
        task_services.task_create(actor=world.city_a1_manager, title=f"b{i}",
                                  assignee_id=world.city_a1_rep.pk)
    assert count() == small


def test_odd_filters_do_not_fail(world):
    client = client_for(world.city_a1_manager)
    for query in ({"due_after": "2026-13-45"}, {"owner_id": "99999999999999999999"},
                  {"page": "x"}, {"view": "nope"}, {"status": "lost"}):
        assert client.get(reverse("task_list"), query).status_code == 200
    r = client.get(reverse("task_create"), {"customer": "99999999999999999999"})
    assert r.status_code == 200
