"""HTML pages of contacts: list, detail, forms, links to customers, reveal. Thin: forms
parse, ``services`` write, ``selectors`` read; phones leave masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.core import access, pii, references
from kehu.core.exceptions import KehuError
from kehu.core.web import is_htmx, page, service_error, user
from kehu.customers.actions import actions_for
from kehu.customers.forms import contacts as contact_forms
from kehu.customers.models import Contact
from kehu.customers.selectors import contacts as contact_selectors
from kehu.customers.services import contacts as contact_services
from kehu.customers.views.common import CappedPaginator, chosen_customer, query_without

CONTACTS_PER_PAGE = 25


@page("contacts.view")
def contact_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    q = request.GET.get("q", "")[:100]
    contacts = contact_selectors.contact_list(actor=me, q=q.strip())
    paginator = CappedPaginator(contacts, CONTACTS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    references.prime_objects(me, (link.customer for c in page_obj
                                  for link in c.customer_links.all()))
    rows = [(c, pii.mask_phone_list(c.phones)[:1],
             *references.split(me, c.customer_links.all(), lambda link: link.customer))
            for c in page_obj]
    template = "customers/contacts/list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "contact-results":
        template += "#results"
    return render(request, template, {
        "q": q, "page_obj": page_obj, "rows": rows, "count": paginator.count,
        "capped": paginator.capped, "query": query_without(request, "page"),
        "can_create": access.has_perm(me, "contacts.create"),
    })


def _contact_context(request: HttpRequest, contact: Contact, **forms: Any) -> dict[str, Any]:
    me = user(request)
    links = contact_selectors.contact_links(actor=me, contact=contact)
    can_link = access.has_perm(me, "customers.change")
    return {
        "contact": contact, "phones": pii.mask_phone_list(contact.phones),
        "email": pii.mask("email", contact.email),
        "links": [(link, can_link and access.allows(me, link.customer, "change"))
                  for link in links],
        "tags": list(contact.tags.all()),
        "can_change": access.allows(me, contact, "change"),
        "can_reveal": access.allows(me, contact, "reveal_pii"),
        "actions": actions_for("contact", me, contact),
        "reveal_form": contact_forms.ContactRevealForm(),
        "link_form": (forms.get("link_form") or contact_forms.ContactLinkForm())
        if can_link else None,
    }


@page("contacts.view")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = access.get_for(Contact, user(request), pk)
    return render(request, "customers/contacts/detail.html", _contact_context(request, contact))


@never_cache
@page("contacts.create")
def contact_create(request: HttpRequest) -> HttpResponse:
    form = contact_forms.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_services.contact_create(actor=user(request), **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
            return redirect("contact_detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/contacts/form.html", {"form": form, "contact": None},
                  status=status)


@never_cache
@page("contacts.change")
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    contact = access.get_for(Contact, me, pk, "change")
    options: dict[str, Any] = {"creating": False, "stored_phones": list(contact.phones)}
    form = contact_forms.ContactForm(request.POST or None,
                                     initial=contact_forms.contact_initial(contact), **options)
    if request.method == "POST" and form.is_valid():
        try:
            contact_services.contact_update(actor=me, contact_id=pk,
                                            expected_version=form.cleaned_data.get("expected_version"),
                                            **form.service_data())
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("contact_detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/contacts/form.html", {"form": form, "contact": contact},
                  status=status)


@require_POST
@page("customers.change")
def contact_link(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    contact = access.get_for(Contact, me, pk)
    form = contact_forms.ContactLinkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer_id = chosen_customer(me, data["customer"], "customer_id")
            contact_services.contact_link(actor=me, contact_id=pk, customer_id=customer_id or 0,
                                          title=data["title"], department=data["department"],
                                          decision_role=data["decision_role"],
                                          is_primary=data["is_primary"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Linked."))
            return redirect("contact_detail", pk=pk)
    return render(request, "customers/contacts/detail.html",
                  _contact_context(request, contact, link_form=form), status=422)


@never_cache
@require_POST
@page("contacts.reveal_pii")
def contact_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    contact = access.get_for(Contact, me, pk)
    form = contact_forms.ContactRevealForm(request.POST)
    value: Any = None
    if form.is_valid():
        try:
            value = contact_services.contact_reveal(actor=me, contact_id=pk,
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
