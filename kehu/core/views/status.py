"""The installation status page: for the operator (KEHU_OPERATOR_EMAILS), not tenants."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from kehu.core import access, health, metrics
from kehu.core.web import page, user


@never_cache
@page()
def installation_status(request: HttpRequest) -> HttpResponse:
    # Not found rather than forbidden: tenants' users need not learn the page exists.
    if not access.is_operator(user(request)):
        raise Http404
    facts = health.status()
    facts["slowest"] = metrics.slowest_routes()
    return render(request, "core/status/installation_status.html", facts)
