"""Forms of follow-up plans: parse input only; services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities.forms.interactions import datetime_field
from kehu.activities.models import InteractionKind, RecurUnit
from kehu.core.forms.base import KehuForm, set_choices


class FollowUpForm(KehuForm):
    field_aliases = {"contact_id": "contact", "customer_id": "__all__"}

    subject = forms.CharField(label=_("What"), max_length=200)
    due_at = datetime_field(_("Due"))
    contact = forms.TypedChoiceField(label=_("With whom"), required=False, coerce=int,
                                     empty_value=None)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=10000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    remind_minutes_before = forms.IntegerField(
        label=_("Remind before (minutes)"), required=False, min_value=0, max_value=43200,
        help_text=_("Leave empty for your default lead time."))
    recur_every = forms.IntegerField(label=_("Repeat every"), required=False, min_value=1,
                                     max_value=366)
    recur_unit = forms.ChoiceField(label=_("Repeat unit"), required=False,
                                   choices=[("", _("Does not repeat")), *RecurUnit.choices])
    # Editing: the version the form was loaded at (a later change by someone else → 412).
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, contacts: list[Any] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "contact", [("", "—"), *[(c.pk, c.name) for c in contacts]])

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("expected_version", None)
        data["contact_id"] = data.pop("contact")
        if data["remind_minutes_before"] is None:
            data.pop("remind_minutes_before")
        return data


class CompleteForm(KehuForm):
    """Complete a follow-up: record the interaction now, or link an existing one."""

    field_aliases = {"interaction_id": "existing"}

    how = forms.ChoiceField(label=_("Fulfilled by"), widget=forms.RadioSelect,
                            initial="new",
                            choices=[("new", _("Record the interaction now")),
                                     ("existing", _("An interaction already recorded"))])
    kind = forms.ChoiceField(label=_("Type"), choices=InteractionKind.choices, required=False)
    occurred_at = datetime_field(_("Time"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    content = forms.CharField(label=_("Content"), required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=500)
    existing = forms.TypedChoiceField(label=_("Existing interaction"), required=False,
                                      coerce=int, empty_value=None)

    autofocus = False

    def __init__(self, *args: Any, interactions: list[Any] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "existing", [("", "—"), *[
            (i.pk, f"{i.occurred_at:%Y-%m-%d} {i.subject}") for i in interactions]])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("how") == "existing" and not data.get("existing"):
            self.add_error("existing", _("Choose the interaction."))
        if data.get("how") == "new" and not data.get("kind"):
            self.add_error("kind", _("This field is required."))
        return data

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["how"] == "existing":
            return {"interaction_id": data["existing"]}
        inline = {k: data[k] for k in ("kind", "subject", "content", "outcome")
                  if data.get(k) not in (None, "")}
        if data.get("occurred_at"):
            inline["occurred_at"] = data["occurred_at"]
        return {"interaction": inline}


class CancelForm(KehuForm):
    reason = forms.CharField(label=_("Reason"), max_length=300)
    stop_series = forms.BooleanField(label=_("Stop the series (recurring plans)"),
                                     required=False, initial=True)
