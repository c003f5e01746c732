"""Pages: the notification centre, reminder settings, the calendar and its .ics feed.

Thin: forms parse, services write, selectors read. Every action is a plain form post that
redirects, so the pages work without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kehu.activities.forms_notifications import CalendarForm, ReminderSettingsForm
from kehu.activities.selectors import calendar as calendar_selectors
from kehu.activities.selectors import notifications as selectors
from kehu.activities.selectors.calendar import CalendarEvent
from kehu.activities.services import calendar as calendar_services
from kehu.activities.services import notifications as services
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.http import MAX_ID
from kehu.core.models import User
from kehu.core.views import page, service_error

NOTIFICATIONS_PER_PAGE = 25


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _safe(request: HttpRequest, target: str, default: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _id(value: int) -> int:
    if value > MAX_ID:
        raise Http404
    return value


# ---------------------------------------------------------------------------- notifications


@require_GET
@page()
def notification_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    unread_only = request.GET.get("show") == "unread"
    qs = selectors.notification_list(actor=me, unread=True if unread_only else None)
    page_obj = Paginator(qs, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "activities/notifications/list.html", {
        "page_obj": page_obj, "unread_only": unread_only,
        "query": "show=unread" if unread_only else "",
        "unread_total": selectors.unread_count(actor=me),
    })


@require_POST
@page()
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    services.notification_mark_read(actor=_me(request), notification_id=_id(notification_id))
    return redirect(_safe(request, request.POST.get("next", ""), reverse("notification_list")))


@require_GET
@page()
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notice's link, marking it read on the way."""
    notice = services.notification_mark_read(actor=_me(request),
                                             notification_id=_id(notification_id))
    return redirect(_safe(request, notice.url, reverse("notification_list")))


@require_POST
@page()
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(actor=_me(request))
    if count:
        messages.success(request, _("Marked %(n)d notifications read.") % {"n": count})
    return redirect(_safe(request, request.POST.get("next", ""), reverse("notification_list")))


@page()
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Reminder settings and the calendar feed link."""
    me = _me(request)
    current = services.reminder_settings(me)
    form = ReminderSettingsForm(request.POST or None, initial={
        "default_lead_minutes": current.default_lead_minutes,
        "email_enabled": current.email_enabled})
    if request.method == "POST" and form.is_valid():
        try:
            services.reminder_settings_update(actor=me, **form.cleaned_data)
        except ValidationFailed as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Reminder settings saved."))
            return redirect("notification_settings")
    return render(request, "activities/notifications/settings.html", {
        "form": form, "feed": calendar_services.calendar_feed_get(actor=me),
    })


# ---------------------------------------------------------------------------- calendar


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


urlpatterns: list[URLPattern] = [
    path("notifications/", notification_list, name="notification_list"),
    path("notifications/read-all/", notification_read_all, name="notification_read_all"),
    path("notifications/settings/", notification_settings, name="notification_settings"),
    path("notifications/<int:notification_id>/read/", notification_read,
         name="notification_read"),
    path("notifications/<int:notification_id>/open/", notification_open,
         name="notification_open"),
    path("calendar/", calendar, name="calendar"),
    path("calendar/feed/", calendar_feed_create, name="calendar_feed_create"),
    path("calendar/feed/revoke/", calendar_feed_revoke, name="calendar_feed_revoke"),
    path("calendar/feed/<slug:token>.ics", calendar_feed_ics, name="calendar_feed_ics"),
]
