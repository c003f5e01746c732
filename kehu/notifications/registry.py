"""What other apps register with notifications: the kinds of notice they send, the models
whose reminders the periodic job fires, and extra sections of the settings page.

Registered at start-up from each app's ``registrations.py``; registering the same name
again replaces the earlier entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from kehu.core.models import User

# ---------------------------------------------------------------------------- kinds

KINDS: dict[str, Promise | str] = {}


def register_kind(key: str, label: Promise | str) -> None:
    KINDS[key] = label


def kind_label(key: str) -> str:
    return str(KINDS.get(key, key))


# ---------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class ReminderNotice:
    """How one reminder reads for one recipient. ``key`` names the event (unique per
    recipient: include the row and its due time, so a moved due time reminds again)."""

    kind: str
    title: str
    key: str
    body: str = ""
    url: str = ""


@dataclass(frozen=True)
class ReminderSource:
    """A model (inheriting ``Reminding``) whose rows remind people.

    ``rows()``: the rows that may still remind (e.g. open ones; the job adds the
    ``remind_at``/``reminded_at`` conditions, and re-applies this filter when it claims a
    row). ``recipients(row)``: who is reminded (inactive users are skipped).
    ``notice(row, recipient)``: the notice, called in the recipient's language.
    ``related``: select_related for the batch. ``email``: also queue an email (if the
    recipient wants reminders by email).
    """

    name: str
    rows: Callable[[], QuerySet[Any]]
    recipients: Callable[[Any], Iterable[User | None]]
    notice: Callable[[Any, User], ReminderNotice]
    related: tuple[str, ...] = ()
    email: bool = True


REMINDER_SOURCES: dict[str, ReminderSource] = {}


def register_reminder_source(source: ReminderSource) -> None:
    REMINDER_SOURCES[source.name] = source


def reminder_sources() -> list[ReminderSource]:
    """The registered sources, in registration order."""
    return list(REMINDER_SOURCES.values())


# ---------------------------------------------------------------------------- settings page


@dataclass(frozen=True)
class SettingsSection:
    """A card on the reminder settings page (e.g. the calendar link).

    ``template`` is included with ``data = context(user)``; ``link`` (url name, label),
    when given, is shown next to the page title."""

    name: str
    template: str
    context: Callable[[User], dict[str, Any]]
    order: int = 100
    link: tuple[str, Promise | str] | None = None


SETTINGS_SECTIONS: dict[str, SettingsSection] = {}


def register_settings_section(section: SettingsSection) -> None:
    SETTINGS_SECTIONS[section.name] = section


def settings_sections() -> list[SettingsSection]:
    return sorted(SETTINGS_SECTIONS.values(), key=lambda s: (s.order, s.name))
