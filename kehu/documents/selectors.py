"""Reads of documents, always through ``Document.objects.visible_to``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from kehu.activities import documents as storage
from kehu.core import access
from kehu.core.permissions import Scope
from kehu.documents.models import Document

if TYPE_CHECKING:
    from kehu.core.models import User
    from kehu.customers.models import Customer

PANEL_LIMIT = 20


def document_list(*, actor: User, customer_id: int | None = None,
                  contact_id: int | None = None,
                  interaction_id: int | None = None) -> QuerySet[Document]:
    qs = Document.objects.visible_to(actor).select_related("uploaded_by")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if interaction_id is not None:
        qs = qs.filter(interaction_id=interaction_id)
    return qs.order_by("-created_at", "-id")


def deletable_ids(actor: User, docs: list[Document]) -> set[int]:
    """Which of ``docs`` the actor may delete: their uploader, or a manager whose delete
    right reaches beyond their own records (one query for the lot)."""
    scope = access.scope_for(actor, "documents.delete")
    if scope is None or not docs:
        return set()
    if scope == Scope.OWN:
        candidates = [d.pk for d in docs if d.owner_id == actor.pk]
    else:
        candidates = [d.pk for d in docs]
    if not candidates:
        return set()
    return set(Document.objects.visible_to(actor, "delete").filter(pk__in=candidates)
               .values_list("pk", flat=True))


def document_rows(actor: User, docs: list[Document]) -> list[dict[str, Any]]:
    deletable = deletable_ids(actor, docs)
    return [document_row(d, can_delete=d.pk in deletable) for d in docs]


def document_row(document: Document, *, can_delete: bool = False) -> dict[str, Any]:
    """One document as the pages and the customer-view panel show it (JSON-ready)."""
    uploader = document.uploaded_by
    return {
        "id": document.pk, "file_name": document.file_name,
        "content_type": document.content_type, "size": document.size,
        "description": document.description, "is_image": document.is_image,
        "uploaded_by": uploader.full_name if uploader else "",
        "created_at": document.created_at.isoformat(), "version": document.version,
        "download_url": reverse("document_download", args=[document.pk]),
        "preview_url": (reverse("document_preview", args=[document.pk])
                        if document.is_image else ""),
        "can_delete": can_delete,
        "interaction_id": document.interaction_id,
    }


def customer_panel(actor: User, customer: Customer) -> dict[str, Any]:
    """The "documents" panel: files on the customer and on its interactions, newest
    first (two queries whatever the number of files)."""
    qs = (Document.objects.visible_to(actor).select_related("uploaded_by")
          .filter(Q(customer_id=customer.pk) | Q(interaction__customer_id=customer.pk))
          .order_by("-created_at", "-id"))
    rows = list(qs[: PANEL_LIMIT + 1])
    return {
        "items": document_rows(actor, rows[:PANEL_LIMIT]),
        "more": len(rows) > PANEL_LIMIT,
        "can_upload": access.has_perm(actor, "documents.create"),
        "max_mb": storage.max_mb(),
        "allowed": [e.lstrip(".") for e in storage.allowed_extensions()],
    }
