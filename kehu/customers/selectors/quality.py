"""The data-quality report over the customers an actor sees."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count

from kehu.core.models import User
from kehu.customers import quality
from kehu.customers.models import Customer


def quality_report(*, actor: User) -> dict[str, Any]:
    """Scores by owning unit and the fields most often missing, over what the actor sees."""
    qs = Customer.objects.visible_to(actor).live()
    by_unit = list(qs.values("org_unit_id", "org_unit__name")
                   .annotate(customers=Count("id"), average=Avg("quality_score"))
                   .order_by("average", "org_unit__name"))
    totals = qs.aggregate(customers=Count("id"), average=Avg("quality_score"),
                          **{f"missing_{c.key}": Count("id", filter=c.missing_q)
                             for c in quality.CHECKS})
    total = totals["customers"] or 0
    fields = sorted(
        ({"key": c.key, "label": str(c.label), "missing": totals[f"missing_{c.key}"],
          "share": round(100 * totals[f"missing_{c.key}"] / total) if total else 0,
          "weight": c.weight} for c in quality.CHECKS),
        key=lambda item: (-item["missing"] * item["weight"], item["key"]))
    return {"customers": total, "average": round(totals["average"] or 0), "by_unit": by_unit,
            "fields": fields}
