"""Writing audit events: every service records one in its own transaction.

Denials are the exception: they happen inside transactions that then roll back, so
they are queued and written by the request middleware once the request is over.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import uuid
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from kehu.core import busy, context, pii
from kehu.core.audit_actions import ACTIONS
from kehu.core.audit_actions import action_choices as action_choices
from kehu.core.audit_actions import action_label as action_label
from kehu.core.audit_actions import register_action as register_action
from kehu.core.models import AuditEvent

logger = logging.getLogger("kehu.audit")
# The action registry lives in kehu.core.audit_actions (models read its labels too);
# its functions stay importable from here.


def object_type_choices() -> list[tuple[str, str]]:
    """Kehu's own models, by the name audit rows store (``object_type``)."""
    from django.apps import apps

    return sorted(
        {(m._meta.model_name or "", str(m._meta.verbose_name))
         for m in apps.get_models() if m.__module__.startswith("kehu.")},
        key=lambda item: item[0],
    )


_pending_denials: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "kehu_pending_denials", default=None
)


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (dt.datetime, dt.date, Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values of ``obj`` as audit-ready plain data (FKs as ids)."""
    exclude: frozenset[str] = getattr(obj, "audit_exclude", frozenset())
    result: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        name = field.name
        if name in exclude or name == "tenant" or (fields is not None and name not in fields):
            continue
        result[name] = _plain(getattr(obj, field.attname))
    return result


def diff(model: type[models.Model] | models.Model, before: dict[str, Any],
         after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for changed fields, sensitive ones masked."""
    masked: dict[str, str] = getattr(model, "audit_masked", {})
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new or (old in (None, "") and new in (None, "")):
            continue  # nothing to nothing (a new record's blank field) is no change
        kind = masked.get(name)
        if kind:
            old, new = pii.mask(kind, old), pii.mask(kind, new)
        changes[name] = [old, new]
    return changes


def _event(*, actor: Any, action: str, obj: models.Model | None = None,
           changes: dict[str, Any] | None = None, tenant_id: int | None = None,
           object_type: str = "", object_id: Any = "", object_repr: str = "") -> AuditEvent:
    """An unsaved audit event: what ``record`` and ``record_many`` write."""
    if action not in ACTIONS:
        raise ValueError(f"Audit action {action!r} is not registered (audit.register_action).")
    ctx = context.current()
    actor_user = actor if getattr(actor, "pk", None) and hasattr(actor, "tenant_id") else None
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    if tenant_id is None:
        tenant_id = getattr(actor_user, "tenant_id", None) or getattr(obj, "tenant_id", None)
    return AuditEvent(
        tenant_id=tenant_id,
        # The actor's unit places the event in the tree; with no actor (failed sign-in), the
        # object's unit does, so branch managers see attempts on their own people.
        org_unit_id=(getattr(actor_user, "org_unit_id", None)
                     or getattr(obj, "org_unit_id", None)),
        actor=actor_user,
        actor_label=(actor_user.email if actor_user else str(actor or ""))[:300],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_repr=object_repr[:300],
        changes=changes or {},
        request_id=ctx.request_id,
        ip=ctx.ip,
    )


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    tenant_id: int | None = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
) -> AuditEvent:
    """Write one audit event; call it inside the service's transaction."""
    event = _event(actor=actor, action=action, obj=obj, changes=changes, tenant_id=tenant_id,
                   object_type=object_type, object_id=object_id, object_repr=object_repr)
    event.save()
    return event


def record_denial(user: Any, permission: str, model: type[models.Model] | None = None,
                  object_id: Any = "") -> None:
    """A permission denial; queued while a transaction that may roll back is open."""
    entry = {
        "actor": user,
        "action": "permission_denied",
        "object_type": model._meta.model_name if model is not None else "",
        "object_id": object_id,
        "changes": {"permission": permission},
    }
    if connection.in_atomic_block:
        pending = _pending_denials.get()
        if pending is None:
            pending = []
            _pending_denials.set(pending)
        pending.append(entry)
    else:
        record(**entry)


def flush_denials() -> None:
    """Write queued denials; the request middleware calls this when a request ends."""
    pending = _pending_denials.get()
    if not pending:
        return
    _pending_denials.set(None)
    try:
        with transaction.atomic():
            for entry in pending:
                record(**entry)
    except DatabaseError as exc:
        # The answer (403/404) is already made; a busy SQLite writer must not turn it
        # into a 500.
        if not busy.is_busy(exc):
            raise
        logger.warning("%d permission denials not audited: the database is busy", len(pending))


def discard_denials() -> None:
    """Forget queued denials (start of a request or test: nothing carries over)."""
    _pending_denials.set(None)


def record_many(
    *,
    actor: Any,
    action: str,
    items: list[tuple[models.Model, dict[str, Any]]],
    batch_size: int = 1000,
) -> int:
    """One audit event per ``(obj, changes)`` pair, written with ``bulk_create``: for
    services that write many records at once (imports). Same fields as ``record``; call
    it inside the service's transaction. The number of events written."""
    events = [_event(actor=actor, action=action, obj=obj, changes=changes)
              for obj, changes in items]
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    return len(events)


def mask_subject(*, tenant_id: int, object_type: str, object_id: Any, label: str) -> int:
    """A person's data was erased: the audit rows about that record keep who did what and
    when, with the record's name replaced by ``label`` and every changed value masked
    (the one update the database allows on an audit row, once). The count masked."""
    masked = 0
    rows = AuditEvent.objects.filter(tenant_id=tenant_id, object_type=object_type,
                                     object_id=str(object_id), masked_at__isnull=True)
    now = timezone.now()
    for pk, changes in rows.values_list("pk", "changes"):
        hidden = {name: ["***" if v not in (None, "", [], {}) else v for v in values]
                  if isinstance(values, list) else "***"
                  for name, values in (changes or {}).items()}
        masked += AuditEvent.objects.filter(pk=pk).mask(
            object_repr=label[:300], changes=hidden, masked_at=now)
    return masked
