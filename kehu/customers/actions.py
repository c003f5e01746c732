"""The record-action registry: buttons that later apps put on customer and contact pages
("Record interaction", later "New opportunity", "New ticket"), without the customers app
or its templates knowing those apps. Register in your AppConfig.ready::

    register_record_action("contact", "record-interaction", _("Record interaction"),
                           lambda contact: f"{reverse('interaction_create')}?contact={contact.pk}",
                           permission="interactions.create")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.utils.functional import Promise

from kehu.core import access

if TYPE_CHECKING:
    from kehu.core.models import User

RecordType = Literal["customer", "contact"]


@dataclass(frozen=True)
class RecordAction:
    key: str
    label: Promise | str
    url: Callable[[Any], str]
    permission: str | None = None
    order: int = 100
    # Shown only on the records it applies to (e.g. individual customers), when given.
    applies: Callable[[Any], bool] | None = None


ACTIONS: dict[str, dict[str, RecordAction]] = {"customer": {}, "contact": {}}


def register_record_action(record_type: RecordType, key: str, label: Promise | str,
                           url: Callable[[Any], str], *, permission: str | None = None,
                           order: int = 100,
                           applies: Callable[[Any], bool] | None = None) -> None:
    ACTIONS[record_type][key] = RecordAction(key, label, url, permission, order, applies)


def actions_for(record_type: RecordType, actor: User, record: Any) -> list[dict[str, str]]:
    """The actions ``actor`` may take on ``record``, in order: key, label and link."""
    shown = []
    for action in sorted(ACTIONS[record_type].values(), key=lambda a: (a.order, a.key)):
        if action.permission and not access.has_perm(actor, action.permission):
            continue
        if action.applies is not None and not action.applies(record):
            continue
        shown.append({"key": action.key, "label": str(action.label), "url": action.url(record)})
    return shown
