"""Sharing a customer with a colleague, and revoking it (from its page)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.exceptions import KehuError
from kehu.core.services import shares as share_services
from kehu.core.web import page, service_error, user
from kehu.customers.models import Customer
from kehu.customers.views.customers import back_to, detail_render, share_form


@require_POST
@page("customers.change")
def customer_share(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    form = share_form(me, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            # The service loads the customer for "change": 404 for anyone who may not.
            share_services.record_share(
                actor=me, obj=Customer(pk=pk), user_id=data["user"],
                can_change=data["can_change"], reason=data["reason"],
                expires_on=data["expires_on"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Customer shared."))
            return back_to(pk, "shares")
    return detail_render(request, pk, status=422, share_form=form)


@require_POST
@page("customers.change")
def customer_unshare(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    share_services.record_unshare(actor=user(request), obj=Customer(pk=pk), user_id=user_pk)
    messages.success(request, _("Share revoked."))
    return back_to(pk, "shares")
