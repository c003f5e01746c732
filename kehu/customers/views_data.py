"""HTML pages for data stewardship: duplicates and merge, data quality, exports.

Thin: the finder and the merge are kehu.customers.dedup, the report is
``selectors.quality_report``, the files are kehu.customers.exports.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import pii
from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.forms import KehuForm
from kehu.core.views import page, service_error, user
from kehu.customers import dedup, exports, reference, selectors
from kehu.customers.models import Customer

PAIRS_PER_PAGE = 10
# The quality page links to the customers scoring below this.
QUALITY_LINK_BELOW = 60


# ---------------------------------------------------------------------------- duplicates


def _region(code: str) -> str:
    found = reference.region(code) if code else None
    return found.full_name if found else code


def _industry(code: str) -> str:
    found = reference.industry(code) if code else None
    return str(found) if found else code


# (label, the value shown — masked as everywhere else)
COMPARED: tuple[tuple[Any, Any], ...] = (
    (gettext_lazy("Name"), lambda c: c.name),
    (gettext_lazy("Short name"), lambda c: c.short_name),
    (gettext_lazy("Customer code"), lambda c: c.code),
    (gettext_lazy("Kind"), lambda c: c.get_kind_display()),
    (gettext_lazy("Unified social credit code"), lambda c: c.uscc),
    (gettext_lazy("ID number"), lambda c: c.id_number_masked),
    (gettext_lazy("Phones"),
     lambda c: ", ".join(p["number"] for p in pii.mask_phone_list(c.phones))),
    (gettext_lazy("Emails"), lambda c: ", ".join(c.emails or [])),
    (gettext_lazy("Region"), lambda c: _region(c.region)),
    (gettext_lazy("Industry"), lambda c: _industry(c.industry)),
    (gettext_lazy("Lifecycle status"), lambda c: c.get_status_display()),
    (gettext_lazy("Key-account tier"), lambda c: c.get_tier_display()),
    (gettext_lazy("Account manager"), lambda c: c.owner.full_name if c.owner else ""),
    (gettext_lazy("Owning unit"), lambda c: c.org_unit.name),
    (gettext_lazy("Data quality"), lambda c: c.quality_score),
    (gettext_lazy("Created"),
     lambda c: timezone.localtime(c.created_at).strftime("%Y-%m-%d")),
)


def compare(a: Customer, b: Customer) -> list[dict[str, Any]]:
    """The fields of two customers side by side, with the differing ones marked."""
    rows = []
    for label, value in COMPARED:
        left, right = value(a), value(b)
        rows.append({"label": label, "a": left, "b": right,
                     "differs": str(left or "") != str(right or "")})
    return rows


@page("customers.admin")
def duplicate_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    candidates = dedup.find_candidates(actor=me)
    page_obj = Paginator(candidates, PAIRS_PER_PAGE).get_page(request.GET.get("page"))
    pairs = dedup.load_pairs(actor=me, candidates=list(page_obj))
    return render(request, "customers/data/duplicates.html", {
        "page_obj": page_obj,
        "pairs": [{"pair": pair, "rows": compare(pair.a, pair.b)} for pair in pairs],
    })


class MergeForm(KehuForm):
    autofocus = False
    survivor_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    loser_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    survivor_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    loser_version = forms.IntegerField(required=False, widget=forms.HiddenInput)


def _merge_ids(request: HttpRequest) -> tuple[int, int] | None:
    """The pair chosen on the review page: ``keep`` is the survivor among ``a``, ``b``."""
    try:
        a, b = int(request.GET["a"]), int(request.GET["b"])
        keep = int(request.GET["keep"])
    except (KeyError, ValueError):
        try:
            return int(request.GET["survivor"]), int(request.GET["loser"])
        except (KeyError, ValueError):
            return None
    if keep not in (a, b):
        return None
    return keep, b if keep == a else a


@page("customers.admin")
def customer_merge(request: HttpRequest) -> HttpResponseBase:
    """GET: the confirmation (what will move where); POST: the merge itself."""
    me = user(request)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            versions = {data["survivor_id"]: data["survivor_version"],
                        data["loser_id"]: data["loser_version"]}
            try:
                survivor = dedup.customer_merge(
                    actor=me, survivor_id=data["survivor_id"], loser_id=data["loser_id"],
                    expected_versions={k: v for k, v in versions.items() if v is not None})
            except KehuError as exc:
                service_error(request, None, exc)
                return redirect("duplicate_list")
            messages.success(request, _("Merged. “%(name)s” now holds everything of both.")
                             % {"name": survivor.name})
            return redirect("customer_detail", pk=survivor.pk)
        messages.error(request, _("Choose the two customers to merge."))
        return redirect("duplicate_list")
    ids = _merge_ids(request)
    if ids is None:
        messages.error(request, _("Choose which customer to keep."))
        return redirect("duplicate_list")
    try:
        preview = dedup.merge_preview(actor=me, survivor_id=ids[0], loser_id=ids[1])
    except ValidationFailed as exc:
        for errors in exc.fields.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("duplicate_list")
    survivor, loser = preview["survivor"], preview["loser"]
    form = MergeForm(initial={"survivor_id": survivor.pk, "loser_id": loser.pk,
                              "survivor_version": survivor.version,
                              "loser_version": loser.version})
    return render(request, "customers/data/merge_confirm.html", {
        "survivor": survivor, "loser": loser, "moves": sorted(preview["moves"].items()),
        "rows": compare(survivor, loser), "form": form,
    })


# ---------------------------------------------------------------------------- quality


@page("customers.export")
def quality_report(request: HttpRequest) -> HttpResponse:
    report = selectors.quality_report(actor=user(request))
    list_url = reverse("customer_list")
    units = []
    for row in report["by_unit"]:
        units.append(dict(row, average=round(row["average"] or 0), url=list_url + "?" + urlencode(
            {"org_unit_id": row["org_unit_id"], "quality_below": QUALITY_LINK_BELOW})))
    return render(request, "customers/data/quality.html", {
        "report": report, "units": units, "below": QUALITY_LINK_BELOW,
        "below_url": list_url + "?" + urlencode({"quality_below": QUALITY_LINK_BELOW,
                                                 "ordering": "quality"}),
    })


# ---------------------------------------------------------------------------- exports


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
            actor=user(request), filters=selectors.CustomerFilters.from_mapping(request.GET),
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


urlpatterns = [
    path("customers/duplicates/", duplicate_list, name="duplicate_list"),
    path("customers/merge/", customer_merge, name="customer_merge"),
    path("customers/quality/", quality_report, name="quality_report"),
    path("customers/export/", customer_export, name="customer_export"),
    path("contacts/export/", contact_export, name="contact_export"),
]
