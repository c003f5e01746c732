"""The search page and the header box's live results."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from kehu.core import pii
from kehu.core.models import User
from kehu.core.web import page, user
from kehu.customers.selectors import search

LIVE_RESULTS = 6
SEARCH_RESULTS = 50


def _search_rows(me: User, q: str, limit: int) -> dict[str, Any]:
    found = search.search(me, q, limit) if q.strip() else {"customers": [], "contacts": []}
    return {
        "customers": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["customers"]],
        "contacts": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["contacts"]],
    }


@page()
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/search/page.html",
                  {"q": q, **_search_rows(user(request), q, SEARCH_RESULTS)})


@page()
def search_live(request: HttpRequest) -> HttpResponse:
    """The header box's dropdown: a few of each, and a link to all results."""
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/search/_live.html", {
        "q": q, "more_url": reverse("search") + "?" + urlencode({"q": q}),
        **_search_rows(user(request), q, LIVE_RESULTS)})
