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


def counted(count: int, capped: bool) -> str:
    """A capped count as people read it: 1,000+."""
    return f"{count:,}+" if capped else f"{count:,}"


def _search_rows(me: User, q: str, limit: int, *, count: bool) -> dict[str, Any]:
    if not q.strip():
        return {"customers": [], "contacts": []}
    found = search.search(me, q, limit, counted=count)
    rows: dict[str, Any] = {
        "customers": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["customers"]],
        "contacts": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["contacts"]],
    }
    if count:
        for key in ("customers", "contacts"):
            rows[f"{key}_count"] = counted(found[f"{key}_count"], found[f"{key}_count_capped"])
    return rows


@page()
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/search/page.html",
                  {"q": q, **_search_rows(user(request), q, SEARCH_RESULTS, count=True)})


@page()
def search_live(request: HttpRequest) -> HttpResponse:
    """The header box's dropdown: a few of each, and a link to all results."""
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/search/_live.html", {
        "q": q, "more_url": reverse("search") + "?" + urlencode({"q": q}),
        **_search_rows(user(request), q, LIVE_RESULTS, count=False)})
