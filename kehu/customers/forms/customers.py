"""HTML forms of customers: parse and shape input; the services validate.

Sensitive values (phones, addresses, ID numbers) are never put back into a form in
clear: an edit form lists the stored ones masked, each with a "keep" checkbox, and takes
new ones in separate inputs. The view rebuilds the full list from the stored values.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core import pii
from kehu.core.forms.base import KehuForm, set_choices, unit_choices
from kehu.customers.forms.common import (
    NEW_ADDRESS_ROWS,
    TEXTAREA_SMALL,
    city_choices,
    industry_select_choices,
    link_region_selects,
    phone_label,
    province_choices,
    split_lines,
    split_region,
    split_tags,
    user_choices,
)
from kehu.customers.models import AddressKind, Channel, Kind, Size, Status, Tier, VipGrade

# ---------------------------------------------------------------------------- list


ORDERING_CHOICES = (
    ("-created", _("Newest first")), ("created", _("Oldest first")),
    ("name", _("Name A→Z")), ("-name", _("Name Z→A")),
    ("-updated", _("Recently changed")), ("code", _("Customer code")),
    ("quality", _("Lowest data quality")), ("-quality", _("Highest data quality")),
    ("status", _("Status")), ("tier", _("Tier")),
)


class CustomerFilterForm(forms.Form):
    """The list's filter bar. ``selector_data`` feeds ``selectors.CustomerFilters``."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.SearchInput(attrs={
                            "placeholder": _("Name, pinyin, phone, code…")}))
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    tier = forms.ChoiceField(label=_("Key-account tier"), required=False)
    vip_grade = forms.ChoiceField(label=_("VIP grade"), required=False)
    status = forms.MultipleChoiceField(label=_("Status"), required=False,
                                       choices=Status.choices,
                                       widget=forms.SelectMultiple(attrs={"size": 4}))
    size = forms.ChoiceField(label=_("Size"), required=False)
    province = forms.ChoiceField(label=_("Province"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    owner_id = forms.ChoiceField(label=_("Account manager"), required=False)
    org_unit_id = forms.ChoiceField(label=_("Unit (and below)"), required=False)
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    quality_below = forms.IntegerField(label=_("Data quality below"), required=False,
                                       min_value=1, max_value=101)
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=ORDERING_CHOICES)

    def __init__(self, *args: Any, users: Any = (), units: Any = (), tags: Any = (),
                 **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        anything = str(_("All"))
        set_choices(self, "kind", [("", anything), *Kind.choices])
        set_choices(self, "tier", [("", anything), *Tier.choices])
        set_choices(self, "vip_grade", [("", anything), ("none", _("None")),
                                        *[c for c in VipGrade.choices if c[0]]])
        set_choices(self, "size", [("", anything), *Size.choices])
        set_choices(self, "province", province_choices(anything))
        province = self.data.get("province", "") if self.is_bound else ""
        set_choices(self, "city", city_choices(str(province or ""), anything))
        set_choices(self, "industry", industry_select_choices(anything))
        set_choices(self, "owner_id", user_choices(users, anything))
        set_choices(self, "org_unit_id", unit_choices(units, blank=anything))
        set_choices(self, "tag", [("", anything)] + [(t.name, t.name) for t in tags])
        link_region_selects(self, blank_all=True)

    def selector_data(self) -> dict[str, Any]:
        """The cleaned filters as ``CustomerFilters.from_mapping`` takes them; a field
        with a bad value is left out (the rest still filter)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out: dict[str, Any] = {key: data.get(key) for key in (
            "q", "kind", "tier", "vip_grade", "size", "industry", "owner_id", "org_unit_id",
            "tag", "quality_below", "ordering") if data.get(key) not in (None, "")}
        out["status"] = data.get("status") or []
        region = data.get("city") or data.get("province")
        if region:
            out["region"] = region
        return out




BULK_ACTIONS = (
    ("tag", _("Add tags")), ("untag", _("Remove tags")),
    ("status", _("Change status")), ("transfer", _("Transfer")),
)


class BulkForm(KehuForm):
    """Bulk action over the ticked rows; which inputs count depends on ``action``."""

    autofocus = False
    field_aliases = {"owner_id": "owner", "org_unit_id": "org_unit", "customer_ids": "ids"}

    action = forms.ChoiceField(label=_("With the selected"), choices=BULK_ACTIONS)
    # Any ids may come (no choices to check against): the services decide per record.
    ids = forms.Field(label=_("Customers"), required=False, widget=forms.MultipleHiddenInput)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Separate tags with commas."))
    status = forms.ChoiceField(label=_("New status"), required=False)
    owner = forms.TypedChoiceField(label=_("New account manager"), required=False, coerce=int,
                                   empty_value=None)
    org_unit = forms.TypedChoiceField(label=_("New unit"), required=False, coerce=int,
                                      empty_value=None)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, *args: Any, users: Any = (), units: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "status", [("", "—"), *Status.choices])
        set_choices(self, "owner", user_choices(users, "—"))
        set_choices(self, "org_unit", unit_choices(units, blank="—"))

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or []
        ids = []
        for value in raw:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                continue
        if not ids:
            raise forms.ValidationError(_("Tick at least one customer."))
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action in ("tag", "untag") and not split_tags(data.get("tags", "")):
            self.add_error("tags", _("Enter at least one tag."))
        if action == "status" and not data.get("status"):
            self.add_error("status", _("Choose the new status."))
        return data




# ---------------------------------------------------------------------------- customer


class CustomerForm(KehuForm):
    """Create and edit. On edit, stored phones and addresses come as masked "keep"
    checkboxes (``keep_phones`` / ``keep_addresses``) and new ones in extra inputs."""

    field_aliases = {"parent_id": "parent", "owner_id": "owner", "org_unit_id": "org_unit",
                     "id_number": "id_number", "phones": "new_phones",
                     "addresses": "new_address_0", "emails": "emails",
                     "region": "city"}

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices,
                             widget=forms.Select(attrs={"data-kind-switch": "1"}))
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=100, required=False)
    code = forms.CharField(label=_("Customer code"), max_length=50, required=False,
                           help_text=_("Leave empty for a generated code."))
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=30, required=False,
                           widget=forms.TextInput(attrs={"data-kind": "organisation",
                                                         "autocapitalize": "characters"}))
    id_number = forms.CharField(label=_("Resident ID number"), max_length=30, required=False,
                                widget=forms.TextInput(attrs={"data-kind": "individual",
                                                              "autocomplete": "off"}))
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    province = forms.ChoiceField(label=_("Province"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    size = forms.ChoiceField(label=_("Size"), required=False)
    tier = forms.ChoiceField(label=_("Key-account tier"), choices=Tier.choices)
    vip_grade = forms.ChoiceField(label=_("VIP grade"), choices=VipGrade.choices,
                                  required=False)
    status = forms.ChoiceField(label=_("Lifecycle status"), choices=Status.choices)
    keep_phones = forms.MultipleChoiceField(label=_("Phones on file"), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text=_("Untick a phone to remove it."))
    new_phones = forms.CharField(label=_("Phones"), required=False,
                                 widget=forms.Textarea(attrs={**TEXTAREA_SMALL,
                                                              "inputmode": "tel"}),
                                 help_text=_("One per line; an extension as 转123 or ext. 123."))
    emails = forms.CharField(label=_("Emails"), required=False,
                             widget=forms.Textarea(attrs=TEXTAREA_SMALL),
                             help_text=_("One per line."))
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    keep_addresses = forms.MultipleChoiceField(label=_("Addresses on file"), required=False,
                                               widget=forms.CheckboxSelectMultiple,
                                               help_text=_("Untick an address to remove it."))
    consent = forms.MultipleChoiceField(label=_("Agrees to be contacted by"), required=False,
                                        choices=Channel.choices,
                                        widget=forms.CheckboxSelectMultiple)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000,
                           help_text=_("Separate tags with commas."))
    parent = forms.CharField(label=_("Parent customer"), required=False, max_length=50,
                             help_text=_("The parent's customer code, e.g. C00000012. "
                                         "Leave empty for a top-level customer."))
    owner = forms.TypedChoiceField(label=_("Account manager"), required=False, coerce=int,
                                   empty_value=None)
    org_unit = forms.TypedChoiceField(label=_("Owning unit"), required=False, coerce=int,
                                      empty_value=None,
                                      help_text=_("Empty: the account manager's unit."))
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 4}))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, creating: bool = True, may_set_code: bool = False,
                 stored_phones: list[dict[str, Any]] | None = None,
                 stored_addresses: list[dict[str, Any]] | None = None,
                 id_number_masked: str = "", users: Any = (), units: Any = (),
                 parent_locked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        set_choices(self, "industry", industry_select_choices("—"))
        set_choices(self, "province", province_choices("—"))
        province = (self.data.get("province") if self.is_bound
                    else self.initial.get("province")) or ""
        set_choices(self, "city", city_choices(str(province), "—"))
        link_region_selects(self, blank_all=False)
        set_choices(self, "size", [("", "—"), *Size.choices])
        for index in range(NEW_ADDRESS_ROWS):
            kind_field = forms.ChoiceField(label=_("Address type"), choices=AddressKind.choices,
                                           required=False)
            text_field = forms.CharField(label=_("New address") if index == 0
                                         else _("Another address"),
                                         max_length=300, required=False)
            self.fields[f"new_address_kind_{index}"] = kind_field
            self.fields[f"new_address_{index}"] = text_field
        self.stored_phones = stored_phones or []
        self.stored_addresses = stored_addresses or []
        if self.stored_phones:
            set_choices(self, "keep_phones", [
                (str(i), phone_label(p)) for i, p in enumerate(pii.mask_phone_list(
                    self.stored_phones))])
            self.fields["new_phones"].label = _("Add phones")
        else:
            del self.fields["keep_phones"]
        if self.stored_addresses:
            kinds = dict(AddressKind.choices)
            set_choices(self, "keep_addresses", [
                (str(i), f"{kinds.get(a.get('kind', ''), '')}: {a.get('text', '')}")
                for i, a in enumerate(pii.mask_address_list(self.stored_addresses))])
        else:
            del self.fields["keep_addresses"]
        if id_number_masked:
            self.fields["id_number"].help_text = _(
                "On file: %(masked)s. Leave empty to keep it.") % {"masked": id_number_masked}
        if not may_set_code:
            del self.fields["code"]
        if parent_locked:
            # The parent lies outside what the editor sees: neither shown nor changed.
            del self.fields["parent"]
        if creating:
            set_choices(self, "owner", user_choices(users, "—"))
            set_choices(self, "org_unit", unit_choices(units, blank="—"))
            del self.fields["expected_version"]
        else:
            # Status and ownership have their own actions (dated history, transfer reason).
            for name in ("status", "owner", "org_unit"):
                del self.fields[name]

    def address_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"new_address_kind_{i}"], self[f"new_address_{i}"])
                for i in range(NEW_ADDRESS_ROWS)]

    def main_fields(self) -> list[Any]:
        """Visible fields in order, without the new-address rows (rendered as pairs)."""
        return [f for f in self.visible_fields() if not f.name.startswith("new_address")]

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for ``customer_create`` / ``customer_update``."""
        data = self.cleaned_data
        out: dict[str, Any] = {
            key: data.get(key, "") for key in (
                "kind", "name", "short_name", "uscc", "industry", "size", "tier", "vip_grade",
                "website", "notes")
        }
        out["region"] = data.get("city") or data.get("province") or ""
        if "code" in self.fields and (data.get("code") or not self.creating):
            out["code"] = data.get("code") or ""
        if data.get("id_number"):  # empty on edit: keep the stored one
            out["id_number"] = data["id_number"]
        kept_phones = [self.stored_phones[int(i)] for i in data.get("keep_phones") or []
                       if int(i) < len(self.stored_phones)]
        out["phones"] = kept_phones + split_lines(data.get("new_phones", ""))
        kept_addresses = [self.stored_addresses[int(i)] for i in data.get("keep_addresses") or []
                          if int(i) < len(self.stored_addresses)]
        new_addresses = [
            {"kind": data.get(f"new_address_kind_{i}") or AddressKind.REGISTERED,
             "text": data.get(f"new_address_{i}", "")}
            for i in range(NEW_ADDRESS_ROWS) if data.get(f"new_address_{i}")]
        out["addresses"] = kept_addresses + new_addresses
        out["emails"] = [e for line in split_lines(data.get("emails", ""))
                         for e in re.split(r"[,，;；\s]+", line) if e]
        # Only the ticked channels: unticking one removes it.
        out["consent"] = dict.fromkeys(data.get("consent") or [], True)
        out["tags"] = split_tags(data.get("tags", ""))
        if self.creating:
            out["status"] = data.get("status") or Status.POTENTIAL
            out["owner_id"] = data.get("owner")
            out["org_unit_id"] = data.get("org_unit")
        return out



def customer_initial(customer: Any) -> dict[str, Any]:
    """Edit form values of a stored customer (sensitive values stay out)."""
    province, city = split_region(customer.region)
    return {
        "kind": customer.kind, "name": customer.name, "short_name": customer.short_name,
        "code": customer.code, "uscc": customer.uscc, "industry": customer.industry,
        "province": province, "city": city, "size": customer.size, "tier": customer.tier,
        "vip_grade": customer.vip_grade, "emails": "\n".join(customer.emails),
        "website": customer.website, "notes": customer.notes,
        "keep_phones": [str(i) for i in range(len(customer.phones))],
        "keep_addresses": [str(i) for i in range(len(customer.addresses))],
        "consent": [k for k, v in (customer.consent or {}).items() if v],
        "tags": ", ".join(t.name for t in customer.tags.all()),
        "parent": customer.parent.code if customer.parent_id and customer.parent else "",
        "expected_version": customer.version,
    }


class StatusForm(KehuForm):
    prefix = "status"
    autofocus = False
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300,
                             help_text=_("Required when blacklisting."))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TransferForm(KehuForm):
    prefix = "transfer"
    autofocus = False
    field_aliases = {"owner_id": "owner", "org_unit_id": "org_unit"}

    owner = forms.TypedChoiceField(label=_("New account manager"), required=False, coerce=int,
                                   empty_value=None)
    org_unit = forms.TypedChoiceField(label=_("New unit"), required=False, coerce=int,
                                      empty_value=None,
                                      help_text=_("Empty: the new account manager's unit."))
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args: Any, users: Any = (), units: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "owner", user_choices(users, "—"))
        set_choices(self, "org_unit", unit_choices(units, blank="—"))


class RevealForm(KehuForm):
    prefix = "reveal"
    autofocus = False
    field = forms.ChoiceField(choices=(("phones", _("Phones")), ("emails", _("Emails")),
                                       ("addresses", _("Addresses")),
                                       ("id_number", _("ID number"))),
                              widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why do you need to see it?"), max_length=300)
