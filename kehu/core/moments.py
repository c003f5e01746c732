"""The range of dates Kehu accepts (1900-01-01 to 2200-12-31) and the one check of it.

Python's dates end at years 1 and 9999: a date-time there with an offset overflows when
converted to the server's time zone, so input outside this range is refused (API: 422,
forms: a field error) and stored rows are clamped into it (activities migration 0012).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

MIN_YEAR = 1900
MAX_YEAR = 2200
MIN_DAY = dt.date(MIN_YEAR, 1, 1)
MAX_DAY = dt.date(MAX_YEAR, 12, 31)
# For the OpenAPI spec: the year of an ISO date or date-time lies in the range.
YEAR_PATTERN = r"^(19\d\d|2[01]\d\d|2200)-"


class OutOfRange(ValueError):
    pass


def check_day(value: dt.date) -> dt.date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise OutOfRange(value)
    return value


def check_moment(value: dt.datetime) -> dt.datetime:
    """``value`` aware (a naive one is read in the current time zone), converted to the
    current time zone, and on a day in the range; else ``OutOfRange``."""
    # The year first: arithmetic on a date-time near year 1 or 9999 overflows.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise OutOfRange(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    local = timezone.localtime(value)
    check_day(local.date())
    return local


def clamp_moment(value: dt.datetime) -> dt.datetime:
    """A stored date-time moved into the range: itself when inside, else the first or
    last moment of the range (in the current time zone)."""
    try:
        return check_moment(value)
    except OutOfRange:
        if value.year < 2000:
            return timezone.make_aware(dt.datetime.combine(MIN_DAY, dt.time.min))
        return timezone.make_aware(dt.datetime.combine(MAX_DAY, dt.time(23, 59, 59)))


def parse_day(value: Any) -> dt.date | None:
    """A date from a date or ISO text, in range; unreadable or out of range → None."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = parse_date(str(value or "").strip())
        except ValueError:
            return None
    if value is None:
        return None
    try:
        return check_day(value)
    except OutOfRange:
        return None


def parse_moment(value: Any, *, end: bool = False, inclusive: bool = False) -> dt.datetime | None:
    """A list filter's date-time from a datetime, a date or ISO text (no offset: the
    current time zone), in range; unreadable or out of range → None (no filter). A bare
    date is its start; with ``end`` the start of the next day, or with ``inclusive`` its
    last instant."""
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif not isinstance(value, dt.date):
        text = str(value or "").strip()
        try:
            moment = parse_datetime(text)
        except ValueError:
            return None
    if moment is None:
        day = parse_day(value)
        if day is None:
            return None
        if end and not inclusive:
            if day == MAX_DAY:
                return check_moment(dt.datetime.combine(day, dt.time.max))
            day += dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time.max if end and inclusive else dt.time.min)
    try:
        return check_moment(moment)
    except OutOfRange:
        return None
