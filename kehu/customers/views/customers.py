"""HTML pages of customers: list, bulk actions, unified view, forms, status, transfer,
reveal, and adding contacts on the customer page. Thin: forms parse, ``services`` write,
``selectors`` read.

Sensitive values leave masked on every page; the clear value of a field is shown only
through a reveal (reason asked, audited by the service). Every action is a plain form
post that redirects, so the pages work without JavaScript; htmx swaps results in place
and the dialogs are native ``<dialog>`` elements with a full-page fallback.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kehu.core import access, pii
from kehu.core import selectors as core_selectors
from kehu.core.exceptions import KehuError
from kehu.core.forms.shares import ShareForm
from kehu.core.models import User
from kehu.core.redirects import next_url
from kehu.core.web import is_htmx, page, service_error, user
from kehu.customers import reference
from kehu.customers.actions import actions_for
from kehu.customers.forms import common as form_helpers
from kehu.customers.forms import contacts as contact_forms
from kehu.customers.forms import customers as customer_forms
from kehu.customers.forms import relationships as relationship_forms
from kehu.customers.forms import saved_views as saved_view_forms
from kehu.customers.models import (
    AddressKind,
    Channel,
    Customer,
    RelationshipKind,
    SavedView,
    Status,
    Tag,
)
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import transfers as transfer_services
from kehu.customers.views.common import (
    CappedPaginator,
    chosen_customer,
    error_lines,
    form_labels,
    placement_choices,
    query_without,
)

CUSTOMERS_PER_PAGE = 25
GRAPH_NODES = 12
TAG_CHOICES = 500


@page("customers.view")
def customer_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    units = list(core_selectors.org_unit_list(actor=me))
    users = list(core_selectors.user_list(actor=me))
    tags = list(Tag.objects.visible_to(me).order_by("name")[:TAG_CHOICES])
    form = customer_forms.CustomerFilterForm(request.GET or None, users=users, units=units,
                                             tags=tags)
    filters = customer_selectors.CustomerFilters.from_mapping(form.selector_data())
    customers = customer_selectors.customer_list(actor=me, filters=filters).prefetch_related("tags")
    paginator = CappedPaginator(customers, CUSTOMERS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = [(c, pii.mask_phone_list(c.phones)[:1], reference.region(c.region))
            for c in page_obj]
    can_change = access.has_perm(me, "customers.change")
    bulk_users, bulk_units = placement_choices(me, "customers.change") if can_change \
        else ([], [])
    template = "customers/customers/list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "customer-results":
        template += "#results"
    query = query_without(request, "page")
    return render(request, template, {
        "filter_form": form, "page_obj": page_obj, "rows": rows,
        "count": paginator.count, "capped": paginator.capped,
        "query": query, "sort_query": query_without(request, "page", "ordering"),
        "ordering": filters.ordering, "filtered": bool(query_without(request, "page")),
        "saved_views": list(SavedView.objects.filter(user=me, tenant_id=me.tenant_id)),
        "saved_view_form": saved_view_forms.SavedViewForm(),
        "bulk_form": customer_forms.BulkForm(users=bulk_users, units=bulk_units)
        if can_change else None,
        "can_create": access.has_perm(me, "customers.create"),
        "list_url": reverse("customer_list") + (f"?{query}" if query else ""),
    })


@require_GET
@page()
def region_options(request: HttpRequest) -> HttpResponse:
    """The ``<option>``s of a province's cities, for the province → city selects."""
    province = request.GET.get("province", "")
    return render(request, "customers/customers/_region_options.html", {
        "choices": form_helpers.city_choices(province,
                                             "—" if request.GET.get("form") else _("All")),
    })


