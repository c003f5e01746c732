"""Pages: manager views (跟进分析) — customers without contact for N days, overdue
follow-ups, activity counts by type, person and week. Thin: the filter form parses,
``selectors.reports`` computes (through ``visible_to``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from kehu.activities.forms.reports import ReportFilterForm
from kehu.activities.selectors import reports
from kehu.core import references
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.web import page, user

PER_PAGE = 25


def _filters(request: HttpRequest, me: User,
             dates: bool = True) -> tuple[ReportFilterForm, dict[str, Any]]:
    units = list(reports.report_units(me))
    start, end = reports.default_range()
    # Always bound, with the defaults filled in, so the fields show what is applied.
    data = {"days": str(reports.DEFAULT_DAYS), "start": start.isoformat(),
            "end": end.isoformat()}
    data.update({k: str(v) for k, v in request.GET.items() if v})
    form = ReportFilterForm(data, units=units, dates=dates)
    values: dict[str, Any] = {"days": reports.DEFAULT_DAYS, "unit": None, "start": start,
                              "end": end, "owner": None}
    if form.is_valid():
        data = form.cleaned_data
        values.update({k: v for k, v in data.items() if v is not None})
    try:
        values["unit_obj"] = reports.report_unit(me, values["unit"])
    except ValidationFailed as exc:
        form.add_service_error(exc)
        values["unit_obj"] = None
    return form, values


def _query(values: dict[str, Any], *keys: str) -> str:
    parts = {}
    for key in keys:
        value = values.get(key)
        if value is not None:
            parts[key] = value.isoformat() if isinstance(value, dt.date) else value
    return urlencode(parts)


@page(reports.PERMISSION)
def engagement_report(request: HttpRequest) -> HttpResponse:
    me = user(request)
    form, values = _filters(request, me)
    unit = values["unit_obj"]
    ctx: dict[str, Any] = {"form": form, "days": values["days"]}
    try:
        ctx["silent"] = reports.uncontacted_summary(actor=me, days=values["days"], unit=unit)
        ctx["overdue"] = reports.overdue_summary(actor=me, unit=unit)
        ctx["activity"] = reports.activity_counts(actor=me, start=values["start"],
                                                  end=values["end"], unit=unit)
    except ValidationFailed as exc:
        form.add_service_error(exc)
        ctx.update(silent=None, overdue=None, activity=None)
    ctx["query"] = _query(values, "days", "unit")
    return render(request, "activities/reports/engagement.html", ctx,
                  status=422 if form.errors else 200)


@page(reports.PERMISSION)
def uncontacted_list(request: HttpRequest) -> HttpResponse:
    """Drill-down: the silent customers, with their last contact, paged."""
    me = user(request)
    form, values = _filters(request, me, dates=False)
    try:
        qs = reports.uncontacted_customers(actor=me, days=values["days"],
                                           unit=values["unit_obj"], owner_id=values["owner"])
    except ValidationFailed as exc:
        form.add_service_error(exc)
        qs = None
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page")) if qs is not None \
        else None
    return render(request, "activities/reports/uncontacted.html", {
        "form": form, "page_obj": page_obj, "days": values["days"],
        "query": _query(values, "days", "unit", "owner"),
        "back": _query(values, "days", "unit")}, status=422 if form.errors else 200)


@page(reports.PERMISSION)
def overdue_list(request: HttpRequest) -> HttpResponse:
    """Drill-down: overdue follow-ups, oldest first, paged."""
    me = user(request)
    form, values = _filters(request, me, dates=False)
    qs = reports.overdue_followups(actor=me, unit=values["unit_obj"], owner_id=values["owner"])
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    references.prime_objects(me, (f.customer for f in page_obj.object_list))
    return render(request, "activities/reports/overdue.html", {
        "form": form, "page_obj": page_obj, "query": _query(values, "days", "unit", "owner"),
        "back": _query(values, "days", "unit")})


urlpatterns: list[URLPattern] = [
    path("reports/engagement", engagement_report, name="engagement_report"),
    path("reports/engagement/uncontacted", uncontacted_list, name="engagement_uncontacted"),
    path("reports/engagement/overdue", overdue_list, name="engagement_overdue"),
]
