"""Pages of documents: upload, download, image preview, delete."""

from django.urls import URLPattern, path

from kehu.documents import views

urlpatterns: list[URLPattern] = [
    path("documents/upload", views.document_upload, name="document_upload"),
    path("documents/<int:pk>/download", views.document_download, name="document_download"),
    path("documents/<int:pk>/preview", views.document_preview, name="document_preview"),
    path("documents/<int:pk>/delete", views.document_delete, name="document_delete"),
]
