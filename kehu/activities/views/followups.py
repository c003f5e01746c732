"""Pages: follow-up plans (list, plan, edit, complete, cancel). Thin: forms parse,
services write, selectors read. Every action is a plain form post that redirects."""

from __future__ import annotations

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

from kehu.activities.forms import followups as f
from kehu.activities.models import FollowUp
from kehu.activities.selectors import followups as fu_selectors
from kehu.activities.selectors import interactions as interaction_selectors
from kehu.activities.services import followups as fu_services
from kehu.activities.views.interactions import PER_PAGE, customer_or_404, query_without
from kehu.core import access, references
from kehu.core.exceptions import KehuError, NotFound
from kehu.core.models import User
from kehu.core.web import page, service_error
from kehu.customers.selectors import contacts as contact_selectors


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


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
    references.prime_objects(me, (record for fu in page_obj.object_list
                                  for record in (fu.customer, fu.contact)))
    statuses = [("open", _("Open")), ("overdue", _("Overdue")), ("planned", _("Planned")),
                ("done", _("Done")), ("cancelled", _("Cancelled")), ("", _("All"))]
    return render(request, "activities/followups/list.html", {
        "page_obj": page_obj, "tab": tab, "status": filters.status, "statuses": statuses,
        "query": query_without(request, "page"),
        "may_change": access.has_perm(me, "followups.change"),
    })


@never_cache
@page("followups.create")
def followup_create(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    source = request.POST if request.method == "POST" else request.GET
    customer = customer_or_404(me, source.get("customer"))
    contacts = contact_selectors.contacts_of(actor=me, customer=customer)
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


def _back(me: User, followup: FollowUp) -> str:
    """Its customer's follow-ups, or the follow-up list when that customer is one the
    reader may not see (its page would be a 404, its address an id to probe)."""
    if references.is_visible(me, followup.customer):
        return reverse("customer_detail", args=[followup.customer_id]) + "#panel-followups"
    return reverse("followup_list")


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
        return redirect(_back(me, followup))
    contacts = contact_selectors.contacts_of(actor=me, customer=followup.customer)
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
            return redirect(_back(me, followup))
    return render(request, "activities/followups/form.html", context, status=422)


@never_cache
@page("followups.change")
def followup_complete(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    followup = _open_followup(me, pk)
    recent = interaction_selectors.customer_recent(actor=me,
                                                   customer_id=followup.customer_id)
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
            if request.POST.get("next") == "customer" \
                    and references.is_visible(me, followup.customer):
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
    path("followups/", followup_list, name="followup_list"),
    path("followups/new/", followup_create, name="followup_create"),
    path("followups/<int:pk>/complete/", followup_complete, name="followup_complete"),
    path("followups/<int:pk>/cancel/", followup_cancel, name="followup_cancel"),
    path("followups/<int:pk>/edit/", followup_edit, name="followup_edit"),
]
