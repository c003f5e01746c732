"""Reads of the personal-data feature: the tenant's retention rules with their latest
dry-run reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kehu.core import access
from kehu.core.models import User
from kehu.customers.models import RetentionRule
from kehu.customers.services.privacy import RETENTION_NOTICE


def _report(rule: RetentionRule) -> dict[str, Any] | None:
    if rule.reported_at is None:
        return None
    before = rule.report.get("before")
    return {"total": int(rule.report.get("total", 0)),
            "customers": len(rule.report.get("customers", {})),
            "cutoff": dt.datetime.fromisoformat(before) if before else None,
            "reported_at": rule.reported_at,
            "acts_from": rule.reported_at + RETENTION_NOTICE}


def retention_rules(actor: User) -> list[dict[str, Any]]:
    """Every kind of retention rule, with the tenant's rule of that kind if set (off
    otherwise: version 0). Administrators of personal data only (``privacy.erase``, as
    for setting them)."""
    access.require(actor, "privacy.erase")
    rules = {r.kind: r for r in RetentionRule.objects.filter(tenant_id=actor.tenant_id)}
    rows = []
    for kind, label in RetentionRule.Kind.choices:
        rule = rules.get(kind)
        rows.append({
            "kind": kind, "label": str(label), "enabled": rule is not None,
            "years": rule.years if rule else None,
            "report": _report(rule) if rule else None,
            "last_run_at": rule.last_run_at if rule else None,
            "last_deleted": rule.last_deleted if rule else 0,
            "version": rule.version if rule else 0})
    return rows


def retention_rule(actor: User, kind: str) -> dict[str, Any]:
    """One kind's row of ``retention_rules``."""
    return next(row for row in retention_rules(actor) if row["kind"] == kind)
