"""The data-quality page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from kehu.core.web import page, user
from kehu.customers.selectors import quality as quality_selectors

# The quality page links to the customers scoring below this.
QUALITY_LINK_BELOW = 60


@page("customers.export")
def quality_report(request: HttpRequest) -> HttpResponse:
    report = quality_selectors.quality_report(actor=user(request))
    list_url = reverse("customer_list")
    units = []
    for row in report["by_unit"]:
        units.append(dict(row, average=round(row["average"] or 0), url=list_url + "?" + urlencode(
            {"org_unit_id": row["org_unit_id"], "quality_below": QUALITY_LINK_BELOW})))
    return render(request, "customers/quality/report.html", {
        "report": report, "units": units, "below": QUALITY_LINK_BELOW,
        "below_url": list_url + "?" + urlencode({"quality_below": QUALITY_LINK_BELOW,
                                                 "ordering": "quality"}),
    })
