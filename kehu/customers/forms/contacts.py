"""HTML forms of contacts: parse and shape input; the services validate. Phones are never
put back into a form in clear (see ``forms.customers``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core import pii
from kehu.core.forms.base import KehuForm, set_choices
from kehu.customers.forms.common import TEXTAREA_SMALL, phone_label, split_lines, split_tags
from kehu.customers.models import Channel, DecisionRole


class ContactRevealForm(KehuForm):
    prefix = "reveal"
    autofocus = False
    reason = forms.CharField(label=_("Why do you need to see it?"), max_length=300)




class ContactForm(KehuForm):
    """A contact; with ``link`` (creating from a customer) also their place there."""

    field_aliases = {"phones": "new_phones"}

    name = forms.CharField(label=_("Name"), max_length=100)
    gender = forms.ChoiceField(label=_("Gender"), required=False,
                               choices=(("", "—"), ("male", _("Male")), ("female", _("Female"))))
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    decision_role = forms.ChoiceField(label=_("Role in decisions"), required=False,
                                      choices=[("", "—"), *DecisionRole.choices])
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    keep_phones = forms.MultipleChoiceField(label=_("Phones on file"), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text=_("Untick a phone to remove it."))
    new_phones = forms.CharField(label=_("Phones"), required=False,
                                 widget=forms.Textarea(attrs={**TEXTAREA_SMALL,
                                                              "inputmode": "tel"}),
                                 help_text=_("One per line."))
    email = forms.CharField(label=_("Email"), max_length=254, required=False,
                            widget=forms.EmailInput)
    wechat = forms.CharField(label=_("WeChat"), max_length=100, required=False)
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), required=False,
                                          choices=[("", "—"), *Channel.choices])
    birthday = forms.CharField(label=_("Birthday"), required=False, max_length=20,
                               widget=forms.DateInput(attrs={"type": "date"}))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000,
                           help_text=_("Separate tags with commas."))
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs=TEXTAREA_SMALL))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, link: bool = False, creating: bool = True,
                 stored_phones: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link = link
        self.creating = creating
        if not link:
            for name in ("title", "department", "decision_role", "is_primary"):
                del self.fields[name]
        self.stored_phones = stored_phones or []
        if self.stored_phones:
            set_choices(self, "keep_phones", [
                (str(i), phone_label(p))
                for i, p in enumerate(pii.mask_phone_list(self.stored_phones))])
            self.fields["new_phones"].label = _("Add phones")
        else:
            del self.fields["keep_phones"]
        if creating:
            del self.fields["expected_version"]

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {key: data.get(key, "") for key in (
            "name", "gender", "email", "wechat", "preferred_channel", "notes")}
        out["birthday"] = data.get("birthday") or None
        kept = [self.stored_phones[int(i)] for i in data.get("keep_phones") or []
                if int(i) < len(self.stored_phones)]
        out["phones"] = kept + split_lines(data.get("new_phones", ""))
        out["tags"] = split_tags(data.get("tags", ""))
        return out

    def link_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {key: data.get(key) for key in ("title", "department", "decision_role",
                                               "is_primary") if key in self.fields}


def contact_initial(contact: Any) -> dict[str, Any]:
    return {
        "name": contact.name, "gender": contact.gender, "email": contact.email,
        "wechat": contact.wechat, "preferred_channel": contact.preferred_channel,
        "birthday": contact.birthday.isoformat() if contact.birthday else "",
        "notes": contact.notes, "tags": ", ".join(t.name for t in contact.tags.all()),
        "keep_phones": [str(i) for i in range(len(contact.phones))],
        "expected_version": contact.version,
    }


class ContactLinkForm(KehuForm):
    prefix = "link"
    autofocus = False
    field_aliases = {"customer_id": "customer"}
    customer = forms.CharField(label=_("Customer code"), max_length=50)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    decision_role = forms.ChoiceField(label=_("Role in decisions"), required=False,
                                      choices=[("", "—"), *DecisionRole.choices])
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
