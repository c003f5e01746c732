"""What the core services share: saving a change with its audit diff, audited refusals."""

from __future__ import annotations

from typing import Any

from kehu.core import audit
from kehu.core.exceptions import Forbidden
from kehu.core.models import User
from kehu.core.versions import bump_version


def save_changes(obj: Any, before: dict[str, Any], extra_after: dict[str, Any] | None = None,
                  ) -> dict[str, list[Any]]:
    """Save ``obj`` if anything changed since ``before``; the audit diff, empty when
    nothing did (then no new version and no audit row: a no-op save is not an event)."""
    changes = audit.diff(type(obj), before, audit.snapshot(obj) | (extra_after or {}))
    if changes:
        bump_version(obj)
    return changes


def refuse(actor: User, permission: str, message: str) -> Forbidden:
    """A refusal that is audited as a denial (it survives the rollback)."""
    audit.record_denial(actor, permission)
    return Forbidden(message)

