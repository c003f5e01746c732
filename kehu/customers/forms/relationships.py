"""HTML forms of relationships between customers and external ids."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm
from kehu.customers.models import RelationshipKind


class RelationshipForm(KehuForm):
    prefix = "rel"
    autofocus = False
    field_aliases = {"target_id": "target"}
    kind = forms.ChoiceField(label=_("Relationship"), choices=RelationshipKind.choices)
    target = forms.CharField(label=_("Other customer's code"), max_length=50)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class ExternalIdForm(KehuForm):
    prefix = "ext"
    autofocus = False
    system = forms.CharField(label=_("System"), max_length=50)
    external_id = forms.CharField(label=_("Id in that system"), max_length=100)
