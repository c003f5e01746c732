"""The form that confirms a merge of two customers."""

from __future__ import annotations

from django import forms

from kehu.core.forms.base import KehuForm


class MergeForm(KehuForm):
    autofocus = False
    survivor_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    loser_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    survivor_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    loser_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
