"""The filter form of the manager views: parse input only; the selectors decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.selectors import reports
from kehu.core.forms.base import DayField, KehuForm
from kehu.core.models import OrgUnit


class ReportFilterForm(KehuForm):
    autofocus = False

    days = forms.IntegerField(label=_("No contact for (days)"), min_value=1,
                              max_value=reports.MAX_DAYS, required=False,
                              initial=reports.DEFAULT_DAYS)
    unit = forms.TypedChoiceField(label=_("Org unit"), required=False, coerce=int,
                                  empty_value=None)
    start = DayField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = DayField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, units: list[OrgUnit], dates: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not dates:  # the drill-down lists do not use the activity period
            del self.fields["start"], self.fields["end"]
        field: Any = self.fields["unit"]
        field.choices = [("", _("All of my area"))] + [
            (u.pk, "\u3000" * max(0, u.path.count("/") - 2) + u.name) for u in units]
