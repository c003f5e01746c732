"""The home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kehu.core import access, selectors
from kehu.core.web import page, user


@page()
def home(request: HttpRequest) -> HttpResponse:
    me = user(request)
    counts = {}
    if access.has_perm(me, "org.view"):
        counts["units"] = selectors.org_unit_list(actor=me).count()
    if access.has_perm(me, "users.view"):
        counts["users"] = selectors.user_list(actor=me).count()
    return render(request, "core/home/home.html", {
        "my_roles": list(me.roles.all()), "counts": counts,
    })

