"""The form that shares one record with a colleague (on any shareable record's page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm, set_choices
from kehu.core.services.shares import REASON_MAX


class ShareForm(KehuForm):
    prefix = "share"
    autofocus = False
    field_aliases = {"user_id": "user"}

    user = forms.TypedChoiceField(label=_("Share with"), coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)
    expires_on = forms.DateField(label=_("Until (last day)"), required=False,
                                 help_text=_("Empty: until revoked."),
                                 widget=forms.DateInput(attrs={"type": "date"}))
    can_change = forms.BooleanField(label=_("May also change it"), required=False)

    def __init__(self, *args: Any, users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "user", [("", "—")] + [
            (str(u.pk), f"{u.full_name} · {u.org_unit.name}") for u in users])
