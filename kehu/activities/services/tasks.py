"""Writes for tasks: create, update (incl. reassignment), status, comments.

Assignment rule: anyone with ``tasks.create`` may give a task to themselves; giving it to
someone else needs ``tasks.assign`` with the assignee's unit inside that permission's
scope (a city manager assigns within their city subtree, an account manager only to
themselves). The task is placed in the assignee's unit and owned by them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.activities.models import NoticeKind, Priority, Task, TaskComment
from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.permissions import Scope
from kehu.core.versions import bump_version, check_version
from kehu.customers.selectors import customers as customer_selectors
from kehu.notifications.services import notify, reminder_settings

if TYPE_CHECKING:
    from kehu.customers.models import Customer

EDITABLE = ("title", "description", "priority", "due_at", "customer_id",
            "remind_minutes_before", "assignee_id", "status")
MAX_REMIND_MINUTES = 60 * 24 * 30
MAX_COMMENT = 5000


def task_url(task: Task) -> str:
    return reverse("task_detail", args=[task.pk])


def may_assign_to(actor: User, assignee: User) -> bool:
    """Whether ``actor`` may give a task to ``assignee`` (the rule the UI offers too)."""
    if assignee.tenant_id != actor.tenant_id or not assignee.is_active:
        return False
    if assignee.pk == actor.pk:
        return access.has_perm(actor, "tasks.create")
    if access.scope_for(actor, "tasks.assign") in (None, Scope.OWN):
        return False
    return access.unit_in_scope(actor, "tasks.assign", assignee.org_unit)


def _assignee(actor: User, assignee_id: int | None) -> User:
    if assignee_id is None or assignee_id == actor.pk:
        return actor
    assignee = (User.objects.filter(tenant_id=actor.tenant_id, pk=assignee_id, is_active=True)
                .select_related("org_unit").first())
    if assignee is None:
        raise ValidationFailed(fields={"assignee_id": [_("Choose an active user.")]})
    if not may_assign_to(actor, assignee):
        raise ValidationFailed(fields={"assignee_id": [
            _("You can only assign tasks to yourself or to people in the units you manage.")]})
    return assignee


def _customer(actor: User, customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    customer = customer_selectors.visible_customer(actor=actor, customer_id=customer_id)
    if customer is None:
        raise ValidationFailed(fields={"customer_id": [_("Choose a customer you can see.")]})
    return customer


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "title" in values:
        values["title"] = " ".join(str(values["title"] or "").split())
        if not values["title"]:
            errors["title"] = [_("This field is required.")]
        elif len(values["title"]) > 200:
            errors["title"] = [_("At most %(n)d characters.") % {"n": 200}]
    if "description" in values:
        values["description"] = str(values["description"] or "")[:10000]
    if "priority" in values:
        values["priority"] = values["priority"] or Priority.NORMAL
        if values["priority"] not in Priority.values:
            errors["priority"] = [_("“%(value)s” is not one of the allowed values.")
                                  % {"value": values["priority"]}]
    due = values.get("due_at")
    if due is not None and not isinstance(due, dt.datetime):
        errors["due_at"] = [_("Enter a date and time.")]
    elif due is not None and not 1900 <= due.year <= 2999:
        # Far-off years overflow the reminder arithmetic and mean a typo anyway.
        errors["due_at"] = [_("Enter a date between the years 1900 and 2999.")]
    lead = values.get("remind_minutes_before")
    if lead is not None and (not isinstance(lead, int) or not 0 <= lead <= MAX_REMIND_MINUTES):
        errors["remind_minutes_before"] = [
            _("Enter a number of minutes between 0 and %(n)d.") % {"n": MAX_REMIND_MINUTES}]
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _notify_assigned(actor: User, task: Task) -> None:
    assignee = task.owner
    if assignee is None or assignee.pk == actor.pk:
        return
    with translation.override(assignee.language):  # the recipient reads it
        notify(recipient=assignee, kind=NoticeKind.TASK_ASSIGNED,
               title=_("%(name)s assigned you a task: %(title)s")
               % {"name": actor.full_name, "title": task.title},
               body=task.description[:500],
               key=f"task:{task.pk}:assigned:{assignee.pk}:{task.version}",
               url=task_url(task), email=True)


@transaction.atomic
def task_create(*, actor: User, title: str, assignee_id: int | None = None,
                priority: str = Priority.NORMAL, due_at: dt.datetime | None = None,
                description: str = "", customer_id: int | None = None,
                remind_minutes_before: int | None = None) -> Task:
    access.require(actor, "tasks.create")
    values = _clean({"title": title, "description": description, "priority": priority,
                     "due_at": due_at, "remind_minutes_before": remind_minutes_before})
    assignee = _assignee(actor, assignee_id)
    customer = _customer(actor, customer_id)
    if values["due_at"] is not None and values["remind_minutes_before"] is None:
        values["remind_minutes_before"] = reminder_settings(assignee).default_lead_minutes
    task = Task(tenant_id=actor.tenant_id, org_unit=assignee.org_unit, owner=assignee,
                assigned_by=actor, customer=customer, **values)
    task.schedule_reminder()
    task.save()
    access.ensure_still_visible(task, actor)
    audit.record(actor=actor, action="task.create", obj=task,
                 changes=audit.diff(Task, {}, audit.snapshot(task)))
    _notify_assigned(actor, task)
    return task


@transaction.atomic
def task_update(*, actor: User, task_id: int, expected_version: int | None = None,
                **changes: Any) -> Task:
    """Change a task's fields; a new ``assignee_id`` follows the assignment rule; a
    ``status`` alone is recorded as a status change."""
    access.require(actor, "tasks.change")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    task = access.get_for(Task, actor, task_id, "change", for_update=True)
    check_version(task, expected_version)
    before = audit.snapshot(task)
    values = _clean(dict(changes))
    reassigned = False
    if "status" in values:
        _apply_status(task, values.pop("status"))
    if "assignee_id" in values:
        new_id = values.pop("assignee_id")
        if new_id is None:
            raise ValidationFailed(fields={"assignee_id": [_("This field is required.")]})
        if new_id != task.owner_id:
            assignee = _assignee(actor, new_id)
            task.owner, task.org_unit, task.assigned_by = assignee, assignee.org_unit, actor
            reassigned = True
    if "customer_id" in values:
        task.customer = _customer(actor, values.pop("customer_id"))
    for key, value in values.items():
        setattr(task, key, value)
    task.schedule_reminder()
    changed = audit.diff(Task, before, audit.snapshot(task))
    if not changed:
        return task
    bump_version(task)
    access.ensure_still_visible(task, actor)
    action = "task.status" if set(changed) <= {"status", "done_at"} else "task.update"
    audit.record(actor=actor, action=action, obj=task, changes=changed)
    if reassigned:
        _notify_assigned(actor, task)
    return task


def _apply_status(task: Task, status: str) -> None:
    if status not in Task.Status.values:
        raise ValidationFailed(fields={"status": [
            _("“%(value)s” is not one of the allowed values.") % {"value": status}]})
    if task.status != status:
        task.status = status
        task.done_at = timezone.now() if status == Task.Status.DONE else None


@transaction.atomic
def task_set_status(*, actor: User, task_id: int, status: str,
                    expected_version: int | None = None) -> Task:
    access.require(actor, "tasks.change")
    task = access.get_for(Task, actor, task_id, "change", for_update=True)
    check_version(task, expected_version)
    before = audit.snapshot(task)
    _apply_status(task, status)
    if task.status == before["status"]:
        return task
    bump_version(task)
    audit.record(actor=actor, action="task.status", obj=task,
                 changes=audit.diff(Task, before, audit.snapshot(task)))
    return task


@transaction.atomic
def task_comment_add(*, actor: User, task_id: int, body: str) -> TaskComment:
    """Anyone who can see the task may comment; the other party is notified."""
    access.require(actor, "tasks.view")
    task = access.get_for(Task, actor, task_id, "view")
    text = str(body or "").strip()
    if not text:
        raise ValidationFailed(fields={"body": [_("This field is required.")]})
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(fields={"body": [_("At most %(n)d characters.")
                                                % {"n": MAX_COMMENT}]})
    comment = TaskComment.objects.create(tenant_id=task.tenant_id, task=task, author=actor,
                                         body=text)
    audit.record(actor=actor, action="task.comment", obj=task,
                 changes={"comment": [None, text[:200]]})
    recipients = {uid for uid in (task.owner_id, task.assigned_by_id)
                  if uid is not None and uid != actor.pk}
    for user in User.objects.filter(pk__in=recipients, is_active=True):
        with translation.override(user.language):
            notify(recipient=user, kind=NoticeKind.TASK_COMMENT,
                   title=_("%(name)s commented on “%(title)s”")
                   % {"name": actor.full_name, "title": task.title},
                   body=text[:500], key=f"task:{task.pk}:comment:{comment.pk}",
                   url=task_url(task))
    return comment
