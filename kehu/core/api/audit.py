"""The audit trail, read-only: ``/audit-events``."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from kehu.core import access, selectors
from kehu.core.http import DbId, Page, current_user, paginate, responses
from kehu.core.models import AuditEvent
from kehu.core.schemas.audit import AuditEventOut, AuditFilters

audit_router = Router(tags=["audit-events"])


@audit_router.get("", response=responses({200: Page[AuditEventOut]}))
def audit_event_list(request: HttpRequest, filters: Query[AuditFilters]) -> dict:
    """The audit trail you may read, newest first. Read-only: it cannot be changed."""
    qs = selectors.audit_event_list(
        actor=current_user(request), actor_id=filters.actor, object_type=filters.object_type,
        object_id=filters.object_id, action=filters.action, since=filters.since,
        until=filters.until,
    )
    return paginate(qs, filters)


@audit_router.get("/{event_id}", response=responses({200: AuditEventOut}, 404))
def audit_event_get(request: HttpRequest, event_id: DbId) -> object:
    return access.get_for(AuditEvent, current_user(request), event_id)

