"""Forms of documents: parse the upload; the service checks target, size and type."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms.base import KehuForm
from kehu.documents import registry, storage


class DocumentUploadForm(KehuForm):
    """The file, its description, and the record it goes on: ``target_type`` +
    ``target_id``, or a hidden field per registered target named by its short name
    (``customer``, ``contact``, ``interaction``…)."""

    autofocus = False

    file = forms.FileField(label=_("File"), allow_empty_file=True,
                           error_messages={"required": _("Choose a file.")})
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    target_type = forms.CharField(required=False, widget=forms.HiddenInput, max_length=50)
    target_id = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = target_names()
        for name in names:
            self.fields[name] = forms.IntegerField(required=False, widget=forms.HiddenInput,
                                                   min_value=1)
        # Every error about the target is shown next to the file.
        self.field_aliases = {"parent": "file", "target_type": "file", "target_id": "file",
                              **{f"{name}_id": "file" for name in names}}
        self.fields["file"].help_text = _(
            "At most %(mb)d MB. Allowed: %(types)s.") % {
            "mb": storage.max_mb(),
            "types": ", ".join(e.lstrip(".") for e in storage.allowed_extensions())}
        self.fields["file"].widget.attrs["accept"] = ",".join(storage.allowed_extensions())

    def target_args(self) -> dict[str, Any]:
        """The target as the upload service takes it."""
        data = self.cleaned_data
        return {"target_type": data.get("target_type") or None,
                "target_id": data.get("target_id"),
                **{f"{name}_id": data.get(name) for name in target_names()}}


def target_names() -> list[str]:
    """The short names of the registered targets (the form's hidden fields)."""
    return [target.name for target in registry.TARGETS.values()]
