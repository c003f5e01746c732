"""Documents: upload, download (audited) and delete of files attached to one customer,
contact or interaction. The bytes are handled by ``kehu.activities.documents``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.activities import documents as storage
from kehu.activities.models import Interaction
from kehu.core import access, audit
from kehu.core.exceptions import Forbidden, ValidationFailed
from kehu.core.permissions import Scope
from kehu.core.versions import check_version
from kehu.customers.models import Contact, Customer
from kehu.documents.models import Document

if TYPE_CHECKING:
    from kehu.core.models import User

PARENT_FIELDS = ("customer_id", "contact_id", "interaction_id")


def _parent(actor: User, customer_id: int | None, contact_id: int | None,
            interaction_id: int | None) -> dict[str, Any]:
    """The one parent the document hangs on; it must be visible to the actor."""
    given = {name: value for name, value in zip(
        PARENT_FIELDS, (customer_id, contact_id, interaction_id), strict=True)
        if value is not None}
    if len(given) != 1:
        message = _("Attach the file to exactly one customer, contact or interaction.")
        raise ValidationFailed(message, fields={"parent": [message]})
    name, pk = next(iter(given.items()))
    if name == "customer_id":
        found: Any = Customer.objects.visible_to(actor).filter(
            pk=pk, merged_into__isnull=True).first()
        message = _("Choose a customer you can see.")
    elif name == "contact_id":
        found = Contact.objects.visible_to(actor).filter(pk=pk).first()
        message = _("Choose a contact you can see.")
    else:
        found = Interaction.objects.visible_to(actor).filter(pk=pk).first()
        message = _("Choose an interaction you can see.")
    if found is None:
        raise ValidationFailed(fields={name: [message]})
    return {name.removesuffix("_id"): found}


def document_upload(*, actor: User, file_name: str, chunks: Iterable[bytes],
                    customer_id: int | None = None, contact_id: int | None = None,
                    interaction_id: int | None = None, description: str = "") -> Document:
    """Store a file on one parent the actor can see. Refused uploads leave no file."""
    access.require(actor, "documents.create")
    parent = _parent(actor, customer_id, contact_id, interaction_id)
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
                description=description, uploaded_by=actor, **parent)
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
