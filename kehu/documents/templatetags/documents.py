"""``{% attachments obj %}``: the documents of any registered record (a customer, contact,
interaction…), with an upload form for those who may add one; ``{% upload_form %}``: an
empty upload form aimed at one record."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.core import access
from kehu.documents import registry, selectors
from kehu.documents.forms import DocumentUploadForm

register = template.Library()


def _target(obj: Any) -> registry.AttachmentTarget:
    try:
        return registry.target(registry.target_key(obj))
    except LookupError:
        raise template.TemplateSyntaxError(
            "attachments: expected a record of a registered attachment target") from None


@register.simple_tag
def upload_form(back: str = "", target: Any = None, **parent: Any) -> DocumentUploadForm:
    """An empty upload form aimed at one record: ``target=obj``, or its target's name
    and id (``customer=pk``)."""
    if target is not None:
        parent = {_target(target).name: target.pk}
    return DocumentUploadForm(initial={**parent, "next": back},
                              auto_id=f"id_doc_{'_'.join(map(str, parent.values()))}_%s")


@register.inclusion_tag("documents/_attachments.html", takes_context=True)
def attachments(context: template.Context, obj: Any) -> dict[str, Any]:
    request = context.get("request")
    me = getattr(request, "user", None)
    target = _target(obj)
    if me is None or not access.has_perm(me, "documents.view"):
        return {"items": [], "form": None, "hidden": True}
    docs = list(selectors.document_list(actor=me, target_type=target.key,
                                        target_id=obj.pk)[:50])
    back = request.get_full_path() if request is not None else ""
    form = upload_form(back, **{target.name: obj.pk}) if access.has_perm(
        me, "documents.create") else None
    return {"items": selectors.document_rows(me, docs), "form": form, "back": back}
