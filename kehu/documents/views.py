"""Pages: documents — upload (form post), download, image preview, delete.

Files are served only here and by the API, after the access check, as downloads with
``nosniff`` and a sandboxing CSP; images alone are shown inline (thumbnails, preview).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.redirects import next_url
from kehu.core.web import page, service_error, user
from kehu.documents import services
from kehu.documents.api import file_response
from kehu.documents.forms import DocumentUploadForm, target_names


@page("documents.create")
def document_upload(request: HttpRequest) -> HttpResponse:
    """The upload form (GET with ?target_type=&target_id=, or a target's name such as
    ?customer=), or the upload itself; errors come back on this page next to the
    fields."""
    me = user(request)
    if request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                services.document_upload(
                    actor=me, file_name=upload.name or "", chunks=upload.chunks(),
                    description=form.cleaned_data["description"], **form.target_args())
            except ValidationFailed as exc:
                form.add_service_error(exc)
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                messages.success(request, _("Document uploaded."))
                return redirect(next_url(request, reverse("home")))
        status = 422
    else:
        form = DocumentUploadForm(initial={
            key: request.GET.get(key)
            for key in (*target_names(), "target_type", "target_id")
            if request.GET.get(key)} | {"next": next_url(request, "")})
        status = 200
    return render(request, "documents/upload.html", {"form": form, "back": next_url(request, "")},
                  status=status)


@require_GET
@page("documents.view")
def document_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    document, file_path = services.document_download(actor=user(request), document_id=pk)
    return file_response(document, file_path)


@require_GET
@page("documents.view")
def document_preview(request: HttpRequest, pk: int) -> HttpResponseBase:
    found = services.document_preview(actor=user(request), document_id=pk)
    if found is None:
        raise Http404
    document, file_path = found
    return file_response(document, file_path, inline=True)


@require_POST
@page("documents.delete")
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    back = next_url(request, reverse("home"))
    try:
        version = int(request.POST.get("expected_version") or 0) or None
        services.document_delete(actor=me, document_id=pk, expected_version=version)
    except ValueError:
        raise Http404 from None
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Document deleted."))
    return redirect(back)

