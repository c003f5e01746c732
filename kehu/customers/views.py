"""HTML pages for customers and contacts: list, unified view, forms, transfer, reveal,
search. Thin: forms parse, ``services`` write, ``selectors`` / ``search`` read.

Sensitive values leave masked on every page; the clear value of a field is shown only
through a reveal (reason asked, audited by the service). Every action is a plain form
post that redirects, so the pages work without JavaScript; htmx swaps results in place
and the dialogs are native ``<dialog>`` elements with a full-page fallback.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kehu.core import access, pii
from kehu.core import selectors as core_selectors
from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.core.permissions import Scope
from kehu.core.views import is_htmx, page, service_error
from kehu.customers import forms as f
from kehu.customers import reference, search, selectors, services
from kehu.customers.models import (
    AddressKind,
    Channel,
    Contact,
    Customer,
    CustomerContact,
    RelationshipKind,
    SavedView,
    Status,
    Tag,
)

CUSTOMERS_PER_PAGE = 25
CONTACTS_PER_PAGE = 25
# Counting every row of a large list costs more than the page: stop there, as the API does.
COUNT_CAP = 10_000
LIVE_RESULTS = 6
SEARCH_RESULTS = 50
GRAPH_NODES = 12
TAG_CHOICES = 500


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _error_lines(exc: KehuError, labels: dict[str, str] | None = None) -> list[str]:
    """A service error as lines for the messages area: "field: message" per field."""
    if not exc.fields:
        return [str(exc.message)]
    labels = labels or {}
    return [f"{labels.get(name, name)}: {message}" if name in labels else str(message)
            for name, msgs in exc.fields.items() for message in msgs]


class CappedPaginator(Paginator):
    """A paginator that stops counting at COUNT_CAP rows (``capped`` tells)."""

    capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        counted = qs.order_by()[: COUNT_CAP + 1].count() if hasattr(qs, "order_by") \
            else len(qs)
        self.capped = counted > COUNT_CAP
        return min(counted, COUNT_CAP)


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def _chosen_customer(me: User, code: str, field: str) -> int | None:
    """The id of the visible customer with customer code ``code`` (its id also works);
    None for an empty input."""
    code = (code or "").strip()
    if not code:
        return None
    visible = selectors.customer_list(actor=me)
    found = visible.filter(code__iexact=code).values_list("pk", flat=True).first()
    if found is None and code.isdigit():
        found = visible.filter(pk=int(code)).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationFailed(fields={field: [
            _("No customer you can see has the code “%(code)s”.") % {"code": code}]})
    return int(found)


def _placement_choices(me: User, permission: str) -> tuple[list[User], list[OrgUnit]]:
    """The users and units ``me`` may give records to under ``permission``: the same rule
    the services apply, so the choosers offer nothing that would be refused."""
    units = [u for u in core_selectors.org_unit_list(actor=me, is_active=True)
             if access.unit_in_scope(me, permission, u)]
    own_only = access.scope_for(me, permission) == Scope.OWN
    users = [u for u in core_selectors.user_list(actor=me, is_active=True)
             if u.pk == me.pk or (not own_only
                                  and access.unit_in_scope(me, permission, u.org_unit))]
    return users, units


def _labels(form: Any) -> dict[str, str]:
    return {name: str(field.label) for name, field in form.fields.items()}


# ---------------------------------------------------------------------------- customer list


@page("customers.view")
def customer_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    units = list(core_selectors.org_unit_list(actor=me))
    users = list(core_selectors.user_list(actor=me))
    tags = list(Tag.objects.visible_to(me).order_by("name")[:TAG_CHOICES])
    form = f.CustomerFilterForm(request.GET or None, users=users, units=units, tags=tags)
    filters = selectors.CustomerFilters.from_mapping(form.selector_data())
    customers = selectors.customer_list(actor=me, filters=filters).prefetch_related("tags")
    paginator = CappedPaginator(customers, CUSTOMERS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = [(c, pii.mask_phone_list(c.phones)[:1], reference.region(c.region))
            for c in page_obj]
    can_change = access.has_perm(me, "customers.change")
    bulk_users, bulk_units = _placement_choices(me, "customers.change") if can_change \
        else ([], [])
    template = "customers/customer_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "customer-results":
        template += "#results"
    query = _query_without(request, "page")
    return render(request, template, {
        "filter_form": form, "page_obj": page_obj, "rows": rows,
        "count": paginator.count, "capped": paginator.capped,
        "query": query, "sort_query": _query_without(request, "page", "ordering"),
        "ordering": filters.ordering, "filtered": bool(_query_without(request, "page")),
        "saved_views": list(SavedView.objects.filter(user=me, tenant_id=me.tenant_id)),
        "saved_view_form": f.SavedViewForm(),
        "bulk_form": f.BulkForm(users=bulk_users, units=bulk_units) if can_change else None,
        "can_create": access.has_perm(me, "customers.create"),
        "list_url": reverse("customer_list") + (f"?{query}" if query else ""),
    })


@require_GET
@page()
def region_options(request: HttpRequest) -> HttpResponse:
    """The ``<option>``s of a province's cities, for the province → city selects."""
    province = request.GET.get("province", "")
    return render(request, "customers/_region_options.html", {
        "choices": f.city_choices(province, "—" if request.GET.get("form") else _("All")),
    })


