"""User forms: filters, create, edit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm, set_choices, unit_choices
from kehu.core.models import User


class UserFilterForm(forms.Form):
    ACTIVE_CHOICES = (("", _("All")), ("1", _("Active")), ("0", _("Inactive")))

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.SearchInput(attrs={"placeholder": _("Name or email")}))
    unit = forms.TypedChoiceField(label=_("Unit"), required=False, coerce=int, empty_value=None)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)

    def __init__(self, *args: Any, units: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        set_choices(self, "unit", unit_choices(units, blank=str(_("All units"))))

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        active = {"1": True, "0": False}.get(data.get("active") or "")
        return {"search": data.get("q") or "", "org_unit_id": data.get("unit"),
                "is_active": active}


class RoleCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes; those in ``locked`` (values as strings) are shown but disabled."""

    locked: frozenset[str] = frozenset()

    def create_option(self, name: str, value: Any, label: Any, selected: Any, index: int,
                      subindex: int | None = None, attrs: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.locked:
            option["attrs"]["disabled"] = True
        return option


class RoleChoiceField(forms.TypedMultipleChoiceField):
    widget = RoleCheckboxes


class UserForm(KehuForm):
    field_aliases = {"org_unit_id": "org_unit", "role_ids": "roles"}

    email = forms.EmailField(label=_("Email"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    phone = forms.CharField(label=_("Mobile phone"), max_length=30, required=False)
    org_unit = forms.TypedChoiceField(label=_("Unit"), coerce=int)
    roles = RoleChoiceField(label=_("Roles"), coerce=int, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)

    def __init__(self, *args: Any, units: Any = (), roles: Any = (), locked_roles: Any = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "org_unit", unit_choices(
            [u for u in units if u.is_active], blank="—"
        ))
        # Only roles the actor may grant are offered; ``locked_roles`` (held by the user
        # being edited, beyond the actor's rights) are shown ticked and kept as they are.
        set_choices(self, "roles", [(str(r.pk), r.display_name) for r in roles])
        self.locked_roles = frozenset(int(pk) for pk in locked_roles)
        widget: Any = self.fields["roles"].widget
        widget.locked = frozenset(str(pk) for pk in self.locked_roles)
        if self.locked_roles:
            self.fields["roles"].help_text = _(
                "Greyed-out roles have rights you do not hold: only an administrator with "
                "those rights can remove them.")

    def clean_roles(self) -> list[int]:
        # Disabled checkboxes are not posted: keep the locked roles, whatever was sent.
        chosen = [pk for pk in self.cleaned_data.get("roles") or []
                  if pk not in self.locked_roles]
        return chosen + sorted(self.locked_roles)


class UserEditForm(UserForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, is_self: bool = False, reveal_phone: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["email"]
        if not reveal_phone:
            # Shown masked and read-only; the view never sends it back to the service.
            self.fields["phone"].disabled = True
            self.fields["phone"].help_text = _("Masked: your roles do not reveal personal data.")
        if is_self:
            self.fields["roles"].disabled = True
            self.fields["roles"].help_text = _("You cannot change your own roles.")

