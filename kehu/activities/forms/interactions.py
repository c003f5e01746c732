"""Forms of interactions: parse input only; services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.models import Channel, Direction, InteractionKind
from kehu.core.forms.base import DayField, KehuForm, MomentField, set_choices

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"},
                                      format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%d %H:%M:%S"]


def datetime_field(label: Any, *, required: bool = True) -> MomentField:
    return MomentField(label=label, required=required, widget=DATETIME_WIDGET,
                               input_formats=DATETIME_FORMATS)


class InteractionForm(KehuForm):
    field_aliases = {"contact_ids": "contacts", "participant_ids": "participants",
                     "customer_id": "__all__"}

    kind = forms.ChoiceField(label=_("Type"), choices=InteractionKind.choices)
    occurred_at = datetime_field(_("Time"))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    content = forms.CharField(label=_("Content"), required=False,
                              widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices,
                                  initial=Direction.OUTBOUND)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices,
                                initial=Channel.PHONE)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), required=False,
                                          min_value=0, max_value=10080)
    contacts = forms.TypedMultipleChoiceField(label=_("Contacts"), required=False,
                                              coerce=int, widget=forms.CheckboxSelectMultiple)
    participants = forms.TypedMultipleChoiceField(label=_("Participants"), required=False,
                                                  coerce=int)
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=500)
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=500)

    def __init__(self, *args: Any, contacts: list[Any] = (),  # type: ignore[assignment]
                 users: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        set_choices(self, "contacts", [(c.pk, c.name) for c in contacts])
        set_choices(self, "participants", [(u.pk, u.full_name) for u in users])

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["contact_ids"] = data.pop("contacts")
        data["participant_ids"] = data.pop("participants")
        return data


class InteractionFilterForm(forms.Form):
    q = forms.CharField(label=_("Subject"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("All types")), *InteractionKind.choices])
    start = DayField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = DayField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))


