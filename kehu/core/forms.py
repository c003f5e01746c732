"""HTML forms: parse and shape input only; the services validate and decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core import audit, permissions
from kehu.core.exceptions import KehuError
from kehu.core.models import OrgUnit, User
from kehu.core.permissions import Scope


class KehuForm(forms.Form):
    """A form that can take a service's field errors and puts autofocus on its first field."""

    # Service field names that differ from the form's.
    field_aliases: dict[str, str] = {}
    autofocus = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.autofocus:
            for field in self.fields.values():
                if not field.disabled and not isinstance(field.widget, forms.HiddenInput):
                    field.widget.attrs.setdefault("autofocus", True)
                    break

    def full_clean(self) -> None:
        super().full_clean()
        self.focus_first_error()

    def add_service_error(self, error: KehuError) -> None:
        """Put ``error.fields`` on the matching fields; unknown names become form errors."""
        for name, messages in error.fields.items():
            field = self.field_aliases.get(name, name)
            for message in messages:
                self.add_error(field if field in self.fields else None, str(message))
        self.focus_first_error()

    def focus_first_error(self) -> None:
        """After a failed submit the cursor goes to the first field to correct."""
        wrong = [name for name in self.fields if name in self.errors]
        if wrong:
            self.blur()
            self.fields[wrong[0]].widget.attrs["autofocus"] = True

    def blur(self) -> None:
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)


def set_choices(form: forms.Form, name: str, choices: Any) -> None:
    field: Any = form.fields[name]
    field.choices = choices


def unit_choices(units: Any, *, blank: str | None = None) -> list[tuple[str, str]]:
    """Units as an indented select, in tree order (the queryset is ordered by path)."""
    units = list(units)
    base = min((u.depth for u in units), default=0)
    choices = [("", blank)] if blank is not None else []
    for unit in units:
        label = "\u3000" * (unit.depth - base) + unit.name
        if not unit.is_active:
            label += " " + str(_("(inactive)"))
        choices.append((str(unit.pk), label))
    return choices


# ---------------------------------------------------------------------------- auth


class LoginForm(KehuForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpLoginForm(KehuForm):
    """Second step: the code. The verified first step is remembered in the session."""

    totp_code = forms.CharField(
        label=_("Authentication code"), max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": "[0-9 ]*"}),
    )


class SignupForm(KehuForm):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    admin_name = forms.CharField(
        label=_("Your name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=30, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        help_text=_("At least 10 characters, not entirely numeric, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Confirm password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("password") and data.get("password_confirm")
                and data["password"] != data["password_confirm"]):
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


# ---------------------------------------------------------------------------- org units


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


class VersionForm(KehuForm):
    """Actions that only carry the record's version (deactivate, reactivate, delete)."""

    autofocus = False
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


# ---------------------------------------------------------------------------- users


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


# ---------------------------------------------------------------------------- roles


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


# ---------------------------------------------------------------------------- audit


class AuditFilterForm(forms.Form):
    actor = forms.EmailField(label=_("Actor's email"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        anything = [("", _("All"))]
        set_choices(self, "object_type", anything + audit.object_type_choices())
        set_choices(self, "action", anything + audit.action_choices())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        since = until = None
        if data.get("since"):
            since = dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz)
        if data.get("until"):
            until = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time.min,
                                        tzinfo=tz)
        return {"actor_email": data.get("actor") or "",
                "object_type": data.get("object_type") or "",
                "action": data.get("action") or "", "since": since, "until": until}


# ---------------------------------------------------------------------------- profile


class ProfileForm(KehuForm):
    full_name = forms.CharField(label=_("Full name"), max_length=100,
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(label=_("Mobile phone"), max_length=30, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PasswordChangeForm(KehuForm):
    autofocus = False

    current_password = forms.CharField(
        label=_("Current password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_confirm = forms.CharField(
        label=_("Confirm new password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("new_password") and data.get("new_password_confirm")
                and data["new_password"] != data["new_password_confirm"]):
            self.add_error("new_password_confirm", _("The two passwords do not match."))
        return data


class TotpEnableForm(KehuForm):
    code = forms.CharField(
        label=_("Code from your app"), max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TotpDisableForm(KehuForm):
    autofocus = False

    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ApiTokenForm(KehuForm):
    autofocus = False
    field_aliases = {"expires_at": "expires"}

    name = forms.CharField(label=_("Token name"), max_length=100)
    expires = forms.DateField(label=_("Expires on"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires")
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min,
                                   tzinfo=timezone.get_current_timezone())

