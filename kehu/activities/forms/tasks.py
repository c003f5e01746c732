"""Forms of the task pages: parse input only; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.models import Priority, Task
from kehu.core.forms.base import DayField, KehuForm, MomentField
from kehu.core.models import User


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def user_label(user: User) -> str:
    return f"{user.full_name} · {user.org_unit.name}" if user.org_unit_id else user.full_name


class TaskForm(KehuForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    assignee = forms.TypedChoiceField(label=_("Assignee"), coerce=int)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                 initial=Priority.NORMAL)
    due_at = MomentField(label=_("Due"), required=False, widget=DateTimeLocalInput(),
                                 input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                                "%Y-%m-%d"])
    remind_minutes_before = forms.IntegerField(
        label=_("Remind before (minutes)"), required=False, min_value=0,
        max_value=60 * 24 * 30,
        help_text=_("Empty: your default reminder lead when a due time is set."))
    customer = forms.CharField(label=_("Customer (code)"), required=False, max_length=50,
                               help_text=_("Optional: the code of a customer you can see."))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    field_aliases = {"assignee_id": "assignee", "customer_id": "customer"}

    def __init__(self, *args: Any, assignees: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["assignee"]
        field.choices = [(u.pk, user_label(u)) for u in assignees]

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"title": data["title"], "assignee_id": data["assignee"],
                "priority": data["priority"], "due_at": data["due_at"],
                "remind_minutes_before": data["remind_minutes_before"],
                "description": data["description"]}


class TaskFilterForm(KehuForm):
    autofocus = False
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *Task.Status.choices])
    priority = forms.ChoiceField(label=_("Priority"), required=False,
                                 choices=[("", _("Any priority")), *Priority.choices])
    owner_id = forms.TypedChoiceField(label=_("Assignee"), required=False, coerce=int,
                                      empty_value=None)
    due_after = DayField(label=_("Due from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    due_before = DayField(label=_("Due until"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["owner_id"]
        field.choices = [("", _("Anyone")), *((u.pk, user_label(u)) for u in people)]

    def selector_data(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class CommentForm(KehuForm):
    autofocus = False
    body = forms.CharField(label=_("Comment"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class TaskStatusForm(KehuForm):
    autofocus = False
    status = forms.ChoiceField(choices=Task.Status.choices)
    expected_version = forms.IntegerField(required=False)
