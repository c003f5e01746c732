"""Forms of the notification centre, reminder settings and the calendar: parse only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kehu.activities.services.notifications import LEAD_CHOICES
from kehu.core.forms import KehuForm


def lead_label(minutes: int) -> str:
    if minutes == 0:
        return str(_("At the due time"))
    if minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("%(n)d day before", "%(n)d days before", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d hour before", "%(n)d hours before", hours) % {"n": hours}
    return ngettext("%(n)d minute before", "%(n)d minutes before", minutes) % {"n": minutes}


class ReminderSettingsForm(KehuForm):
    autofocus = False

    default_lead_minutes = forms.TypedChoiceField(
        label=_("Remind me"), coerce=int, choices=(),
        help_text=_("Used for new follow-ups and tasks; each can still set its own."))
    email_enabled = forms.BooleanField(label=_("Also send reminders by email"),
                                       required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_lead_minutes"].choices = [  # type: ignore[attr-defined]
            (m, lead_label(m)) for m in LEAD_CHOICES]


VIEWS = ("day", "week", "month")


class CalendarForm(forms.Form):
    """The calendar page's query: view, day shown and whose calendar."""

    view = forms.ChoiceField(choices=[(v, v) for v in VIEWS], required=False)
    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    user = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def values(self, today: dt.date) -> tuple[str, dt.date, int | None]:
        """(view, date, user id) with defaults for anything missing or malformed."""
        self.is_valid()  # invalid parts are left out of cleaned_data: defaults apply
        data: dict[str, Any] = self.cleaned_data
        return (data.get("view") or "week", data.get("date") or today, data.get("user"))
