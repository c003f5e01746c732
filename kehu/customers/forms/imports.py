"""The upload form of the import wizard."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from kehu.core.forms.base import KehuForm
from kehu.customers.importing.mapping import entity_choices
from kehu.customers.models import ImportJob

# The encodings the import reads (kehu.customers.importing.files.ENCODING_CHOICES).
ENCODINGS = [("", gettext_lazy("Detect automatically")), ("utf-8", "UTF-8"),
             ("gbk", "GBK / GB18030"), ("utf-8-sig", gettext_lazy("UTF-8 with BOM")),
             ("big5", "Big5"), ("utf-16", "UTF-16")]


class UploadForm(KehuForm):
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy(
        "CSV (UTF-8 or GBK, as Excel saves it) or XLSX; the first row holds the column "
        "names."), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}))
    entity = forms.ChoiceField(label=gettext_lazy("Import"), choices=entity_choices,
                               initial=ImportJob.Entity.CUSTOMERS)
    encoding = forms.ChoiceField(label=gettext_lazy("Encoding"), choices=ENCODINGS,
                                 required=False, help_text=gettext_lazy(
                                     "Only when the detected one shows garbled text."))
