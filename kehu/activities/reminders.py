"""Follow-ups and tasks as reminder sources of kehu.notifications: which rows may still
remind, who is reminded (the owner) and how the notice reads.

Registered in kehu.activities.registrations; the periodic job in kehu.notifications.tasks
fires them (and claims each once). Texts are built in the recipient's language.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import FollowUp, NoticeKind, Task
from kehu.activities.selectors.calendar import followup_url, task_url
from kehu.notifications.registry import ReminderNotice, ReminderSource

if TYPE_CHECKING:
    from kehu.core.models import User


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------- follow-ups


def _open_followups() -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(state=FollowUp.State.PLANNED)


def _followup_recipients(item: FollowUp) -> list[User | None]:
    return [item.owner]


def _followup_notice(item: FollowUp, recipient: User) -> ReminderNotice:
    title = _("Follow-up due %(when)s: %(subject)s") % {
        "when": _when(item.due_at), "subject": item.subject}
    body = _("Customer: %(customer)s") % {"customer": item.customer.name}
    if item.notes:
        body += "\n" + item.notes
    return ReminderNotice(kind=NoticeKind.FOLLOWUP_DUE, title=title, body=body,
                          key=f"followup:{item.pk}:due:{item.due_at.isoformat()}",
                          url=followup_url(item))


# ---------------------------------------------------------------------------- tasks


def _open_tasks() -> QuerySet[Task]:
    return Task.objects.filter(status__in=[Task.Status.OPEN, Task.Status.IN_PROGRESS])


def _task_recipients(item: Task) -> list[User | None]:
    return [item.owner] if item.due_at is not None else []


def _task_notice(item: Task, recipient: User) -> ReminderNotice:
    due = item.due_at
    if due is None:  # never asked: a task without a due time has no recipients
        raise ValueError("a task without a due time has no reminder")
    title = _("Task due %(when)s: %(title)s") % {"when": _when(due), "title": item.title}
    body = item.description
    if item.customer is not None:
        body = (_("Customer: %(customer)s") % {"customer": item.customer.name}
                + ("\n" + body if body else ""))
    return ReminderNotice(kind=NoticeKind.TASK_DUE, title=title, body=body,
                          key=f"task:{item.pk}:due:{due.isoformat()}",
                          url=task_url(item))


FOLLOWUP_REMINDERS = ReminderSource(
    name="activities.followup", rows=_open_followups, recipients=_followup_recipients,
    notice=_followup_notice, related=("owner", "customer"))
TASK_REMINDERS = ReminderSource(
    name="activities.task", rows=_open_tasks, recipients=_task_recipients,
    notice=_task_notice, related=("owner", "customer"))
