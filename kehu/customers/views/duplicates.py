"""HTML pages of the duplicate review and the merge. Thin: the finder is
``selectors.duplicates``, the merge ``services.merge``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import pii
from kehu.core.exceptions import KehuError, ValidationFailed
from kehu.core.web import page, service_error, user
from kehu.customers import reference
from kehu.customers.forms.duplicates import MergeForm
from kehu.customers.models import Customer
from kehu.customers.selectors import duplicates as duplicate_selectors
from kehu.customers.services import merge as merge_services

PAIRS_PER_PAGE = 10


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
    candidates = duplicate_selectors.find_candidates(actor=me)
    page_obj = Paginator(candidates, PAIRS_PER_PAGE).get_page(request.GET.get("page"))
    pairs = duplicate_selectors.load_pairs(actor=me, candidates=list(page_obj))
    return render(request, "customers/duplicates/list.html", {
        "page_obj": page_obj,
        "pairs": [{"pair": pair, "rows": compare(pair.a, pair.b)} for pair in pairs],
    })




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
                survivor = merge_services.customer_merge(
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
        preview = merge_services.merge_preview(actor=me, survivor_id=ids[0], loser_id=ids[1])
    except ValidationFailed as exc:
        for errors in exc.fields.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("duplicate_list")
    survivor, loser = preview["survivor"], preview["loser"]
    form = MergeForm(initial={"survivor_id": survivor.pk, "loser_id": loser.pk,
                              "survivor_version": survivor.version,
                              "loser_version": loser.version})
    return render(request, "customers/duplicates/merge_confirm.html", {
        "survivor": survivor, "loser": loser, "moves": sorted(preview["moves"].items()),
        "rows": compare(survivor, loser), "form": form,
    })
