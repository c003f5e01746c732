"""HTML pages of the import wizard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from kehu.core.views import page


@page("imports.view")
def import_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/placeholder.html", {})


urlpatterns = [
    path("imports/", import_list, name="import_list"),
]
