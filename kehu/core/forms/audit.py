"""The audit log's filter form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core import audit
from kehu.core.forms.base import DayField, set_choices


class AuditFilterForm(forms.Form):
    actor = forms.EmailField(label=_("Actor's email"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = DayField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = DayField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        anything = [("", _("All"))]
        set_choices(self, "object_type", anything + audit.object_type_choices())
        set_choices(self, "action", anything + audit.action_choices())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        since = until = None
        if data.get("since"):
            since = dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz)
        if data.get("until"):
            until = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min,
                                        tzinfo=tz)
        return {"actor_email": data.get("actor") or "",
                "object_type": data.get("object_type") or "",
                "action": data.get("action") or "", "since": since, "until": until}