@require_POST
@page("customers.change")
def customer_bulk(request: HttpRequest) -> HttpResponse:
    me = user(request)
    back = next_url(request, reverse("customer_list"))
    users, units = placement_choices(me, "customers.change")
    form = customer_forms.BulkForm(request.POST, users=users, units=units)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
        return redirect(back)
    data = form.cleaned_data
    ids, action = data["ids"], data["action"]
    try:
        if action in ("tag", "untag"):
            tags = form_helpers.split_tags(data["tags"])
            done = customer_services.customer_bulk_tag(
                actor=me, customer_ids=ids, add=tags if action == "tag" else (),
                remove=tags if action == "untag" else ())
        elif action == "status":
            done = customer_services.customer_bulk_status(actor=me, customer_ids=ids,
                                                          status=data["status"],
                                                          reason=data["reason"])
        else:
            done = transfer_services.customer_transfer(actor=me, customer_ids=ids,
                                                       reason=data["reason"],
                                                       owner_id=data["owner"],
                                                       org_unit_id=data["org_unit"])
    except KehuError as exc:
        labels = {**form_labels(form), "owner_id": str(_("New account manager")),
                  "org_unit_id": str(_("New unit"))}
        for line in error_lines(exc, labels):
            messages.error(request, line)
        return redirect(back)
    changed = len(done)
    skipped = len(set(ids)) - changed
    messages.success(request, _("%(changed)d changed, %(skipped)d skipped (not yours to "
                                "change).") % {"changed": changed, "skipped": skipped}
                     if skipped else _("%(changed)d changed.") % {"changed": changed})
    return redirect(back)




# ---------------------------------------------------------------------------- create / edit


@never_cache
@page("customers.create")
def customer_create(request: HttpRequest) -> HttpResponse:
    me = user(request)
    users, units = placement_choices(me, "customers.create")
    form = customer_forms.CustomerForm(
        request.POST or None, creating=True, users=users, units=units,
        may_set_code=access.has_perm(me, "customers.admin"),
        initial={"owner": me.pk, "tier": "ordinary", "status": Status.POTENTIAL},
    )
    if request.method == "POST" and form.is_valid():
        try:
            parent_id = chosen_customer(me, form.cleaned_data["parent"], "parent_id")
            customer = customer_services.customer_create(actor=me, parent_id=parent_id,
                                                         **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
            return redirect("customer_detail", pk=customer.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/customers/form.html", {"form": form, "customer": None},
                  status=status)


@never_cache
@page("customers.change")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    customer = access.get_for(Customer, me, pk, "change")
    if customer.merged_into_id:
        raise Http404
    options: dict[str, Any] = {
        "creating": False, "may_set_code": access.has_perm(me, "customers.admin"),
        "stored_phones": list(customer.phones), "stored_addresses": list(customer.addresses),
        "id_number_masked": customer.id_number_masked,
        "parent_locked": customer.parent_id is not None and not customer_selectors.customer_list(
            actor=me).filter(pk=customer.parent_id).exists(),
    }
    if request.method != "POST":
        form = customer_forms.CustomerForm(initial=customer_forms.customer_initial(customer),
                                           **options)
        return render(request, "customers/customers/form.html",
                      {"form": form, "customer": customer})
    form = customer_forms.CustomerForm(request.POST,
                                       initial=customer_forms.customer_initial(customer), **options)
    if form.is_valid():
        try:
            changes = form.service_data()
            if "parent" in form.fields:
                changes["parent_id"] = chosen_customer(me, form.cleaned_data["parent"],
                                                       "parent_id")
            customer = customer_services.customer_update(
                actor=me, customer_id=pk,
                expected_version=form.cleaned_data.get("expected_version"), **changes)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "customers/customers/form.html",
                  {"form": form, "customer": customer}, status=422)


# ---------------------------------------------------------------------------- unified view


