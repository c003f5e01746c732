"""Forms of documents: parse the upload; the service checks parent, size and type."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.activities import documents as storage
from kehu.core.forms import KehuForm


class DocumentUploadForm(KehuForm):
    autofocus = False
    field_aliases = {"customer_id": "file", "contact_id": "file", "interaction_id": "file",
                     "parent": "file"}

    file = forms.FileField(label=_("File"), allow_empty_file=True,
                           error_messages={"required": _("Choose a file.")})
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    interaction = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "At most %(mb)d MB. Allowed: %(types)s.") % {
            "mb": storage.max_mb(),
            "types": ", ".join(e.lstrip(".") for e in storage.allowed_extensions())}
        self.fields["file"].widget.attrs["accept"] = ",".join(storage.allowed_extensions())

    def parent_ids(self) -> dict[str, int | None]:
        data = self.cleaned_data
        return {"customer_id": data.get("customer"), "contact_id": data.get("contact"),
                "interaction_id": data.get("interaction")}