@require_POST
@page("customers.change")
def customer_bulk(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    back = _next_url(request, reverse("customer_list"))
    users, units = _placement_choices(me, "customers.change")
    form = f.BulkForm(request.POST, users=users, units=units)
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
            tags = f.split_tags(data["tags"])
            done = services.customer_bulk_tag(
                actor=me, customer_ids=ids, add=tags if action == "tag" else (),
                remove=tags if action == "untag" else ())
        elif action == "status":
            done = services.customer_bulk_status(actor=me, customer_ids=ids,
                                                 status=data["status"], reason=data["reason"])
        else:
            done = services.customer_transfer(actor=me, customer_ids=ids, reason=data["reason"],
                                              owner_id=data["owner"],
                                              org_unit_id=data["org_unit"])
    except KehuError as exc:
        for line in _error_lines(exc, {**_labels(form), "owner_id": str(_("New account manager")),
                                       "org_unit_id": str(_("New unit"))}):
            messages.error(request, line)
        return redirect(back)
    changed = len(done)
    skipped = len(set(ids)) - changed
    messages.success(request, _("%(changed)d changed, %(skipped)d skipped (not yours to "
                                "change).") % {"changed": changed, "skipped": skipped}
                     if skipped else _("%(changed)d changed.") % {"changed": changed})
    return redirect(back)


@require_POST
@page("customers.view")
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = f.SavedViewForm(request.POST)
    query = request.POST.get("query", "")[:2000]
    back = reverse("customer_list") + (f"?{query}" if query else "")
    if form.is_valid():
        try:
            view = services.saved_view_save(actor=_me(request), name=form.cleaned_data["name"],
                                            query=query)
        except KehuError as exc:
            for line in _error_lines(exc):
                messages.error(request, line)
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    else:
        messages.error(request, _("Give the view a name."))
    return redirect(back)


@require_POST
@page("customers.view")
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.saved_view_delete(actor=_me(request), view_id=pk)
    messages.success(request, _("View deleted."))
    return redirect("customer_list")


# ---------------------------------------------------------------------------- create / edit


@never_cache
@page("customers.create")
def customer_create(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    users, units = _placement_choices(me, "customers.create")
    form = f.CustomerForm(
        request.POST or None, creating=True, users=users, units=units,
        may_set_code=access.has_perm(me, "customers.admin"),
        initial={"owner": me.pk, "tier": "ordinary", "status": Status.POTENTIAL},
    )
    if request.method == "POST" and form.is_valid():
        try:
            parent_id = _chosen_customer(me, form.cleaned_data["parent"], "parent_id")
            customer = services.customer_create(actor=me, parent_id=parent_id,
                                                **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
            return redirect("customer_detail", pk=customer.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/customer_form.html", {"form": form, "customer": None},
                  status=status)


@never_cache
@page("customers.change")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    customer = access.get_for(Customer, me, pk, "change")
    if customer.merged_into_id:
        raise Http404
    options: dict[str, Any] = {
        "creating": False, "may_set_code": access.has_perm(me, "customers.admin"),
        "stored_phones": list(customer.phones), "stored_addresses": list(customer.addresses),
        "id_number_masked": customer.id_number_masked,
        "parent_locked": customer.parent_id is not None and not selectors.customer_list(
            actor=me).filter(pk=customer.parent_id).exists(),
    }
    if request.method != "POST":
        form = f.CustomerForm(initial=f.customer_initial(customer), **options)
        return render(request, "customers/customer_form.html",
                      {"form": form, "customer": customer})
    form = f.CustomerForm(request.POST, initial=f.customer_initial(customer), **options)
    if form.is_valid():
        try:
            changes = form.service_data()
            if "parent" in form.fields:
                changes["parent_id"] = _chosen_customer(me, form.cleaned_data["parent"],
                                                        "parent_id")
            customer = services.customer_update(
                actor=me, customer_id=pk,
                expected_version=form.cleaned_data.get("expected_version"), **changes)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "customers/customer_form.html",
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
    me = _me(request)
    view = selectors.customer_view(actor=me, customer_id=pk)
    customer: Customer = view["customer"]
    can_change = access.allows(me, customer, "change")
    industry = reference.industry(customer.industry) if customer.industry else None
    region = reference.region(customer.region) if customer.region else None
    kinds = dict(AddressKind.choices)
    ctx: dict[str, Any] = {
        "view": view, "customer": customer,
        "phones": pii.mask_phone_list(customer.phones),
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
        ctx["status_form"] = forms.get("status_form") or f.StatusForm(
            initial={"status": customer.status, "expected_version": customer.version})
        users, units = _placement_choices(me, "customers.change")
        ctx["transfer_form"] = forms.get("transfer_form") or f.TransferForm(
            users=users, units=units)
        ctx["relationship_form"] = forms.get("relationship_form") or f.RelationshipForm()
        ctx["external_form"] = forms.get("external_form") or f.ExternalIdForm()
    if ctx["can_add_contact"]:
        ctx["contact_form"] = forms.get("contact_form") or f.ContactForm(
            link=True, prefix="contact")
        ctx["contact_form"].blur()
    if ctx["can_reveal"]:
        present = {"phones": customer.phones, "addresses": customer.addresses,
                   "id_number": customer.id_number_masked}
        ctx["reveal_forms"] = {
            name: reveal_form(name) for name in services.REVEALABLE if present[name]}
    ctx["open_dialog"] = forms.get("open_dialog", "")
    return ctx


def _panel_shape(data: Any) -> str:
    """How the generic panel template shows a panel's data (when it has no template)."""
    if data is None or data == "" or data == [] or data == {}:
        return "empty"
    if isinstance(data, dict):
        return "dict"
    if isinstance(data, (list, tuple)):
        return "list"
    return "text"


def reveal_form(field: str, data: Any = None) -> f.RevealForm:
    """One reveal form per field on the page: ids kept apart by ``auto_id``."""
    return f.RevealForm(data, auto_id=f"id_{field}_%s", initial={"field": field})


def _detail_render(request: HttpRequest, pk: int, status: int = 200,
                   **forms: Any) -> HttpResponse:
    return render(request, "customers/customer_detail.html",
                  _detail_context(request, pk, **forms), status=status)


@page("customers.view")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    customer = access.get_for(Customer, me, pk)
    if customer.merged_into_id:
        # A merged customer lives on in its survivor.
        return redirect("customer_detail", pk=customer.merged_into_id)
    return _detail_render(request, pk)


def _back_to(pk: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("customer_detail", args=[pk]) + (f"#{anchor}" if anchor else ""))


@require_POST
@page("customers.change")
def customer_status(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.StatusForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.customer_set_status(actor=_me(request), customer_id=pk,
                                         status=data["status"], reason=data["reason"],
                                         expected_version=data.get("expected_version"))
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Status changed."))
            return _back_to(pk, "status")
    return _detail_render(request, pk, status=422, status_form=form)


@never_cache
@page("customers.change")
def customer_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """The transfer dialog's target; on its own (GET) the page for browsers without JS."""
    me = _me(request)
    customer = access.get_for(Customer, me, pk, "change")
    if customer.merged_into_id:
        raise Http404
    users, units = _placement_choices(me, "customers.change")
    form = f.TransferForm(request.POST or None, users=users, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.customer_transfer(actor=me, customer_ids=[pk], reason=data["reason"],
                                       owner_id=data["owner"], org_unit_id=data["org_unit"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("“%(name)s” transferred.") % {"name": customer.name})
            # The new owner may be outside what the sender sees.
            if selectors.customer_list(actor=me).filter(pk=pk).exists():
                return _back_to(pk, "ownership")
            return redirect("customer_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/customer_transfer.html",
                  {"customer": customer, "form": form}, status=status)


@never_cache
@require_POST
@page("customers.reveal_pii")
def customer_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    customer = access.get_for(Customer, me, pk)
    field = request.POST.get("reveal-field", "")
    if field not in services.REVEALABLE:
        raise Http404
    form = reveal_form(field, request.POST)
    value: Any = None
    if form.is_valid():
        try:
            value = services.customer_reveal(actor=me, customer_id=pk, field=field,
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


@require_POST
@page("customers.change")
def relationship_add(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    form = f.RelationshipForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            target_id = _chosen_customer(me, data["target"], "target_id")
            services.relationship_add(actor=me, source_id=pk, target_id=target_id or 0,
                                      kind=data["kind"], note=data["note"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Relationship added."))
            return _back_to(pk, "relationships")
    return _detail_render(request, pk, status=422, relationship_form=form)


@require_POST
@page("customers.change")
def relationship_remove(request: HttpRequest, pk: int, rel_pk: int) -> HttpResponse:
    # The service checks the relationship belongs to this customer and may be changed.
    services.relationship_remove(actor=_me(request), relationship_id=rel_pk, customer_id=pk)
    messages.success(request, _("Relationship removed."))
    return _back_to(pk, "relationships")


@require_POST
@page("customers.change")
def external_id_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.ExternalIdForm(request.POST)
    if form.is_valid():
        try:
            services.external_id_add(actor=_me(request), customer_id=pk,
                                     system=form.cleaned_data["system"],
                                     external_id=form.cleaned_data["external_id"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("External id attached."))
            return _back_to(pk, "external-ids")
    return _detail_render(request, pk, status=422, external_form=form)


@require_POST
@page("customers.change")
def external_id_remove(request: HttpRequest, pk: int, ext_pk: int) -> HttpResponse:
    services.external_id_remove(actor=_me(request), external_id_pk=ext_pk, customer_id=pk)
    messages.success(request, _("External id removed."))
    return _back_to(pk, "external-ids")


@require_POST
@page("contacts.create")
def customer_contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    access.get_for(Customer, me, pk, "change")
    form = f.ContactForm(request.POST, link=True, prefix="contact")
    if form.is_valid():
        try:
            contact = services.contact_create(actor=me, customer_id=pk, link=form.link_data(),
                                              **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
            return _back_to(pk, "contacts")
    return _detail_render(request, pk, status=422, contact_form=form, open_dialog="contact")


@require_POST
@page("customers.change")
def customer_contact_unlink(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    services.contact_unlink(actor=_me(request), contact_id=contact_pk, customer_id=pk)
    messages.success(request, _("Contact removed from this customer."))
    return redirect(_next_url(request, reverse("customer_detail", args=[pk]) + "#contacts"))


# ---------------------------------------------------------------------------- contacts


@page("contacts.view")
def contact_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    q = request.GET.get("q", "")[:100]
    contacts = selectors.contact_list(actor=me, q=q.strip())
    paginator = CappedPaginator(contacts, CONTACTS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = [(c, pii.mask_phone_list(c.phones)[:1]) for c in page_obj]
    template = "customers/contact_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "contact-results":
        template += "#results"
    return render(request, template, {
        "q": q, "page_obj": page_obj, "rows": rows, "count": paginator.count,
        "capped": paginator.capped, "query": _query_without(request, "page"),
        "can_create": access.has_perm(me, "contacts.create"),
    })


def _contact_context(request: HttpRequest, contact: Contact, **forms: Any) -> dict[str, Any]:
    me = _me(request)
    links = list(CustomerContact.objects.filter(contact=contact,
                                                customer__merged_into__isnull=True)
                 .select_related("customer", "customer__org_unit").order_by("id"))
    visible = set(selectors.customer_list(actor=me)
                  .filter(pk__in=[link.customer_id for link in links])
                  .values_list("pk", flat=True))
    links = [link for link in links if link.customer_id in visible]
    can_link = access.has_perm(me, "customers.change")
    return {
        "contact": contact, "phones": pii.mask_phone_list(contact.phones),
        "links": [(link, can_link and access.allows(me, link.customer, "change"))
                  for link in links],
        "tags": list(contact.tags.all()),
        "can_change": access.allows(me, contact, "change"),
        "can_reveal": access.allows(me, contact, "reveal_pii"),
        "reveal_form": f.ContactRevealForm(),
        "link_form": (forms.get("link_form") or f.ContactLinkForm()) if can_link else None,
    }


@page("contacts.view")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = access.get_for(Contact, _me(request), pk)
    return render(request, "customers/contact_detail.html", _contact_context(request, contact))


@never_cache
@page("contacts.create")
def contact_create(request: HttpRequest) -> HttpResponse:
    form = f.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(actor=_me(request), **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
            return redirect("contact_detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/contact_form.html", {"form": form, "contact": None},
                  status=status)


@never_cache
@page("contacts.change")
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    contact = access.get_for(Contact, me, pk, "change")
    options: dict[str, Any] = {"creating": False, "stored_phones": list(contact.phones)}
    form = f.ContactForm(request.POST or None, initial=f.contact_initial(contact), **options)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(actor=me, contact_id=pk,
                                    expected_version=form.cleaned_data.get("expected_version"),
                                    **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("contact_detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/contact_form.html", {"form": form, "contact": contact},
                  status=status)


@require_POST
@page("customers.change")
def contact_link(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    contact = access.get_for(Contact, me, pk)
    form = f.ContactLinkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer_id = _chosen_customer(me, data["customer"], "customer_id")
            services.contact_link(actor=me, contact_id=pk, customer_id=customer_id or 0,
                                  title=data["title"], department=data["department"],
                                  decision_role=data["decision_role"],
                                  is_primary=data["is_primary"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Linked."))
            return redirect("contact_detail", pk=pk)
    return render(request, "customers/contact_detail.html",
                  _contact_context(request, contact, link_form=form), status=422)


@never_cache
@require_POST
@page("contacts.reveal_pii")
def contact_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    me = _me(request)
    contact = access.get_for(Contact, me, pk)
    form = f.ContactRevealForm(request.POST)
    value: Any = None
    if form.is_valid():
        try:
            value = services.contact_reveal(actor=me, contact_id=pk,
                                            reason=form.cleaned_data["reason"])
        except KehuError as exc:
            service_error(request, form, exc)
    ctx = {"contact": contact, "form": form, "field": "phones", "value": value,
           "action": reverse("contact_reveal", args=[pk]),
           "back": reverse("contact_detail", args=[pk])}
    status = 200 if value is not None else 422
    if is_htmx(request):
        return render(request, "customers/_reveal_result.html", ctx, status=status)
    return render(request, "customers/revealed.html", ctx, status=status)


# ---------------------------------------------------------------------------- search


def _search_rows(me: User, q: str, limit: int) -> dict[str, Any]:
    found = search.search(me, q, limit) if q.strip() else {"customers": [], "contacts": []}
    return {
        "customers": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["customers"]],
        "contacts": [(c, pii.mask_phone_list(c.phones)[:1]) for c in found["contacts"]],
    }


@page()
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/search.html",
                  {"q": q, **_search_rows(_me(request), q, SEARCH_RESULTS)})


@page()
def search_live(request: HttpRequest) -> HttpResponse:
    """The header box's dropdown: a few of each, and a link to all results."""
    q = request.GET.get("q", "")[:search.MAX_QUERY]
    return render(request, "customers/_search_live.html", {
        "q": q, "more_url": reverse("search") + "?" + urlencode({"q": q}),
        **_search_rows(_me(request), q, LIVE_RESULTS)})


urlpatterns = [
    path("customers/", customer_list, name="customer_list"),
    path("customers/new/", customer_create, name="customer_create"),
    path("customers/bulk/", customer_bulk, name="customer_bulk"),
    path("customers/regions/", region_options, name="customer_region_options"),
    path("customers/views/save/", saved_view_save, name="saved_view_save"),
    path("customers/views/<int:pk>/delete/", saved_view_delete, name="saved_view_delete"),
    path("customers/<int:pk>/", customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customer_edit, name="customer_edit"),
    path("customers/<int:pk>/status/", customer_status, name="customer_status"),
    path("customers/<int:pk>/transfer/", customer_transfer, name="customer_transfer"),
    path("customers/<int:pk>/reveal/", customer_reveal, name="customer_reveal"),
    path("customers/<int:pk>/relationships/", relationship_add, name="relationship_add"),
    path("customers/<int:pk>/relationships/<int:rel_pk>/delete/", relationship_remove,
         name="relationship_remove"),
    path("customers/<int:pk>/external-ids/", external_id_add, name="external_id_add"),
    path("customers/<int:pk>/external-ids/<int:ext_pk>/delete/", external_id_remove,
         name="external_id_remove"),
    path("customers/<int:pk>/contacts/", customer_contact_add, name="customer_contact_add"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/unlink/", customer_contact_unlink,
         name="customer_contact_unlink"),
    path("contacts/", contact_list, name="contact_list"),
    path("contacts/new/", contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/link/", contact_link, name="contact_link"),
    path("contacts/<int:pk>/reveal/", contact_reveal, name="contact_reveal"),
    path("search/", search_page, name="search"),
    path("search/live/", search_live, name="search_live"),
]
