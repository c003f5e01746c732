"""The attachment-target registry: which records may carry documents.

A platform app cannot know the domain apps, so a document points at its record by a
registered key and an id (``target_type``, ``target_id``) instead of a foreign key. Each
app registers its attachable models in its AppConfig.ready::

    register_attachment_target("customers.customer", Customer, label=_("customer"))

A document is visible to whoever may see its record (in the same scope) and to its own
unit/owner; the registered model's ``scope_q``/``in_scope`` decide, so the one access
policy (kehu.core.access) still holds.

A target also has a short ``name`` (by default the key's last part: "customer"), which
the forms and the API take as ``customer=<id>`` / ``customer_id=<id>`` next to the
generic ``target_type`` + ``target_id``; ``rolls_up_to`` names the records whose document
panel also lists this one's files (an interaction's files show on its customer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kehu.core.models import User

# (actor) -> the records of the model the actor may attach files to.
Attachable = Callable[["User"], "models.QuerySet[Any]"]


@dataclass(frozen=True)
class AttachmentTarget:
    key: str
    model: type[models.Model]
    label: Promise | str
    name: str
    # The field error when the chosen record is not one the actor may attach to.
    choose_message: Promise | str
    attachable: Attachable | None = None
    # Registered key of a parent record → the field of this model pointing at it.
    rolls_up_to: Mapping[str, str] = field(default_factory=dict)

    def attachable_to(self, actor: User) -> models.QuerySet[Any]:
        """The records of this type the actor may attach a file to (default: the ones
        ``visible_to`` them)."""
        if self.attachable is not None:
            return self.attachable(actor)
        model: Any = self.model
        queryset: models.QuerySet[Any] = model.objects.visible_to(actor)
        return queryset


TARGETS: dict[str, AttachmentTarget] = {}


def register_attachment_target(key: str, model: type[models.Model], *,
                               label: Promise | str, name: str = "",
                               choose_message: Promise | str | None = None,
                               attachable: Attachable | None = None,
                               rolls_up_to: Mapping[str, str] | None = None) -> None:
    name = name or key.rsplit(".", 1)[-1]
    for other in TARGETS.values():
        if other.key != key and other.name == name:
            raise ValueError(f"attachment target name {name!r} is taken by {other.key!r}")
    TARGETS[key] = AttachmentTarget(
        key, model, label, name,
        choose_message if choose_message is not None else _("Choose a record you can see."),
        attachable, dict(rolls_up_to or {}))


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


def by_name(name: str) -> AttachmentTarget:
    """The target registered under a short name ("customer"); ``LookupError`` if none."""
    for found in TARGETS.values():
        if found.name == name:
            return found
    raise LookupError(f"no attachment target is named {name!r}")
