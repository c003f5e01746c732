"""Documents: upload, download (audited), delete and retarget of files attached to one
registered record (kehu.documents.registry). The bytes are handled by
``kehu.documents.storage``."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import Forbidden, ValidationFailed
from kehu.core.permissions import Scope
from kehu.core.versions import check_version
from kehu.documents import registry, storage
from kehu.documents.models import Document

if TYPE_CHECKING:
    from kehu.core.models import User


def _target(actor: User, target_type: str | None, target_id: int | None,
            named_ids: dict[str, int | None]) -> tuple[registry.AttachmentTarget, Any]:
    """The one record the document hangs on; the actor must be able to see it.

    Given either as ``target_type`` + ``target_id`` or by a target's short name
    (``customer_id=…``, see kehu.documents.registry); exactly one must be given.
    """
    given: list[tuple[str, registry.AttachmentTarget | None, int | None]] = []
    for field, pk in named_ids.items():
        try:
            if not field.endswith("_id"):
                raise LookupError(field)
            found = registry.by_name(field.removesuffix("_id"))
        except LookupError:
            raise TypeError(f"unexpected argument {field!r}: not a target's name") from None
        if pk is not None:
            given.append((field, found, pk))
    if target_type or target_id is not None:
        known = registry.TARGETS.get(target_type or "")
        given.append(("target_id" if known else "target_type", known, target_id))
    if len(given) != 1:
        message = _("Attach the file to exactly one customer, contact or interaction.")
        raise ValidationFailed(message, fields={"parent": [message]})
    field, target, pk = given[0]
    record = (target.attachable_to(actor).filter(pk=pk).first()
              if target is not None and pk is not None else None)
    if target is None or record is None:
        message = str(target.choose_message if target is not None else _(
            "Choose a record you can see."))
        raise ValidationFailed(fields={field: [message]})
    return target, record


def document_upload(*, actor: User, file_name: str, chunks: Iterable[bytes],
                    target_type: str | None = None, target_id: int | None = None,
                    description: str = "", **named_ids: int | None) -> Document:
    """Store a file on one record the actor can see (``target_type`` + ``target_id``, or
    ``<name>_id=`` of a registered target such as ``customer_id``). Refused uploads
    leave no file."""
    access.require(actor, "documents.create")
    target, record = _target(actor, target_type, target_id, named_ids)
    name = storage.clean_file_name(file_name or "")
    if not name:
        raise ValidationFailed(fields={"file": [_("Choose a file.")]})
    description = (description or "").strip()
    if len(description) > 300:
        raise ValidationFailed(fields={"description": [
            _("At most %(max_length)s characters.") % {"max_length": 300}]})
    stored = storage.save(tenant_id=actor.tenant_id, file_name=name, chunks=chunks)
    try:
        with transaction.atomic():
            document = Document.objects.create(
                tenant_id=actor.tenant_id, org_unit_id=actor.org_unit_id, owner=actor,
                file_name=name, content_type=stored.content_type, size=stored.size,
                sha256=stored.sha256, storage_name=stored.storage_name,
                description=description, uploaded_by=actor, target_type=target.key,
                target_id=record.pk)
            access.ensure_still_visible(document, actor)
            audit.record(actor=actor, action="document.upload", obj=document, changes={
                "file_name": [None, name], "size": [None, stored.size],
                "content_type": [None, stored.content_type]})
    except BaseException:
        storage.remove(actor.tenant_id, stored.storage_name)
        raise
    return document


def document_get(*, actor: User, document_id: int) -> Document:
    return access.get_for(Document, actor, document_id)


@transaction.atomic
def document_download(*, actor: User, document_id: int) -> tuple[Document, Path]:
    """The document and its file for a download; the access is audited."""
    document = access.get_for(Document, actor, document_id)
    path = storage.stored_path(document.tenant_id, document.storage_name)
    audit.record(actor=actor, action="document.download", obj=document)
    return document, path


def document_preview(*, actor: User, document_id: int) -> tuple[Document, Path] | None:
    """An image's file for inline display (not audited: thumbnails load with the page);
    None for anything that is not a previewable image."""
    document = access.get_for(Document, actor, document_id)
    if document.content_type not in storage.PREVIEWABLE_TYPES:
        return None
    return document, storage.stored_path(document.tenant_id, document.storage_name)


def may_delete(actor: User, document: Document) -> bool:
    """Its uploader, or a manager whose delete right reaches beyond their own records."""
    if not access.allows(actor, document, "delete"):
        return False
    return document.owner_id == actor.pk or access.scope_for(
        actor, "documents.delete") != Scope.OWN


@transaction.atomic
def document_delete(*, actor: User, document_id: int,
                    expected_version: int | None = None) -> None:
    access.require(actor, "documents.delete")
    document = access.get_for(Document, actor, document_id, "delete", for_update=True)
    if not may_delete(actor, document):
        raise Forbidden(_("Only the person who uploaded a document or a manager may "
                          "delete it."))
    check_version(document, expected_version)
    tenant_id, storage_name = document.tenant_id, document.storage_name
    audit.record(actor=actor, action="document.delete", obj=document,
                 changes={"file_name": [document.file_name, None]})
    document.delete()
    # The file goes only once the row is gone for good.
    transaction.on_commit(lambda: storage.remove(tenant_id, storage_name))


def documents_retarget(*, tenant_id: int, target_type: str, from_id: int, to_id: int) -> int:
    """Move every document of one record to another of the same type (a customer merge
    moves the loser's files to the survivor; the merge audits the move). The count."""
    registry.target(target_type)
    return Document.objects.filter(tenant_id=tenant_id, target_type=target_type,
                                   target_id=from_id).update(target_id=to_id)


def documents_erase(*, tenant_id: int, target_type: str, target_id: int) -> list[int]:
    """Delete every document of one record and, once committed, its files: a person's
    data erased (the caller checked the right and audits; kehu.customers privacy). The
    documents' own audit rows are masked. The ids deleted."""
    registry.target(target_type)
    docs = list(Document.objects.filter(tenant_id=tenant_id, target_type=target_type,
                                        target_id=target_id).values_list("pk", "storage_name"))
    for pk, storage_name in docs:
        audit.mask_subject(tenant_id=tenant_id, object_type="document", object_id=pk,
                           label=f"#{pk}")
        transaction.on_commit(functools.partial(storage.remove, tenant_id, storage_name))
    Document.objects.filter(pk__in=[pk for pk, _name in docs]).delete()
    return [pk for pk, _name in docs]


def documents_of(*, tenant_id: int, target_type: str, target_id: int) -> list[Document]:
    """Every document of one record, whoever uploaded it (a personal-data export)."""
    return list(Document.objects.filter(tenant_id=tenant_id, target_type=target_type,
                                        target_id=target_id).order_by("pk"))
