"""What every Kehu form shares: service errors on fields, focus, choices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core import moments
from kehu.core.exceptions import KehuError

OUT_OF_RANGE = _("Enter a date between 1900-01-01 and 2200-12-31.")


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


class VersionForm(KehuForm):
    """Actions that only carry the record's version (deactivate, reactivate, delete)."""

    autofocus = False
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)



class MomentField(forms.DateTimeField):
    """Every date-time a form takes: aware, in the current time zone, between 1900-01-01
    and 2200-12-31 (``kehu.core.moments``; the API's ``Moment`` is the same rule)."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value: Any) -> dt.datetime | None:
        try:
            result = super().to_python(value)
            return moments.check_moment(result) if result is not None else None
        except (moments.OutOfRange, OverflowError):
            raise forms.ValidationError(self.error_messages["out_of_range"],
                                        code="out_of_range") from None


class DayField(forms.DateField):
    """Every calendar date a form takes, between 1900-01-01 and 2200-12-31."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value: Any) -> dt.date | None:
        result = super().to_python(value)
        try:
            return moments.check_day(result) if result is not None else None
        except moments.OutOfRange:
            raise forms.ValidationError(self.error_messages["out_of_range"],
                                        code="out_of_range") from None
