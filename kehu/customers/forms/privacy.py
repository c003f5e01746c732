"""Forms of personal-data requests: the export's reason; the erasure's reason, the version
the user saw, and an explicit confirmation."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm
from kehu.customers.services.privacy import REASON_MAX


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
