"""API schemas of tasks (comments and refs serve work plans too)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from kehu.core.http import DbId, InputSchema, Moment, PageQuery, PatchSchema, omitted
from kehu.core.schemas.references import RecordRef, ref_resolver

TaskStatus = Literal["open", "in_progress", "done", "cancelled"]
TaskPriority = Literal["low", "normal", "high", "urgent"]


class UserRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class CustomerRef(RecordRef):
    """A task's customer: redacted when the caller may not see it."""


class CommentIn(InputSchema):
    body: str = Field(..., min_length=1, max_length=5000)


class CommentOut(Schema):
    id: int
    author: UserRef
    body: str
    created_at: datetime


# ---------------------------------------------------------------------------- tasks


class TaskIn(InputSchema):
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=10000)
    assignee_id: DbId | None = Field(None, description="Defaults to yourself.")
    priority: TaskPriority = "normal"
    due_at: Moment | None = None
    customer_id: DbId | None = None
    remind_minutes_before: int | None = Field(
        None, ge=0, le=43200,
        description="Defaults to the assignee's reminder lead when due_at is set.")


class TaskPatch(PatchSchema):
    title: str = omitted(max_length=200)
    description: str = omitted(max_length=10000)
    assignee_id: DbId = omitted()
    priority: TaskPriority = omitted()
    due_at: Moment | None = omitted()
    customer_id: DbId | None = omitted()
    remind_minutes_before: int | None = omitted(ge=0, le=43200)
    status: TaskStatus = omitted(description="done sets done_at.")


class TaskFiltersIn(PageQuery):
    view: Literal["all", "mine", "assigned", "team"] = Field(
        "all", description="mine: assigned to you; assigned: given by you to others; "
        "team: others' tasks you may see.")
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    owner_id: DbId | None = Field(None, description="The assignee.")
    customer_id: DbId | None = None
    due_after: Moment | None = None
    due_before: Moment | None = None
    overdue: bool = Field(False, description="Open or in progress and past due.")
    ordering: Literal["due", "-due", "created", "-created", "priority"] = "due"


class TaskOut(Schema):
    id: int
    title: str
    description: str
    status: str
    priority: str
    due_at: datetime | None
    done_at: datetime | None
    remind_minutes_before: int | None
    remind_at: datetime | None
    is_overdue: bool
    assignee: UserRef | None = Field(..., alias="owner")
    assigned_by: UserRef | None
    customer: CustomerRef | None
    org_unit_id: int

    resolve_customer = staticmethod(ref_resolver("customer"))
    created_at: datetime
    updated_at: datetime
    version: int


class TaskDetailOut(TaskOut):
    comments: list[CommentOut] = Field(..., alias="comment_list")
