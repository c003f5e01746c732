"""Adding and removing a customer's relationships and external ids (from its page)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core.exceptions import KehuError
from kehu.core.web import page, service_error, user
from kehu.customers.forms import relationships as relationship_forms
from kehu.customers.services import relationships as relationship_services
from kehu.customers.views.common import chosen_customer
from kehu.customers.views.customers import back_to, detail_render


@require_POST
@page("customers.change")
def relationship_add(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    form = relationship_forms.RelationshipForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            target_id = chosen_customer(me, data["target"], "target_id")
            relationship_services.relationship_add(actor=me, source_id=pk, target_id=target_id or 0,
                                                   kind=data["kind"], note=data["note"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Relationship added."))
            return back_to(pk, "relationships")
    return detail_render(request, pk, status=422, relationship_form=form)


@require_POST
@page("customers.change")
def relationship_remove(request: HttpRequest, pk: int, rel_pk: int) -> HttpResponse:
    # The service checks the relationship belongs to this customer and may be changed.
    relationship_services.relationship_remove(actor=user(request), relationship_id=rel_pk,
                                              customer_id=pk)
    messages.success(request, _("Relationship removed."))
    return back_to(pk, "relationships")


@require_POST
@page("customers.change")
def external_id_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = relationship_forms.ExternalIdForm(request.POST)
    if form.is_valid():
        try:
            relationship_services.external_id_add(actor=user(request), customer_id=pk,
                                                  system=form.cleaned_data["system"],
                                                  external_id=form.cleaned_data["external_id"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("External id attached."))
            return back_to(pk, "external-ids")
    return detail_render(request, pk, status=422, external_form=form)


@require_POST
@page("customers.change")
def external_id_remove(request: HttpRequest, pk: int, ext_pk: int) -> HttpResponse:
    relationship_services.external_id_remove(actor=user(request), external_id_pk=ext_pk,
                                             customer_id=pk)
    messages.success(request, _("External id removed."))
    return back_to(pk, "external-ids")
