"""The calendar page's query form: parse only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from kehu.core.forms.base import DayField

VIEWS = ("day", "week", "month")


class CalendarForm(forms.Form):
    """The calendar page's query: view, day shown and whose calendar."""

    view = forms.ChoiceField(choices=[(v, v) for v in VIEWS], required=False)
    date = DayField(required=False, input_formats=["%Y-%m-%d"])
    user = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def values(self, today: dt.date) -> tuple[str, dt.date, int | None]:
        """(view, date, user id) with defaults for anything missing or malformed."""
        self.is_valid()  # invalid parts are left out of cleaned_data: defaults apply
        data: dict[str, Any] = self.cleaned_data
        return (data.get("view") or "week", data.get("date") or today, data.get("user"))
