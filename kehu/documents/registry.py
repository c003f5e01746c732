"""The attachment-target registry: which records may carry documents.

A platform app cannot know the domain apps, so a document points at its record by a
registered key and an id (``target_type``, ``target_id``) instead of a foreign key. Each
app registers its attachable models in its AppConfig.ready::

    register_attachment_target("customers.customer", Customer, label=_("customer"))

A document is visible to whoever may see its record (in the same scope) and to its own
unit/owner; the registered model's ``scope_q``/``in_scope`` decide, so the one access
policy (kehu.core.access) still holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.functional import Promise


@dataclass(frozen=True)
class AttachmentTarget:
    key: str
    model: type[models.Model]
    label: Promise | str


TARGETS: dict[str, AttachmentTarget] = {}


def register_attachment_target(key: str, model: type[models.Model], *,
                               label: Promise | str) -> None:
    TARGETS[key] = AttachmentTarget(key, model, label)


def target_key(obj: Any) -> str:
    """The registered key of a record's model; ``LookupError`` when it takes no files."""
    for target in TARGETS.values():
        if isinstance(obj, target.model):
            return target.key
    raise LookupError(f"{type(obj).__name__} is not a registered attachment target")


def target(key: str) -> AttachmentTarget:
    try:
        return TARGETS[key]
    except KeyError:
        raise LookupError(f"{key!r} is not a registered attachment target") from None
