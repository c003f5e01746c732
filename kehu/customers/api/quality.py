"""REST endpoint of the data-quality report."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from kehu.core import access
from kehu.core.http import current_user, responses
from kehu.customers.schemas.quality import QualityReportOut
from kehu.customers.selectors import quality as quality_selectors

# Mounted at /api/v1/customers before the customers router: /customers/quality comes
# before /customers/{id}.
quality_router = Router(tags=["customers"])


@quality_router.get("/quality", response=responses({200: QualityReportOut}, 403))
def quality_report(request: HttpRequest) -> dict:
    """Data quality over the customers you see: average score by owning unit (worst
    first) and the fields most often missing. Needs customers.export, like the page
    (a report over many customers)."""
    actor = current_user(request)
    access.require(actor, "customers.export")
    return quality_selectors.quality_report(actor=actor)
