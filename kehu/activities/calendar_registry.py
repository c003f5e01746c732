"""The calendar-entry registry: what fills a user's calendar.

activities cannot know the apps that come after it, so the calendar pages,
``GET /api/v1/calendar`` and the .ics feed show whatever is registered here. An app adds a
source in its AppConfig.ready (its ``registrations.py``)::

    register_calendar_source("close_dates", _("Close dates"), close_date_entries,
                             permission="opportunities.view", order=40)

``load(viewer, owner, start, end)`` returns the ``CalendarEvent`` entries of ``owner``'s
calendar in [start, end) that ``viewer`` may see: each source reads through
``visible_to(viewer)`` itself, in a fixed number of queries. A source whose
``permission`` the viewer lacks is skipped. The sources' permissions also decide whose
calendar a manager may open (``selectors.calendar.may_view_calendar``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

from kehu.core import access

if TYPE_CHECKING:
    from kehu.core.models import User
    from kehu.customers.models import Customer

# Entries that are a point in time (a due time) are drawn this long.
POINT_MINUTES = 30


@dataclass(frozen=True)
class CalendarEvent:
    """One calendar entry, as the pages, the API and the .ics feed show it."""

    type: str  # the source's kind of entry: "followup", "task", "interaction", …
    id: int  # with ``type``, unique and stable (the .ics UID)
    title: str
    start: dt.datetime
    end: dt.datetime
    all_day: bool
    customer: Customer | None  # the customer it concerns, if any
    status: str
    status_label: str
    url: str
    overdue: bool = False
    kind: str = ""  # a finer kind within the type (an interaction's visit, meeting)
    kind_label: str = ""
    label: str = ""  # shown before the title ("Close date"); empty: the source's label
    css_class: str = ""  # extra CSS class(es) on the entry in the pages
    # The customer as the reader may see it (kehu.core.references: named, or redacted);
    # ``calendar_events`` fills it for every entry, and pages, API and feed show only it.
    customer_ref: dict[str, Any] | None = None

    @property
    def customer_out(self) -> dict[str, Any] | None:
        return self.customer_ref


# (viewer, owner, start, end) -> the owner's entries in [start, end) the viewer may see.
CalendarLoader = Callable[["User", "User", dt.datetime, dt.datetime], Iterable[CalendarEvent]]


@dataclass(frozen=True)
class CalendarSource:
    key: str
    label: Promise | str
    load: CalendarLoader
    permission: str | None = None
    order: int = 100


SOURCES: dict[str, CalendarSource] = {}


def register_calendar_source(key: str, label: Promise | str, load: CalendarLoader, *,
                             permission: str | None = None, order: int = 100) -> None:
    SOURCES[key] = CalendarSource(key, label, load, permission, order)


def unregister_calendar_source(key: str) -> None:
    """Remove a source (tests that register their own)."""
    SOURCES.pop(key, None)


def all_sources() -> list[CalendarSource]:
    return sorted(SOURCES.values(), key=lambda s: (s.order, s.key))


def sources_for(viewer: User) -> list[CalendarSource]:
    """The sources ``viewer`` may read, in order."""
    return [s for s in all_sources() if s.permission is None
            or access.has_perm(viewer, s.permission)]


def source_permissions() -> tuple[str, ...]:
    """The permissions of the registered sources (each counted once)."""
    return tuple(dict.fromkeys(s.permission for s in all_sources() if s.permission))
