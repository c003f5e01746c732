"""HTML pages for data stewardship: duplicates and merge, data quality, exports."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from kehu.core.views import page


@page("customers.admin")
def duplicate_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/placeholder.html", {})


@page("customers.export")
def quality_report(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/placeholder.html", {})


urlpatterns = [
    path("customers/duplicates/", duplicate_list, name="duplicate_list"),
    path("customers/quality/", quality_report, name="quality_report"),
]
