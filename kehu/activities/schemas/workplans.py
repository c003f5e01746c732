"""API schemas of weekly work plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from kehu.activities.schemas.tasks import CommentOut, UserRef
from kehu.core.http import Day, DbId, InputSchema, PageQuery, PatchSchema, omitted

PlanStatus = Literal["draft", "submitted", "reviewed"]


class WorkPlanIn(InputSchema):
    week_start: Day = Field(..., description="Any day of the week; stored as its Monday.")
    goals: str = Field(..., min_length=1, max_length=10000)
    summary: str = Field("", max_length=10000)


class WorkPlanPatch(PatchSchema):
    goals: str = omitted(min_length=1, max_length=10000)
    summary: str = omitted(max_length=10000)


class ReviewIn(InputSchema):
    comment: str = Field("", max_length=5000)


class WorkPlanFiltersIn(PageQuery):
    mine: bool = False
    owner_id: DbId | None = None
    week_from: Day | None = None
    week_to: Day | None = None
    status: PlanStatus | None = None


class WorkPlanOut(Schema):
    id: int
    week_start: date
    goals: str
    summary: str
    status: str
    owner: UserRef | None
    org_unit_id: int
    reviewed_by: UserRef | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class WorkPlanDetailOut(WorkPlanOut):
    comments: list[CommentOut] = Field(..., alias="comment_list")
