"""Downloads of the customer and contact lists (``services.exports``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.web import page, user
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import exports


def _bad_export(exc: KehuError) -> HttpResponse:
    lines = [_("Nothing was exported."), str(exc.message)]
    lines += [str(m) for messages_ in exc.fields.values() for m in messages_]
    return HttpResponse("\n".join(dict.fromkeys(lines)) + "\n", status=exc.status,
                        content_type="text/plain; charset=utf-8")


@page("customers.export")
def customer_export(request: HttpRequest) -> HttpResponseBase:
    """The customer list with the same filters as the list page (its query string),
    as ``format=csv`` (default) or ``xlsx``; masked."""
    try:
        export = exports.customer_export(
            actor=user(request),
            filters=customer_selectors.CustomerFilters.from_mapping(request.GET),
            file_format=request.GET.get("format", "csv"))
    except ValidationFailed as exc:
        return _bad_export(exc)
    return exports.response(export)


@page("contacts.export")
def contact_export(request: HttpRequest) -> HttpResponseBase:
    """Contacts (``q``, ``customer_id`` as on the contact list) as CSV or XLSX; masked."""
    try:
        customer_id = int(request.GET["customer_id"]) if request.GET.get("customer_id") \
            else None
    except ValueError:
        customer_id = 0  # matches nothing, rather than exporting everything
    try:
        export = exports.contact_export(
            actor=user(request), q=request.GET.get("q", "")[:100], customer_id=customer_id,
            file_format=request.GET.get("format", "csv"))
    except ValidationFailed as exc:
        return _bad_export(exc)
    return exports.response(export)
