"""API: documents — list, upload (multipart), metadata, download, delete. Thin."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from kehu.core.exceptions import NotFound
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)
from kehu.documents import selectors, services
from kehu.documents.models import Document
from kehu.documents.schemas import DocumentFiltersIn, DocumentOut

router = Router(tags=["documents"])


def document_out(document: Document, target: dict[str, Any] | None) -> dict[str, Any]:
    """A document, its record shown through ``selectors.target_refs`` (a record the caller
    may not see is redacted: no name, and no id under any name)."""
    hidden = bool(target and target["redacted"])
    return {
        "id": document.pk, "target_type": document.target_type,
        "target_id": None if hidden else document.target_id, "target": target,
        # The request shapes from before any record could carry files.
        "customer_id": None, "contact_id": None, "interaction_id": None,
        **({} if hidden else selectors.ids_by_name(document)),
        "file_name": document.file_name, "content_type": document.content_type,
        "size": document.size, "sha256": document.sha256,
        "description": document.description, "is_image": document.is_image,
        "owner_id": document.owner_id, "org_unit_id": document.org_unit_id,
        "uploaded_by_id": document.uploaded_by_id, "created_at": document.created_at,
        "version": document.version,
        "download_url": f"/api/v1/documents/{document.pk}/download",
    }


def file_response(document: Document, path: Any, *, inline: bool = False) -> FileResponse:
    """The stored file with headers that stop a browser from running or sniffing it."""
    try:
        handle = path.open("rb")
    except OSError:
        raise NotFound() from None
    response = FileResponse(handle, as_attachment=not inline, filename=document.file_name,
                            content_type=document.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/documents", response=responses({200: Page[DocumentOut]}))
def document_list(request: HttpRequest, filters: Query[DocumentFiltersIn]) -> dict:
    """Documents you may see, newest first; filter by the record they are attached to
    (`target_type` and/or `target_id`, or `customer_id`, `contact_id`, `interaction_id`)."""
    qs = selectors.document_list(actor=current_user(request), target_type=filters.target_type,
                                 target_id=filters.target_id, customer_id=filters.customer_id,
                                 contact_id=filters.contact_id,
                                 interaction_id=filters.interaction_id)
    page = paginate(qs, filters)
    actor = current_user(request)
    targets = selectors.target_refs(actor, page["items"])
    page["items"] = [document_out(d, targets[d.pk]) for d in page["items"]]
    return page


@router.post("/documents", response=responses({201: DocumentOut}, 403, 507))
@idempotent()
def document_upload(request: HttpRequest, response: HttpResponse, file: File[UploadedFile],
                    target_type: Form[str | None] = None,
                    target_id: Form[DbId | None] = None,
                    customer_id: Form[DbId | None] = None,
                    contact_id: Form[DbId | None] = None,
                    interaction_id: Form[DbId | None] = None,
                    description: Form[str] = "") -> Status:
    """Upload a file (multipart: `file` and the record it is attached to — `target_type`
    (e.g. `customers.customer`) with `target_id`, or exactly one of `customer_id`,
    `contact_id`, `interaction_id`; optional `description`). Size limit
    KEHU_DOCUMENT_MAX_MB; allowed types: PDF, images (PNG, JPEG, GIF, WebP), Office files,
    text and CSV, checked by content."""
    document = services.document_upload(
        actor=current_user(request), file_name=file.name or "", chunks=file.chunks(),
        target_type=target_type, target_id=target_id, customer_id=customer_id,
        contact_id=contact_id, interaction_id=interaction_id, description=description)
    set_etag(response, document)
    return Status(201, document_out(
        document, selectors.target_refs(current_user(request), [document])[document.pk]))


@router.get("/documents/{document_id}", response=responses({200: DocumentOut}, 404))
def document_get(request: HttpRequest, document_id: DbId, response: HttpResponse) -> dict:
    document = services.document_get(actor=current_user(request), document_id=document_id)
    set_etag(response, document)
    return document_out(
        document, selectors.target_refs(current_user(request), [document])[document.pk])


@router.delete("/documents/{document_id}", response=responses({204: None}, 403, 404, 412,
                                                               428))
@needs_if_match
def document_delete(request: HttpRequest, document_id: DbId) -> Status:
    services.document_delete(actor=current_user(request), document_id=document_id,
                             expected_version=if_match(request))
    return Status(204, None)


@router.get("/documents/{document_id}/download", response=responses({200: None}, 404),
            openapi_extra={"responses": {"200": {"description": "The file, as an attachment.",
                                                 "content": {"application/octet-stream": {
                                                     "schema": {"type": "string",
                                                                "format": "binary"}}}}}})
def document_download(request: HttpRequest, document_id: DbId) -> HttpResponseBase:
    """The file as a download (`Content-Disposition: attachment`, `nosniff`)."""
    document, path = services.document_download(actor=current_user(request),
                                                 document_id=document_id)
    return file_response(document, path)


