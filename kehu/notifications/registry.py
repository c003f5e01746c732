"""What other apps register with notifications: the kinds of notice they send, and the
models whose reminders the periodic job fires (``Reminding`` subclasses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

KINDS: dict[str, Promise | str] = {}


def register_kind(key: str, label: Promise | str) -> None:
    KINDS[key] = label


def kind_label(key: str) -> str:
    return str(KINDS.get(key, key))


@dataclass(frozen=True)
class ReminderSource:
    """A model whose rows carry reminders.

    ``recipients(row)`` names who is reminded; ``render(row, recipient)`` returns the kind,
    title, body and link of the notice (called in the recipient's language)."""

    model: type[Any]
    kind: str
    recipients: Callable[[Any], list[Any]]
    render: Callable[[Any, Any], dict[str, str]]
    # Extra filter on due rows (e.g. only open ones), as keyword lookups.
    open_filter: dict[str, Any]


REMINDER_SOURCES: list[ReminderSource] = []


def register_reminder_source(source: ReminderSource) -> None:
    REMINDER_SOURCES.append(source)
