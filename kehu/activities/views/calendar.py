"""Pages: the calendar, its secret .ics feed and the feed link's creation and revocation.

Thin: forms parse, services write, selectors read. The link is managed from the reminder
settings page (a section registered with kehu.notifications).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kehu.activities.forms.calendar import CalendarForm
from kehu.activities.selectors import calendar as calendar_selectors
from kehu.activities.selectors.calendar import CalendarEvent
from kehu.activities.services import calendar as calendar_services
from kehu.core.exceptions import NotFound
from kehu.core.models import User
from kehu.core.web import page


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _range(view: str, day: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(first day shown, day after the last, previous anchor, next anchor)."""
    if view == "day":
        return day, day + dt.timedelta(days=1), day - dt.timedelta(days=1), \
            day + dt.timedelta(days=1)
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=7), day - dt.timedelta(days=7), \
            day + dt.timedelta(days=7)
    month_start = day.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    prev_month = (month_start - dt.timedelta(days=1)).replace(day=1)
    first = month_start - dt.timedelta(days=month_start.weekday())
    last = next_month + dt.timedelta(days=(7 - next_month.weekday()) % 7)
    return first, last, prev_month, next_month


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@require_GET
@page()
def calendar(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    today = timezone.localdate()
    view, day, user_id = CalendarForm(request.GET).values(today)
    try:
        first, after, prev_day, next_day = _range(view, day)
        start, end = _aware(first), _aware(after)
    except (OverflowError, ValueError):
        first, after, prev_day, next_day = _range(view, today)
        start, end = _aware(first), _aware(after)
        day = today
    target = calendar_selectors.calendar_user(viewer=me, user_id=user_id)
    events = calendar_selectors.calendar_events(me, target, start, end)
    by_day: dict[dt.date, list[CalendarEvent]] = defaultdict(list)
    for event in events:
        by_day[timezone.localdate(event.start)].append(event)
    days = []
    cursor = first
    while cursor < after:
        days.append({"date": cursor, "events": by_day.get(cursor, []), "is_today": cursor == today,
                     "in_month": view != "month" or cursor.month == day.month,
                     "weekend": cursor.weekday() >= 5})
        cursor += dt.timedelta(days=1)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    users = list(calendar_selectors.calendar_users(viewer=me))
    user_q = f"&user={target.pk}" if target.pk != me.pk else ""
    return render(request, "activities/calendar/calendar.html", {
        "view": view, "day": day, "today": today, "first": first,
        "last": after - dt.timedelta(days=1), "days": days, "weeks": weeks,
        "events": events, "target": target, "users": users,
        "is_own": target.pk == me.pk, "user_q": user_q,
        "prev_day": prev_day, "next_day": next_day,
        "views": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
        "weekday_names": [d["date"] for d in days[:7]] if view != "day" else [],
    })


@require_POST
@page()
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    feed, token = calendar_services.calendar_feed_create(actor=_me(request))
    url = request.build_absolute_uri(reverse("calendar_feed_ics", args=[token]))
    response = render(request, "activities/calendar/feed_once.html", {"url": url, "feed": feed})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@page()
def calendar_feed_revoke(request: HttpRequest) -> HttpResponse:
    try:
        calendar_services.calendar_feed_revoke(actor=_me(request))
    except NotFound:
        messages.info(request, _("You have no calendar link."))
    else:
        messages.success(request, _("The calendar link is revoked; it no longer works."))
    return redirect("notification_settings")


@require_GET
@never_cache
def calendar_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The public .ics feed: the secret in the address is the only credential."""
    try:
        owner = calendar_services.feed_owner(token)
    except NotFound:
        raise Http404 from None
    body = calendar_services.feed_ics(owner=owner,
                                      base_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="kehu.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
