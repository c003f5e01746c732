"""The form that names a saved view of the customer list."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm


class SavedViewForm(KehuForm):
    autofocus = False
    name = forms.CharField(label=_("Save this view as"), max_length=100)
