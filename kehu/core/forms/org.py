"""Org unit forms: create, edit, move."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm, set_choices, unit_choices
from kehu.core.models import OrgUnit


class OrgUnitCreateForm(KehuForm):
    prefix = "new"
    field_aliases = {"parent_id": "parent"}
    # One of several forms below the tree: focusing it would scroll a phone past the tree.
    autofocus = False

    parent = forms.ChoiceField(label=_("Parent unit"))
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Type"), choices=OrgUnit.Kind.choices)
    code = forms.CharField(label=_("Code"), max_length=50, required=False)

    def __init__(self, *args: Any, units: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "parent", unit_choices([u for u in units if u.is_active]))


class OrgUnitEditForm(KehuForm):
    prefix = "edit"
    autofocus = False  # see OrgUnitCreateForm
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Type"), choices=OrgUnit.Kind.choices)
    code = forms.CharField(label=_("Code"), max_length=50, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class OrgUnitMoveForm(KehuForm):
    prefix = "move"
    field_aliases = {"parent_id": "parent"}
    autofocus = False

    parent = forms.ChoiceField(label=_("New parent unit"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, units: Any = (), unit: OrgUnit | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer only places the unit can go: active, outside its own subtree.
        allowed = [u for u in units if u.is_active
                   and (unit is None or not u.path.startswith(unit.path))]
        set_choices(self, "parent", unit_choices(allowed))

