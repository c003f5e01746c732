"""The role form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core import permissions
from kehu.core.forms.base import KehuForm, set_choices
from kehu.core.permissions import Scope


class RoleForm(KehuForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    data_scope = forms.ChoiceField(label=_("Data scope"), choices=Scope.CHOICES)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "permissions", [
            (p, permissions.permission_label(p)) for p in permissions.all_permissions()
        ])

    def matrix(self) -> list[dict[str, Any]]:
        """Rows of module-by-action cells for the permission grid."""
        checked = set(self["permissions"].value() or [])
        rows = []
        for module in permissions.MODULES.values():
            cells = []
            for action in permissions.ACTIONS:
                name = f"{module.key}.{action}"
                cells.append({"name": name, "action_label": permissions.ACTIONS[action],
                              "available": action in module.actions,
                              "checked": name in checked})
            rows.append({"module": module, "cells": cells})
        return rows

