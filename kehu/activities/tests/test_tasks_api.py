"""The tasks API: create/assign per persona, If-Match, Idempotency-Key, filters,
comments, visibility and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.activities.models import Task
from kehu.activities.services import tasks as services
from kehu.core.tests.test_api import api_as, assert_error
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_manager_assigns_and_the_rep_works_the_task(world):
    manager = api_as(world.city_a1_manager)
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    r = manager.post("/tasks", {"title": "整理报价", "assignee_id": world.city_a1_rep.pk,
                                "due_at": due, "priority": "high"})
    assert r.status == 201, r
    task_id = r.data["id"]
    assert r.data["assignee"]["id"] == world.city_a1_rep.pk
    assert r.data["assigned_by"]["id"] == world.city_a1_manager.pk
    assert r.data["remind_minutes_before"] == 15 and r.data["comments"] == []
    assert r.headers["ETag"] == '"1"'
    rep = api_as(world.city_a1_rep)
    r = rep.get("/tasks", view="mine")
    assert [t["id"] for t in r.data["items"]] == [task_id]
    r = rep.post(f"/tasks/{task_id}/comments", {"body": "已联系"})
    assert r.status == 201 and r.data["author"]["id"] == world.city_a1_rep.pk
    assert rep.patch(f"/tasks/{task_id}", {"status": "done"}).status == 428
    r = rep.patch(f"/tasks/{task_id}", {"status": "done"}, if_match='"1"')
    assert r.status == 200 and r.data["status"] == "done" and r.data["done_at"]
    assert r.headers["ETag"] == '"2"'
    r = manager.get(f"/tasks/{task_id}")
    assert r.data["status"] == "done" and [c["body"] for c in r.data["comments"]] == ["已联系"]
    assert Notification.objects.filter(recipient=world.city_a1_manager,
                                       kind="task_comment").count() == 1


@pytest.mark.parametrize(("actor", "assignee"), [
    ("prov_b_manager", "city_a1_rep"), ("city_a1_rep", "city_a1_manager")])
def test_refused_assignment_is_422_and_nothing_is_written(world, actor, assignee):
    r = api_as(getattr(world, actor)).post(
        "/tasks", {"title": "越权", "assignee_id": getattr(world, assignee).pk})
    err = assert_error(r, 422, "validation_error")
    assert "assignee_id" in err["fields"]
    assert not Task.objects.exists() and not Notification.objects.exists()


def test_create_is_idempotent(world):
    client = api_as(world.city_a1_manager)
    body = {"title": "一次", "assignee_id": world.city_a1_rep.pk}
    first = client.post("/tasks", body, Idempotency_Key="k-1")
    again = client.post("/tasks", body, Idempotency_Key="k-1")
    assert first.status == again.status == 201 and first.data["id"] == again.data["id"]
    assert Task.objects.count() == 1 and Notification.objects.count() == 1


def test_unknown_fields_and_bad_values_are_refused(world):
    client = api_as(world.city_a1_rep)
    assert client.post("/tasks", {"title": "x", "owner_id": 1}).status == 422
    assert client.post("/tasks", {"title": "x", "priority": "huge"}).status == 422
    assert client.post("/tasks", {"title": "x", "due_at": "tomorrow"}).status == 422
    assert client.get("/tasks", status="lost").status == 422
    assert not Task.objects.exists()


def test_stale_if_match_is_412(world):
    task = services.task_create(actor=world.city_a1_rep, title="旧")
    client = api_as(world.city_a1_rep)
    assert client.patch(f"/tasks/{task.pk}", {"title": "新"}, if_match='"1"').status == 200
    r = client.patch(f"/tasks/{task.pk}", {"title": "更旧"}, if_match='"1"')
    assert_error(r, 412, "precondition_failed")
    assert Task.objects.get(pk=task.pk).title == "新"


def test_visibility_per_persona(world, engagement):
    task_id = engagement.task.pk
    expected = {"hq_admin": 200, "prov_a_manager": 200, "city_a1_manager": 200,
                "city_a1_rep": 200, "prov_b_manager": 404, "other_tenant_admin": 404}
    for name, status in expected.items():
        client = api_as(getattr(world, name))
        assert client.get(f"/tasks/{task_id}").status == status, name
        listed = {t["id"] for t in client.get("/tasks").data["items"]}
        assert (task_id in listed) == (status == 200), name
    r = api_as(world.prov_b_manager).patch(f"/tasks/{task_id}", {"title": "入侵"},
                                           if_match="*")
    assert r.status == 404
    assert api_as(world.prov_b_manager).post(f"/tasks/{task_id}/comments",
                                             {"body": "x"}).status == 404
    assert Task.objects.get(pk=task_id).title == engagement.task.title
    assert not engagement.task.comments.exists()


def test_overdue_filter(world):
    past = timezone.now() - dt.timedelta(hours=2)
    late = services.task_create(actor=world.city_a1_rep, title="逾期", due_at=past)
    services.task_create(actor=world.city_a1_rep, title="未到期",
                         due_at=timezone.now() + dt.timedelta(days=1))
    r = api_as(world.city_a1_rep).get("/tasks", overdue="true")
    assert [t["id"] for t in r.data["items"]] == [late.pk]
    assert r.data["items"][0]["is_overdue"] is True


def _make(world, book, n: int) -> None:
    for i in range(n):
        task = services.task_create(actor=world.city_a1_manager, title=f"任务{i}",
                                    assignee_id=world.city_a1_rep.pk, customer_id=book.rep.pk,
                                    due_at=timezone.now() + dt.timedelta(days=i))
        services.task_comment_add(actor=world.city_a1_rep, task_id=task.pk, body=f"评论{i}")


def _queries(client, path: str, **query) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, **query).status == 200
    return len(ctx)


def test_list_and_detail_query_counts_do_not_grow(world, book):
    client = api_as(world.city_a1_manager)
    _make(world, book, 2)
    _queries(client, "/tasks")  # the token's first use writes its last-used time
    small_list = _queries(client, "/tasks")
    first = Task.objects.order_by("id").first()
    assert first is not None
    small_detail = _queries(client, f"/tasks/{first.pk}")
    _make(world, book, 8)
    for task in Task.objects.all()[:3]:
        for j in range(3):
            services.task_comment_add(actor=world.city_a1_manager, task_id=task.pk,
                                      body=f"再{j}")
    assert _queries(client, "/tasks") == small_list
    assert _queries(client, f"/tasks/{first.pk}") == small_detail
    assert small_list <= 8 and small_detail <= 10
