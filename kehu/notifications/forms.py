"""Forms of the reminder settings: parse only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kehu.core.forms.base import KehuForm
from kehu.notifications.services import LEAD_CHOICES


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
    # The version the page showed: a change saved meanwhile (another tab) is refused.
    expected_version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_lead_minutes"].choices = [  # type: ignore[attr-defined]
            (m, lead_label(m)) for m in LEAD_CHOICES]
