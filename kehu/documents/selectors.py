"""Reads of documents, always through ``Document.objects.visible_to`` — except the two
integrity reads (``attached_count``, ``has_documents``) that other apps run on records
the reader already may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from kehu.core import access, references
from kehu.core.permissions import Scope
from kehu.documents import registry, storage
from kehu.documents.models import Document

if TYPE_CHECKING:
    from django.db.models import Model

    from kehu.core.models import User

PANEL_LIMIT = 20


def document_list(*, actor: User, target_type: str | None = None,
                  target_id: int | None = None,
                  **named_ids: int | None) -> QuerySet[Document]:
    """Documents the actor may see, newest first; optionally those of one target type,
    one record (``target_type`` + ``target_id``), or one record by its target's name
    (``customer_id=…``). Several filters must all hold."""
    qs = Document.objects.visible_to(actor).select_related("uploaded_by")
    if target_type is not None:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    for field, pk in named_ids.items():
        key = registry.by_name(field.removesuffix("_id")).key
        if pk is not None:
            qs = qs.filter(target_type=key, target_id=pk)
    return qs.order_by("-created_at", "-id")


def attached_count(target_type: str) -> Coalesce:
    """An annotation: how many files are attached to each row of a queryset of
    ``target_type`` records (``.annotate(document_count=attached_count(key))``).

    Correlated per row shown: a join + GROUP BY would aggregate every matching record
    before the page's LIMIT (measured: 27 ms for 1,000 interactions at scale M). It
    counts every file of the record, as the listing shows records the reader may see.
    """
    return Coalesce(Subquery(
        Document.objects.filter(tenant_id=OuterRef("tenant_id"), target_type=target_type,
                                target_id=OuterRef("pk")).order_by()
        .values("target_id").annotate(n=Count("id")).values("n")[:1],
        output_field=IntegerField()), 0)


def counts_for(*, actor: User, target_type: str, ids: Iterable[int]) -> dict[int, int]:
    """How many files the actor may see on each of these records (one query)."""
    rows = (Document.objects.visible_to(actor)
            .filter(target_type=target_type, target_id__in=list(ids)).order_by()
            .values_list("target_id").annotate(n=Count("id")))
    return {int(pk): int(n) for pk, n in rows}


def has_documents(*, target_type: str, target_id: int) -> bool:
    """Whether any file hangs on this record, whoever may see it (a record with files
    is not deleted before they are)."""
    return Document.objects.filter(target_type=target_type, target_id=target_id).exists()


def count_on(*, target_type: str, target_id: int) -> int:
    """How many files hang on this record, whoever may see them (what a merge moves)."""
    return Document.objects.filter(target_type=target_type, target_id=target_id).count()


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


def target_refs(actor: User, documents: Iterable[Document]) -> dict[int, dict[str, Any] | None]:
    """Each document's record as ``actor`` may see it (kehu.core.references: named, or
    redacted when a file they may see hangs on a record they may not), by document id;
    None when the record is gone. Two queries per target type, whatever the number."""
    documents = list(documents)
    found: dict[tuple[str, int], Any] = {}
    for key in {d.target_type for d in documents}:
        try:
            model: Any = registry.target(key).model
        except LookupError:
            continue
        ids = {d.target_id for d in documents if d.target_type == key}
        records = list(model.objects.filter(tenant_id=actor.tenant_id, pk__in=ids))
        references.prime_objects(actor, records)
        found.update({(key, r.pk): r for r in records})
    return {d.pk: references.ref(actor, found.get((d.target_type, d.target_id)))
            for d in documents}


def ids_by_name(document: Document) -> dict[str, int | None]:
    """``{"customer_id": …, "contact_id": …, …}``: the document's record under its
    target's name, None under the others (the shape from before targets were generic)."""
    return {f"{t.name}_id": document.target_id if t.key == document.target_type else None
            for t in registry.TARGETS.values()}


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
        "target_type": document.target_type, "target_id": document.target_id,
        **ids_by_name(document),
    }


def _on_record_q(record: Model) -> Q:
    """Files on ``record`` and on the records that roll up to it (registry
    ``rolls_up_to``: a customer's interactions)."""
    key = registry.target_key(record)
    condition = Q(target_type=key, target_id=record.pk)
    for target in registry.TARGETS.values():
        field = target.rolls_up_to.get(key)
        if field:
            model: Any = target.model
            children = model.objects.filter(
                tenant_id=getattr(record, "tenant_id", None), **{field: record.pk}
            ).values("pk")
            condition |= Q(target_type=target.key, target_id__in=children)
    return condition


def panel_for(actor: User, record: Model) -> dict[str, Any]:
    """The "documents" panel of a record's page: files on the record and on the records
    that roll up to it, newest first (two queries whatever the number of files)."""
    qs = (Document.objects.visible_to(actor).select_related("uploaded_by")
          .filter(_on_record_q(record)).order_by("-created_at", "-id"))
    rows = list(qs[: PANEL_LIMIT + 1])
    return {
        "items": document_rows(actor, rows[:PANEL_LIMIT]),
        "more": len(rows) > PANEL_LIMIT,
        "can_upload": access.has_perm(actor, "documents.create"),
        "max_mb": storage.max_mb(),
        "allowed": [e.lstrip(".") for e in storage.allowed_extensions()],
    }
