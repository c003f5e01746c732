"""``{% attachments obj %}``: the documents of a customer, contact or interaction, with an
upload form for those who may add one. Owned by the documents area."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.activities.forms_documents import DocumentUploadForm
from kehu.activities.models import Interaction
from kehu.activities.selectors import documents as selectors
from kehu.core import access
from kehu.customers.models import Contact, Customer

register = template.Library()

_PARENTS: tuple[tuple[type, str], ...] = (
    (Customer, "customer"), (Contact, "contact"), (Interaction, "interaction"))


def _kind(obj: Any) -> str:
    for model, key in _PARENTS:
        if isinstance(obj, model):
            return key
    raise template.TemplateSyntaxError("attachments: expected a customer, contact or "
                                       "interaction")


@register.simple_tag
def upload_form(back: str = "", **parent: Any) -> DocumentUploadForm:
    """An empty upload form aimed at one parent (``customer=pk`` and the like)."""
    return DocumentUploadForm(initial={**parent, "next": back},
                              auto_id=f"id_doc_{'_'.join(map(str, parent.values()))}_%s")


@register.inclusion_tag("activities/documents/_attachments.html", takes_context=True)
def attachments(context: template.Context, obj: Any) -> dict[str, Any]:
    request = context.get("request")
    me = getattr(request, "user", None)
    kind = _kind(obj)
    if me is None or not access.has_perm(me, "documents.view"):
        return {"items": [], "form": None, "hidden": True}
    docs = list(selectors.document_list(actor=me, **{f"{kind}_id": obj.pk})[:50])
    back = request.get_full_path() if request is not None else ""
    form = upload_form(back, **{kind: obj.pk}) if access.has_perm(
        me, "documents.create") else None
    return {"items": selectors.document_rows(me, docs), "form": form, "back": back}
