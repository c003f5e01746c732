"""Forms of personal-data requests: the export's reason; the erasure's reason, the version
the user saw, and an explicit confirmation; a retention rule's period."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm
from kehu.customers.models import RetentionRule
from kehu.customers.services.privacy import REASON_MAX, RETENTION_YEARS


class ExportRequestForm(KehuForm):
    prefix = "export"
    autofocus = False

    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX,
                             help_text=_("The person's request and its reference; kept in "
                                         "the audit log."))


class EraseRequestForm(KehuForm):
    prefix = "erase"
    autofocus = False

    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX,
                             help_text=_("The person's request or the legal ground; kept in "
                                         "the audit log."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    confirm = forms.BooleanField(label=_("I understand that the personal data is removed "
                                         "for good and cannot be restored."))


class RetentionRuleForm(KehuForm):
    """One kind's period; ``action=off`` turns the rule off (the years are then ignored)."""

    autofocus = False

    kind = forms.ChoiceField(choices=RetentionRule.Kind.choices, widget=forms.HiddenInput)
    years = forms.IntegerField(
        label=_("Keep for (years)"), required=False,
        min_value=RETENTION_YEARS[0], max_value=RETENTION_YEARS[1],
        error_messages={
            "min_value": _("Enter a number of years from 1 to 50."),
            "max_value": _("Enter a number of years from 1 to 50."),
            "invalid": _("Enter a number of years from 1 to 50.")},
        help_text=_("Counted from when the customer became churned and from each record's "
                    "date."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.data.get("action") != "off" and data.get("years") is None \
                and "years" not in self.errors:
            self.add_error("years", _("Enter a number of years from 1 to 50."))
        return data
