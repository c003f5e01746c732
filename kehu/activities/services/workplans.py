"""Writes for weekly work plans (周工作计划): create, update, submit, review, comment.

A plan belongs to its account manager (the creator) and is placed in their unit, so
their managers see it. Only the owner edits it, while it is a draft or submitted;
a manager holding ``workplans.review`` over it reviews it, after which it is locked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.activities.models import NoticeKind, WorkPlan, WorkPlanComment
from kehu.core import access, audit
from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.models import User
from kehu.core.versions import bump_version, check_version
from kehu.notifications.services import notify

MAX_TEXT = 10000
MAX_COMMENT = 5000


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def plan_url(plan: WorkPlan) -> str:
    return reverse("workplan_detail", args=[plan.pk])


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "goals" in values:
        values["goals"] = str(values["goals"] or "").strip()
        if not values["goals"]:
            errors["goals"] = [_("This field is required.")]
    for key in ("goals", "summary"):
        if key in values:
            values[key] = str(values[key] or "").strip()
            if len(values[key]) > MAX_TEXT:
                errors[key] = [_("At most %(n)d characters.") % {"n": MAX_TEXT}]
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _duplicate_week() -> Conflict:
    return Conflict(fields={"week_start": [
        _("You already have a work plan for this week; open it instead.")]})


def _owned_plan(actor: User, plan_id: int) -> WorkPlan:
    """The actor's own plan, locked for writing; anyone else's plan is 404."""
    plan = access.get_for(WorkPlan, actor, plan_id, "change", for_update=True)
    if plan.owner_id != actor.pk:
        raise NotFound()
    return plan


@transaction.atomic
def workplan_create(*, actor: User, week_start: dt.date, goals: str,
                    summary: str = "") -> WorkPlan:
    access.require(actor, "workplans.create")
    if not isinstance(week_start, dt.date):
        raise ValidationFailed(fields={"week_start": [_("Enter a date.")]})
    if isinstance(week_start, dt.datetime):
        week_start = week_start.date()
    values = _clean({"goals": goals, "summary": summary})
    week = monday_of(week_start)
    if WorkPlan.objects.filter(tenant_id=actor.tenant_id, owner=actor, week_start=week).exists():
        raise _duplicate_week()
    plan = WorkPlan(tenant_id=actor.tenant_id, org_unit=actor.org_unit, owner=actor,
                    week_start=week, **values)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:
        raise _duplicate_week() from None  # a concurrent create of the same week
    access.ensure_still_visible(plan, actor)
    audit.record(actor=actor, action="workplan.create", obj=plan,
                 changes=audit.diff(WorkPlan, {}, audit.snapshot(plan)))
    return plan


@transaction.atomic
def workplan_update(*, actor: User, plan_id: int, expected_version: int | None = None,
                    **changes: Any) -> WorkPlan:
    access.require(actor, "workplans.change")
    unknown = set(changes) - {"goals", "summary"}
    if unknown:
        raise ValidationFailed(fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    plan = _owned_plan(actor, plan_id)
    check_version(plan, expected_version)
    if plan.status == WorkPlan.Status.REVIEWED:
        raise Conflict(_("This plan has been reviewed and can no longer be changed."))
    before = audit.snapshot(plan)
    for key, value in _clean(dict(changes)).items():
        setattr(plan, key, value)
    changed = audit.diff(WorkPlan, before, audit.snapshot(plan))
    if not changed:
        return plan
    bump_version(plan)
    audit.record(actor=actor, action="workplan.update", obj=plan, changes=changed)
    return plan


@transaction.atomic
def workplan_submit(*, actor: User, plan_id: int,
                    expected_version: int | None = None) -> WorkPlan:
    access.require(actor, "workplans.change")
    plan = _owned_plan(actor, plan_id)
    check_version(plan, expected_version)
    if plan.status != WorkPlan.Status.DRAFT:
        raise Conflict(_("Only a draft plan can be submitted."))
    before = audit.snapshot(plan)
    plan.status = WorkPlan.Status.SUBMITTED
    bump_version(plan)
    audit.record(actor=actor, action="workplan.submit", obj=plan,
                 changes=audit.diff(WorkPlan, before, audit.snapshot(plan)))
    return plan


def _add_comment(actor: User, plan: WorkPlan, body: str) -> WorkPlanComment | None:
    text = str(body or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(fields={"comment": [_("At most %(n)d characters.")
                                                   % {"n": MAX_COMMENT}]})
    if not text:
        return None
    return WorkPlanComment.objects.create(tenant_id=plan.tenant_id, plan=plan, author=actor,
                                          body=text)


@transaction.atomic
def workplan_review(*, actor: User, plan_id: int, comment: str = "",
                    expected_version: int | None = None) -> WorkPlan:
    """A manager reviews a submitted plan of someone in their area, with a comment."""
    access.require(actor, "workplans.review")
    plan = access.get_for(WorkPlan, actor, plan_id, "review", for_update=True)
    check_version(plan, expected_version)
    if plan.owner_id == actor.pk:
        raise ValidationFailed(_("You cannot review your own work plan."))
    if plan.status != WorkPlan.Status.SUBMITTED:
        raise Conflict(_("Only a submitted plan can be reviewed."))
    before = audit.snapshot(plan)
    note = _add_comment(actor, plan, comment)
    plan.status = WorkPlan.Status.REVIEWED
    plan.reviewed_by, plan.reviewed_at = actor, timezone.now()
    bump_version(plan)
    changes = audit.diff(WorkPlan, before, audit.snapshot(plan))
    if note is not None:
        changes["comment"] = [None, note.body[:200]]
    audit.record(actor=actor, action="workplan.review", obj=plan, changes=changes)
    if plan.owner is not None:
        with translation.override(plan.owner.language):  # the recipient reads it
            notify(recipient=plan.owner, kind=NoticeKind.WORKPLAN_REVIEWED,
                   title=_("%(name)s reviewed your work plan for the week of %(week)s")
                   % {"name": actor.full_name, "week": plan.week_start.isoformat()},
                   body=note.body[:500] if note else "", key=f"workplan:{plan.pk}:reviewed",
                   url=plan_url(plan))
    return plan


def may_comment(actor: User, plan: WorkPlan) -> bool:
    return plan.owner_id == actor.pk or access.allows(actor, plan, "review")


@transaction.atomic
def workplan_comment_add(*, actor: User, plan_id: int, body: str) -> WorkPlanComment:
    """The owner or a manager who may review the plan comments; the other side hears."""
    access.require(actor, "workplans.view")
    plan = access.get_for(WorkPlan, actor, plan_id, "view")
    if not may_comment(actor, plan):
        raise NotFound()
    if not str(body or "").strip():
        raise ValidationFailed(fields={"body": [_("This field is required.")]})
    try:
        note = _add_comment(actor, plan, body)
    except ValidationFailed as exc:
        raise ValidationFailed(fields={"body": exc.fields["comment"]}) from None
    assert note is not None
    audit.record(actor=actor, action="workplan.comment", obj=plan,
                 changes={"comment": [None, note.body[:200]]})
    recipient_id = plan.owner_id if actor.pk != plan.owner_id else plan.reviewed_by_id
    recipient = User.objects.filter(pk=recipient_id, is_active=True).first() \
        if recipient_id else None
    if recipient is not None:
        with translation.override(recipient.language):
            notify(recipient=recipient, kind=NoticeKind.WORKPLAN_COMMENT,
                   title=_("%(name)s commented on the work plan for the week of %(week)s")
                   % {"name": actor.full_name, "week": plan.week_start.isoformat()},
                   body=note.body[:500], key=f"workplan:{plan.pk}:comment:{note.pk}",
                   url=plan_url(plan))
    return note