def _graph(customer: Customer, view: dict[str, Any]) -> dict[str, Any]:
    """A small star graph around the customer (server-rendered SVG): its relationships,
    parent and children, each with a label; hidden customers stay unnamed."""
    kinds = dict(RelationshipKind.choices)
    links: list[dict[str, Any]] = []
    if customer.parent_id and customer.parent is not None:
        visible = any(a.pk == customer.parent_id for a in view["hierarchy"]["ancestors"])
        links.append({"name": customer.parent.name if visible else "", "id": customer.parent_id,
                      "label": _("Parent"), "visible": visible, "outgoing": False})
    for child in view["hierarchy"]["children"]:
        links.append({"name": child.name, "id": child.pk, "label": _("Subsidiary"),
                      "visible": True, "outgoing": True})
    for item in view["relationships"]:
        rel = item["relationship"]
        links.append({"name": item["other"].name if item["visible"] else "",
                      "id": item["other"].pk, "label": str(kinds.get(rel.kind, rel.kind)),
                      "visible": item["visible"], "outgoing": item["outgoing"]})
    links = links[:GRAPH_NODES]
    width, height, radius = 440, 300, 110
    cx, cy = width / 2, height / 2
    nodes = []
    for index, link in enumerate(links):
        angle = 2 * math.pi * index / max(len(links), 1) - math.pi / 2
        x, y = cx + radius * 1.45 * math.cos(angle), cy + radius * math.sin(angle)
        name = link["name"] or _("(not visible to you)")
        nodes.append({**link, "x": round(x, 1), "y": round(y, 1),
                      "bx": round(x - 55, 1), "by": round(y - 14, 1), "ty": round(y + 5, 1),
                      "lx": round((cx + x) / 2, 1), "ly": round((cy + y) / 2 - 4, 1),
                      "short": name if len(name) <= 9 else name[:8] + "…"})
    center = customer.short_name or customer.name
    return {"width": width, "height": height, "cx": cx, "cy": cy, "nodes": nodes,
            "center": center if len(center) <= 6 else center[:5] + "…",
            "center_ty": cy + 5}


def _detail_context(request: HttpRequest, pk: int, **forms: Any) -> dict[str, Any]:
    me = user(request)
    view = customer_selectors.customer_view(actor=me, customer_id=pk)
    customer: Customer = view["customer"]
    can_change = access.allows(me, customer, "change")
    industry = reference.industry(customer.industry) if customer.industry else None
    region = reference.region(customer.region) if customer.region else None
    kinds = dict(AddressKind.choices)
    ctx: dict[str, Any] = {
        "view": view, "customer": customer,
        "phones": pii.mask_phone_list(customer.phones),
        "emails": pii.mask_email_list(customer.emails),
        "addresses": [{**a, "kind_label": kinds.get(a.get("kind", ""), "")}
                      for a in pii.mask_address_list(customer.addresses)],
        "industry": industry, "region": region,
        "consent": [label for key, label in Channel.choices
                    if (customer.consent or {}).get(key)],
        "contacts": [(link, pii.mask_phone_list(link.contact.phones)[:1])
                     for link in view["contacts"]],
        "graph": _graph(customer, view),
        "can_change": can_change,
        "can_reveal": access.allows(me, customer, "reveal_pii"),
        "can_add_contact": can_change and access.has_perm(me, "contacts.create"),
        "panels": [(panel, data, _panel_shape(data)) for panel, data in view["panels"]],
    }
    if can_change:
        ctx["status_form"] = forms.get("status_form") or customer_forms.StatusForm(
            initial={"status": customer.status, "expected_version": customer.version})
        users, units = placement_choices(me, "customers.change")
        ctx["transfer_form"] = forms.get("transfer_form") or customer_forms.TransferForm(
            users=users, units=units)
        ctx["relationship_form"] = forms.get("relationship_form") or \
            relationship_forms.RelationshipForm()
        ctx["external_form"] = forms.get("external_form") or relationship_forms.ExternalIdForm()
        ctx["shares"] = core_selectors.record_shares(actor=me, obj=customer)
        ctx["share_form"] = forms.get("share_form") or share_form(me)
    if ctx["can_add_contact"]:
        ctx["contact_form"] = forms.get("contact_form") or contact_forms.ContactForm(
            link=True, prefix="contact")
        ctx["contact_form"].blur()
    if ctx["can_reveal"]:
        present = {"phones": customer.phones, "emails": customer.emails,
                   "addresses": customer.addresses,
                   "id_number": customer.id_number_masked}
        ctx["reveal_forms"] = {
            name: reveal_form(name) for name in customer_services.REVEALABLE if present[name]}
    ctx["open_dialog"] = forms.get("open_dialog", "")
    ctx["actions"] = actions_for("customer", me, customer)
    return ctx


def share_form(me: User, data: Any = None) -> ShareForm:
    """Colleagues ``me`` can see, themselves excepted: whom a record may be shared with."""
    users = core_selectors.user_list(actor=me, is_active=True).exclude(pk=me.pk).order_by(
        "full_name", "pk")
    return ShareForm(data, users=users)


