"""Pages: interactions and follow-up plans (see urls.py). Thin: forms parse, services
write, selectors read. Every action is a plain form post that redirects; the customer
timeline pages and filters in place with htmx."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.activities import forms_interactions as f
from kehu.activities import imports_interactions
from kehu.activities.models import FollowUp, Interaction
from kehu.activities.selectors import followups as fu_selectors
from kehu.activities.selectors import interactions as selectors
from kehu.activities.services import followups as fu_services
from kehu.activities.services import interactions as services
from kehu.core import access
from kehu.core.exceptions import KehuError, NotFound
from kehu.core.models import User
from kehu.core.views import is_htmx, page, service_error
from kehu.customers.models import Contact, Customer

PER_PAGE = 25


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _customer(me: User, pk: Any) -> Customer:
    try:
        customer = access.get_for(Customer, me, int(pk))
    except (TypeError, ValueError, NotFound):
        raise Http404 from None
    if customer.merged_into_id:
        raise Http404
    return customer


def _contacts_of(me: User, customer: Customer) -> list[Contact]:
    return list(Contact.objects.visible_to(me).filter(customer_links__customer=customer)
                .order_by("name", "id").distinct()[:200])


def _users(me: User) -> list[User]:
    return list(User.objects.filter(tenant_id=me.tenant_id, is_active=True)
                .order_by("full_name", "id")[:500])


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


# ---------------------------------------------------------------------------- interactions


@page("interactions.view")
def interaction_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = f.InteractionFilterForm(request.GET or None)
    filters = selectors.InteractionFilters.from_mapping(request.GET)
    qs = selectors.with_details(selectors.interaction_list(actor=me, filters=filters))
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "activities/interactions/list.html", {
        "form": form, "page_obj": page_obj, "query": _query_without(request, "page"),
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
            contact = access.get_for(Contact, me, int(contact_pk))
        except (ValueError, NotFound):
            raise Http404 from None
        link = contact.customer_links.filter(customer__merged_into__isnull=True) \
            .order_by("-is_primary", "id").first()
        if link is None:
            raise Http404
        customer_pk = str(link.customer_id)
    customer = _customer(me, customer_pk)
    if contact_pk:
        with contextlib.suppress(ValueError):
            initial["contacts"] = [int(contact_pk)]
    options: dict[str, Any] = {"contacts": _contacts_of(me, customer), "users": _users(me)}
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
    options: dict[str, Any] = {"contacts": _contacts_of(me, customer), "users": _users(me)}
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
        services.interaction_delete(actor=me, interaction_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("interaction_detail", pk=pk)
    messages.success(request, _("Interaction deleted."))
    return redirect(reverse("customer_detail", args=[customer_id]) + "#panel-interactions")


@page("interactions.view")
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The timeline panel's body: one page, optionally of one type (htmx partial)."""
    me = _me(request)
    customer = _customer(me, customer_id)
    try:
        offset = max(0, int(request.GET.get("offset") or 0))
    except ValueError:
        offset = 0
    data = selectors.customer_timeline(actor=me, customer=customer,
                                       kind=request.GET.get("kind", ""), offset=offset)
    # Without htmx (no JavaScript) the same timeline comes as a whole page.
    template = "activities/interactions/_timeline.html" if is_htmx(request) \
        else "activities/interactions/timeline_page.html"
    return render(request, template, {"data": data, "customer": customer})


