"""Pages: interactions, the customer timeline and the import (see urls.py). Thin: forms
parse, services write, selectors read. Every action is a plain form post that redirects;
the customer timeline pages and filters in place with htmx."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.activities.forms import interactions as f
from kehu.activities.models import Interaction
from kehu.activities.selectors import interactions as selectors
from kehu.activities.services import interaction_imports
from kehu.activities.services import interactions as services
from kehu.core import access, references
from kehu.core.exceptions import KehuError, NotFound
from kehu.core.http import MAX_ID, MAX_LIMIT
from kehu.core.models import User
from kehu.core.web import is_htmx, page, service_error
from kehu.customers.selectors import contacts as contact_selectors
from kehu.customers.selectors import customers as customer_selectors

if TYPE_CHECKING:
    from kehu.customers.models import Customer

PER_PAGE = 25


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def customer_or_404(me: User, pk: Any) -> Customer:
    """The live customer ``pk`` that ``me`` may see; 404 otherwise."""
    try:
        return customer_selectors.customer_get(actor=me, customer_id=int(pk))
    except (TypeError, ValueError, NotFound):
        raise Http404 from None


def _users(me: User) -> list[User]:
    return list(User.objects.filter(tenant_id=me.tenant_id, is_active=True)
                .order_by("full_name", "id")[:500])


def query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@page("interactions.view")
def interaction_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = f.InteractionFilterForm(request.GET or None)
    filters = selectors.InteractionFilters.from_mapping(request.GET)
    qs = selectors.with_details(selectors.interaction_list(actor=me, filters=filters))
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    references.prime_objects(me, (i.customer for i in page_obj.object_list))
    return render(request, "activities/interactions/list.html", {
        "form": form, "page_obj": page_obj, "query": query_without(request, "page"),
        "filtered": any(request.GET.get(k) for k in ("q", "kind", "start", "end",
                                                     "customer_id", "owner_id")),
        "may_create": access.has_perm(me, "interactions.create"),
    })


@page("interactions.view")
def interaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    try:
        interaction = selectors.interaction_get(actor=me, interaction_id=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "activities/interactions/detail.html", {
        "interaction": interaction,
        "may_change": access.allows(me, interaction, "change"),
        "may_delete": access.allows(me, interaction, "delete"),
        "fulfils": list(interaction.fulfilled_followups.all()[:10]),
    })


def _form_page(request: HttpRequest, form: f.InteractionForm, customer: Customer,
               interaction: Interaction | None, status: int = 200) -> HttpResponse:
    return render(request, "activities/interactions/form.html", {
        "form": form, "customer": customer, "interaction": interaction,
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }, status=status)


@never_cache
@page("interactions.create")
def interaction_create(request: HttpRequest) -> HttpResponse:
    """From the customer page (``?customer=``) or a contact's (``?contact=``, whose
    customer is chosen and who is ticked)."""
    me = _me(request)
    source = request.POST if request.method == "POST" else request.GET
    initial: dict[str, Any] = {"occurred_at": timezone.localtime().replace(second=0,
                                                                         microsecond=0)}
    customer_pk = source.get("customer")
    contact_pk = source.get("contact")
    if contact_pk and not customer_pk:
        try:
            contact = contact_selectors.contact_get(actor=me, contact_id=int(contact_pk))
        except (ValueError, NotFound):
            raise Http404 from None
        primary_id = contact_selectors.primary_customer_id(contact=contact)
        if primary_id is None:
            raise Http404
        customer_pk = str(primary_id)
    customer = customer_or_404(me, customer_pk)
    if contact_pk:
        with contextlib.suppress(ValueError):
            initial["contacts"] = [int(contact_pk)]
    options: dict[str, Any] = {
        "contacts": contact_selectors.contacts_of(actor=me, customer=customer),
        "users": _users(me)}
    if request.method != "POST":
        return _form_page(request, f.InteractionForm(initial=initial, **options), customer,
                          None)
    form = f.InteractionForm(request.POST, **options)
    if form.is_valid():
        try:
            interaction = services.interaction_create(actor=me, customer_id=customer.pk,
                                                      **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Interaction recorded."))
            if request.POST.get("next") == "detail":
                return redirect("interaction_detail", pk=interaction.pk)
            return redirect(reverse("customer_detail", args=[customer.pk])
                            + "#panel-interactions")
    return _form_page(request, form, customer, None, status=422)


@never_cache
@page("interactions.change")
def interaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    try:
        interaction = access.get_for(Interaction, me, pk, "change")
    except NotFound:
        raise Http404 from None
    customer = interaction.customer
    options: dict[str, Any] = {
        "contacts": contact_selectors.contacts_of(actor=me, customer=customer),
        "users": _users(me)}
    initial = {
        "kind": interaction.kind, "occurred_at": timezone.localtime(interaction.occurred_at),
        "subject": interaction.subject, "content": interaction.content,
        "direction": interaction.direction, "channel": interaction.channel,
        "duration_minutes": interaction.duration_minutes, "outcome": interaction.outcome,
        "next_step": interaction.next_step,
        "contacts": [c.pk for c in interaction.contacts.all()],
        "participants": [u.pk for u in interaction.participants.all()],
    }
    if request.method != "POST":
        return _form_page(request, f.InteractionForm(initial=initial, **options), customer,
                          interaction)
    form = f.InteractionForm(request.POST, initial=initial, **options)
    if form.is_valid():
        try:
            services.interaction_update(actor=me, interaction_id=pk, **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("interaction_detail", pk=pk)
    return _form_page(request, form, customer, interaction, status=422)


@require_POST
@page("interactions.delete")
def interaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    try:
        interaction = access.get_for(Interaction, me, pk, "delete")
        customer_id = interaction.customer_id
        back = (reverse("customer_detail", args=[customer_id]) + "#panel-interactions"
                if references.is_visible(me, interaction.customer)
                else reverse("interaction_list"))
        services.interaction_delete(actor=me, interaction_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("interaction_detail", pk=pk)
    messages.success(request, _("Interaction deleted."))
    return redirect(back)


@page("interactions.view")
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline panel's body: one page, optionally of one type (htmx partial)."""
    me = _me(request)
    customer = customer_or_404(me, customer_id)
    try:
        offset = min(max(0, int(request.GET.get("offset") or 0)), MAX_ID - MAX_LIMIT)
    except ValueError:
        offset = 0
    data = selectors.customer_timeline(actor=me, customer=customer,
                                       kind=request.GET.get("kind", ""), offset=offset)
    # Without htmx (no JavaScript) the same timeline comes as a whole page.
    template = "activities/interactions/_timeline.html" if is_htmx(request) \
        else "activities/interactions/timeline_page.html"
    return render(request, template, {"data": data, "customer": customer})


@page("interactions.create")
def interaction_import(request: HttpRequest) -> HttpResponse:
    """Interactions import through the import wizard (mapping, dry run, worker, report)."""
    return redirect(f"{reverse('import_list')}?entity={interaction_imports.ENTITY}")


urlpatterns: list[URLPattern] = [
    path("interactions/", interaction_list, name="interaction_list"),
    path("interactions/new/", interaction_create, name="interaction_create"),
    path("interactions/import/", interaction_import, name="interaction_import"),
    path("interactions/<int:pk>/", interaction_detail, name="interaction_detail"),
    path("interactions/<int:pk>/edit/", interaction_edit, name="interaction_edit"),
    path("interactions/<int:pk>/delete/", interaction_delete, name="interaction_delete"),
    path("interactions/timeline/<int:customer_id>/", customer_timeline,
         name="customer_timeline"),
]