def _panel_shape(data: Any) -> str:
    """How the generic panel template shows a panel's data (when it has no template)."""
    if data is None or data == "" or data == [] or data == {}:
        return "empty"
    if isinstance(data, dict):
        return "dict"
    if isinstance(data, (list, tuple)):
        return "list"
    return "text"


def reveal_form(field: str, data: Any = None) -> customer_forms.RevealForm:
    """One reveal form per field on the page: ids kept apart by ``auto_id``."""
    return customer_forms.RevealForm(data, auto_id=f"id_{field}_%s", initial={"field": field})


def detail_render(request: HttpRequest, pk: int, status: int = 200,
                  **forms: Any) -> HttpResponse:
    return render(request, "customers/customers/detail.html",
                  _detail_context(request, pk, **forms), status=status)


@page("customers.view")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    customer = access.get_for(Customer, me, pk)
    if customer.merged_into_id:
        # A merged customer lives on in its survivor.
        return redirect("customer_detail", pk=customer.merged_into_id)
    return detail_render(request, pk)


def back_to(pk: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("customer_detail", args=[pk]) + (f"#{anchor}" if anchor else ""))


@require_POST
@page("customers.change")
def customer_status(request: HttpRequest, pk: int) -> HttpResponse:
    form = customer_forms.StatusForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer_services.customer_set_status(actor=user(request), customer_id=pk,
                                                  status=data["status"], reason=data["reason"],
                                                  expected_version=data.get("expected_version"))
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Status changed."))
            return back_to(pk, "status")
    return detail_render(request, pk, status=422, status_form=form)


@never_cache
@page("customers.change")
def customer_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """The transfer dialog's target; on its own (GET) the page for browsers without JS."""
    me = user(request)
    customer = access.get_for(Customer, me, pk, "change")
    if customer.merged_into_id:
        raise Http404
    users, units = placement_choices(me, "customers.change")
    form = customer_forms.TransferForm(request.POST or None, users=users, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer_services.customer_transfer(actor=me, customer_ids=[pk],
                                                reason=data["reason"], owner_id=data["owner"],
                                                org_unit_id=data["org_unit"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("“%(name)s” transferred.") % {"name": customer.name})
            # The new owner may be outside what the sender sees.
            if customer_selectors.customer_list(actor=me).filter(pk=pk).exists():
                return back_to(pk, "ownership")
            return redirect("customer_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/customers/transfer.html",
                  {"customer": customer, "form": form}, status=status)


@never_cache
@require_POST
@page("customers.reveal_pii")
def customer_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    customer = access.get_for(Customer, me, pk)
    field = request.POST.get("reveal-field", "")
    if field not in customer_services.REVEALABLE:
        raise Http404
    form = reveal_form(field, request.POST)
    value: Any = None
    if form.is_valid():
        try:
            value = customer_services.customer_reveal(actor=me, customer_id=pk, field=field,
                                                      reason=form.cleaned_data["reason"])
        except KehuError as exc:
            service_error(request, form, exc)
    if field == "addresses" and value is not None:
        kinds = dict(AddressKind.choices)
        value = [{**a, "kind_label": kinds.get(a.get("kind", ""), "")} for a in value]
    ctx = {"customer": customer, "form": form, "field": field, "value": value,
           "action": reverse("customer_reveal", args=[pk]),
           "back": reverse("customer_detail", args=[pk])}
    status = 200 if value is not None else 422
    if is_htmx(request):
        return render(request, "customers/_reveal_result.html", ctx, status=status)
    return render(request, "customers/revealed.html", ctx, status=status)




@page("contacts.create")
def customer_contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    access.get_for(Customer, me, pk, "change")
    form = contact_forms.ContactForm(request.POST, link=True, prefix="contact")
    if form.is_valid():
        try:
            contact = contact_services.contact_create(actor=me, customer_id=pk,
                                                      link=form.link_data(), **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
            return back_to(pk, "contacts")
    return detail_render(request, pk, status=422, contact_form=form, open_dialog="contact")


@require_POST
@page("customers.change")
def customer_contact_unlink(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    contact_services.contact_unlink(actor=user(request), contact_id=contact_pk, customer_id=pk)
    messages.success(request, _("Contact removed from this customer."))
    return redirect(next_url(request, reverse("customer_detail", args=[pk]) + "#contacts"))
