"""HTML pages for customers and contacts (list, unified view, forms, transfer, search)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from kehu.core.views import page


@page("customers.view")
def customer_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/placeholder.html", {})


@page("contacts.view")
def contact_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/placeholder.html", {})


urlpatterns = [
    path("customers/", customer_list, name="customer_list"),
    path("contacts/", contact_list, name="contact_list"),
]
