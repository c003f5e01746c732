"""Saving and deleting views (filters) of the customer list."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.exceptions import KehuError
from kehu.core.web import page, user
from kehu.customers.forms import saved_views as saved_view_forms
from kehu.customers.services import saved_views as saved_view_services
from kehu.customers.views.common import error_lines


@require_POST
@page("customers.view")
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = saved_view_forms.SavedViewForm(request.POST)
    query = request.POST.get("query", "")[:2000]
    back = reverse("customer_list") + (f"?{query}" if query else "")
    if form.is_valid():
        try:
            view = saved_view_services.saved_view_save(actor=user(request),
                                                       name=form.cleaned_data["name"], query=query)
        except KehuError as exc:
            for line in error_lines(exc):
                messages.error(request, line)
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    else:
        messages.error(request, _("Give the view a name."))
    return redirect(back)


@require_POST
@page("customers.view")
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved_view_services.saved_view_delete(actor=user(request), view_id=pk)
    messages.success(request, _("View deleted."))
    return redirect("customer_list")
