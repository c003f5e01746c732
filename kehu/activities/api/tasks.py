"""API: tasks and their comments. Thin: parse, call services/selectors, shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.activities.models import Task
from kehu.activities.schemas.tasks import (
    CommentIn,
    CommentOut,
    TaskDetailOut,
    TaskFiltersIn,
    TaskIn,
    TaskOut,
    TaskPatch,
)
from kehu.activities.selectors import tasks as task_selectors
from kehu.activities.services import tasks as task_services
from kehu.core import references
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    located,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)

router = Router(tags=["tasks"])


def _task(request: HttpRequest, task_id: int) -> Task:
    task = task_selectors.task_detail(actor=current_user(request), task_id=task_id)
    task.comment_list = list(task.comments.all())  # type: ignore[attr-defined]
    return task


@router.get("/tasks", response=responses({200: Page[TaskOut]}))
def task_list(request: HttpRequest, filters: Query[TaskFiltersIn]) -> dict:
    """Tasks you may see: assigned to you, given by you, and your team's."""
    data: dict[str, Any] = filters.model_dump()
    qs = task_selectors.task_list(actor=current_user(request),
                                  filters=task_selectors.TaskFilters.from_mapping(data))
    page = paginate(qs, filters)
    references.prime_objects(current_user(request), (t.customer for t in page["items"]))
    return page


@router.post("/tasks", response=responses({201: TaskDetailOut}, 403))
@idempotent()
def task_create(request: HttpRequest, payload: TaskIn, response: HttpResponse) -> Status:
    """Give a task to yourself, or (with tasks.assign) to someone in your area."""
    task = task_services.task_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, task)
    return Status(201, _task(request, task.pk))


@router.get("/tasks/{task_id}", response=responses({200: TaskDetailOut}, 404))
def task_get(request: HttpRequest, task_id: DbId, response: HttpResponse) -> object:
    task = _task(request, task_id)
    set_etag(response, task)
    return task


@router.patch("/tasks/{task_id}",
              response=responses({200: TaskDetailOut}, 403, 404, 412, 428))
@needs_if_match
def task_update(request: HttpRequest, task_id: DbId, payload: TaskPatch,
                response: HttpResponse) -> object:
    """Change fields, reassign (same rule as creating) or set `status`."""
    task = task_services.task_update(actor=current_user(request), task_id=task_id,
                                     expected_version=if_match(request), **payload.changes())
    set_etag(response, task)
    return _task(request, task.pk)


@router.post("/tasks/{task_id}/comments", response=responses({201: CommentOut}, 403, 404))
@idempotent()
@located("/tasks/{task_id}")  # a comment is part of its task
def task_comment(request: HttpRequest, task_id: DbId, payload: CommentIn) -> Status:
    comment = task_services.task_comment_add(actor=current_user(request), task_id=task_id,
                                             body=payload.body)
    return Status(201, comment)
