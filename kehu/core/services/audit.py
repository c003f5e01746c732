"""The audit log export: itself an audited event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from kehu.core import access, audit, selectors
from kehu.core.models import AuditEvent, User


@transaction.atomic
def audit_export(*, actor: User, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """The events to export; the export itself is an audited event."""
    access.require(actor, "audit.export")
    events = selectors.audit_event_list(actor=actor, for_export=True, **filters)
    audit.record(actor=actor, action="audit.export", object_type="auditevent", changes={
        "filters": {k: str(v) for k, v in filters.items() if v not in (None, "")},
        "rows": events.count(),
    })
    return events

