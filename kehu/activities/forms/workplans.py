"""Forms of the work-plan pages: parse input only; the services decide."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.models import WorkPlan
from kehu.core.forms.base import DayField, KehuForm

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")


class WeekField(DayField):
    """A week, from an ``<input type="week">`` ("2026-W48") or any date in it."""

    widget = forms.DateInput(attrs={"type": "week"})

    def to_python(self, value: Any) -> dt.date | None:
        match = _WEEK_RE.match(str(value or "").strip())
        if match:
            try:
                return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
            except ValueError:
                raise forms.ValidationError(_("Enter a valid week."), code="invalid") from None
        return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.date):
            year, week, _day = value.isocalendar()
            return f"{year}-W{week:02d}"
        return value


class WorkPlanForm(KehuForm):
    week_start = WeekField(label=_("Week"))
    goals = forms.CharField(label=_("Plan"), max_length=10000,
                            widget=forms.Textarea(attrs={"rows": 8}))
    summary = forms.CharField(label=_("Summary of the week"), required=False,
                              max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["week_start"]


class ReviewForm(KehuForm):
    autofocus = False
    comment = forms.CharField(label=_("Review comment"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class PlanStatusFilter(forms.Form):
    status = forms.ChoiceField(required=False,
                               choices=[("", _("Any status")), *WorkPlan.Status.choices])