@never_cache
@page("interactions.create")
def interaction_import(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    result = None
    if request.method == "POST":
        form = f.ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = imports_interactions.import_interactions(
                    actor=me, file_name=upload.name, chunks=upload.chunks(),
                    dry_run=form.cleaned_data["dry_run"])
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                if result.imported:
                    messages.success(request, _("%(n)d interactions imported.")
                                     % {"n": result.imported})
    else:
        form = f.ImportForm()
    status = 422 if request.method == "POST" and (not form.is_valid() or form.errors or (
        result is not None and result.errors)) else 200
    return render(request, "activities/interactions/import.html",
                  {"form": form, "result": result, "columns": [
                      (str(label), "、".join(aliases[:2]))
                      for label, aliases in imports_interactions.COLUMNS.values()]},
                  status=status)


# ---------------------------------------------------------------------------- follow-ups


@page("followups.view")
def followup_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    tab = "team" if request.GET.get("tab") == "team" else "mine"
    data = request.GET.copy()
    data["mine"] = "1" if tab == "mine" else ""
    if "status" not in request.GET:
        data["status"] = "open"
    filters = fu_selectors.FollowUpFilters.from_mapping(data)
    qs = fu_selectors.followup_list(actor=me, filters=filters)
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    statuses = [("open", _("Open")), ("overdue", _("Overdue")), ("planned", _("Planned")),
                ("done", _("Done")), ("cancelled", _("Cancelled")), ("", _("All"))]
    return render(request, "activities/followups/list.html", {
        "page_obj": page_obj, "tab": tab, "status": filters.status, "statuses": statuses,
        "query": _query_without(request, "page"),
        "may_change": access.has_perm(me, "followups.change"),
    })


@never_cache
@page("followups.create")
def followup_create(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    source = request.POST if request.method == "POST" else request.GET
    customer = _customer(me, source.get("customer"))
    contacts = _contacts_of(me, customer)
    if request.method != "POST":
        due = timezone.localtime().replace(minute=0, second=0, microsecond=0) \
            + dt.timedelta(days=1)
        form = f.FollowUpForm(initial={"due_at": due, "contact": source.get("contact")},
                              contacts=contacts)
        return render(request, "activities/followups/form.html",
                      {"form": form, "customer": customer})
    form = f.FollowUpForm(request.POST, contacts=contacts)
    if form.is_valid():
        try:
            fu_services.followup_create(actor=me, customer_id=customer.pk,
                                        **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Follow-up planned."))
            return redirect(reverse("customer_detail", args=[customer.pk])
                            + "#panel-followups")
    return render(request, "activities/followups/form.html",
                  {"form": form, "customer": customer}, status=422)


def _open_followup(me: User, pk: int) -> FollowUp:
    try:
        followup = access.get_for(FollowUp, me, pk, "change")
    except NotFound:
        raise Http404 from None
    return followup


@never_cache
@page("followups.change")
def followup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Reschedule or reword a planned follow-up (done and cancelled ones are history)."""
    me = _me(request)
    followup = _open_followup(me, pk)
    if followup.state != FollowUp.State.PLANNED:
        messages.error(request, _("Only a planned follow-up can be changed."))
        return redirect(reverse("customer_detail", args=[followup.customer_id])
                        + "#panel-followups")
    contacts = _contacts_of(me, followup.customer)
    context: dict[str, Any] = {"customer": followup.customer, "followup": followup}
    if request.method != "POST":
        context["form"] = f.FollowUpForm(contacts=contacts, initial={
            "subject": followup.subject, "notes": followup.notes,
            "due_at": timezone.localtime(followup.due_at), "contact": followup.contact_id,
            "remind_minutes_before": followup.remind_minutes_before,
            "recur_every": followup.recur_every, "recur_unit": followup.recur_unit,
            "expected_version": followup.version})
        return render(request, "activities/followups/form.html", context)
    form = f.FollowUpForm(request.POST, contacts=contacts)
    context["form"] = form
    if form.is_valid():
        data = form.service_data()
        # An emptied lead means "no reminder" here, not "my default" as when planning.
        data.setdefault("remind_minutes_before", None)
        try:
            fu_services.followup_update(actor=me, followup_id=pk,
                                        expected_version=form.cleaned_data.get("expected_version"),
                                        **data)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Follow-up changed."))
            return redirect(reverse("customer_detail", args=[followup.customer_id])
                            + "#panel-followups")
    return render(request, "activities/followups/form.html", context, status=422)


@never_cache
@page("followups.change")
def followup_complete(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    followup = _open_followup(me, pk)
    recent = list(Interaction.objects.visible_to(me).filter(customer_id=followup.customer_id)
                  .order_by("-occurred_at", "-id")[:30])
    initial = {"subject": followup.subject,
               "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
               "kind": "call"}
    if request.method != "POST":
        form = f.CompleteForm(initial=initial, interactions=recent)
        return render(request, "activities/followups/complete.html",
                      {"form": form, "followup": followup})
    form = f.CompleteForm(request.POST, initial=initial, interactions=recent)
    if form.is_valid():
        try:
            fu_services.followup_complete(actor=me, followup_id=pk, **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Follow-up done."))
            if request.POST.get("next") == "customer":
                return redirect("customer_detail", pk=followup.customer_id)
            return redirect(reverse("followup_list") + "?status=done")
    return render(request, "activities/followups/complete.html",
                  {"form": form, "followup": followup}, status=422)


@never_cache
@page("followups.change")
def followup_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    followup = _open_followup(me, pk)
    if request.method != "POST":
        return render(request, "activities/followups/cancel.html",
                      {"form": f.CancelForm(), "followup": followup})
    form = f.CancelForm(request.POST)
    if form.is_valid():
        try:
            fu_services.followup_cancel(actor=me, followup_id=pk, **form.cleaned_data)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Follow-up cancelled."))
            return redirect("followup_list")
    return render(request, "activities/followups/cancel.html",
                  {"form": form, "followup": followup}, status=422)


urlpatterns: list[URLPattern] = [
    path("interactions/", interaction_list, name="interaction_list"),
    path("interactions/new/", interaction_create, name="interaction_create"),
    path("interactions/import/", interaction_import, name="interaction_import"),
    path("interactions/<int:pk>/", interaction_detail, name="interaction_detail"),
    path("interactions/<int:pk>/edit/", interaction_edit, name="interaction_edit"),
    path("interactions/<int:pk>/delete/", interaction_delete, name="interaction_delete"),
    path("interactions/timeline/<int:customer_id>/", customer_timeline,
         name="customer_timeline"),
    path("followups/", followup_list, name="followup_list"),
    path("followups/new/", followup_create, name="followup_create"),
    path("followups/<int:pk>/complete/", followup_complete, name="followup_complete"),
    path("followups/<int:pk>/cancel/", followup_cancel, name="followup_cancel"),
    path("followups/<int:pk>/edit/", followup_edit, name="followup_edit"),
]
