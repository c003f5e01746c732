"""API: the calendar and your calendar feed link.

Thin: parse, call services/selectors, shape.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status

from kehu.activities.schemas.calendar import (
    CalendarFeedCreatedOut,
    CalendarFeedOut,
    CalendarOut,
    CalendarQuery,
)
from kehu.activities.selectors import calendar as calendar_selectors
from kehu.activities.services import calendar as calendar_services
from kehu.core.http import current_user, idempotent, if_match, located, needs_if_match, responses

router = Router(tags=["calendar"])


@router.get("/calendar", response=responses({200: CalendarOut}, 404), tags=["calendar"])
def calendar(request: HttpRequest, query: Query[CalendarQuery]) -> dict:
    """Follow-ups, tasks, visits and meetings of a user between ``start`` and ``end``.

    Your own calendar, or a colleague's when their unit lies within your (unit or wider)
    data scope; otherwise 404. Each item is one you may see.
    """
    viewer = current_user(request)
    start, end = calendar_selectors.parse_range(query.start, query.end)
    target = calendar_selectors.calendar_user(viewer=viewer, user_id=query.user)
    events = calendar_selectors.calendar_events(viewer, target, start, end)
    return {
        "user": {"id": target.pk, "name": target.full_name}, "start": start, "end": end,
        "events": [{"type": e.type, "id": e.id, "title": e.title, "start": e.start,
                    "end": e.end, "all_day": e.all_day, "customer": e.customer_out,
                    "status": e.status, "overdue": e.overdue, "kind": e.kind, "url": e.url}
                   for e in events],
    }


@router.get("/calendar/feed", response=responses({200: CalendarFeedOut}), tags=["calendar"])
def calendar_feed_get(request: HttpRequest) -> dict:
    """Whether you have a calendar feed link (its secret is never shown again)."""
    feed = calendar_services.calendar_feed_get(actor=current_user(request))
    return {"active": feed is not None, "prefix": feed.prefix if feed else None,
            "created_at": feed.created_at if feed else None,
            "last_used_at": feed.last_used_at if feed else None}


@router.post("/calendar/feed", response=responses({201: CalendarFeedCreatedOut}),
             tags=["calendar"])
@idempotent(secret_fields=("url",))
@located("/calendar/feed")
def calendar_feed_create(request: HttpRequest) -> Status:
    """Create your secret iCalendar (.ics) link, replacing any earlier one. The address
    is shown this once; subscribe to it from a calendar app."""
    feed, token = calendar_services.calendar_feed_create(actor=current_user(request))
    url = request.build_absolute_uri(reverse("calendar_feed_ics", args=[token]))
    return Status(201, {"url": url, "prefix": feed.prefix, "created_at": feed.created_at})


@router.delete("/calendar/feed", response={204: None, **responses({}, 404, 412, 428)},
               tags=["calendar"])
@needs_if_match
def calendar_feed_revoke(request: HttpRequest) -> Status:
    """Revoke your calendar link: it stops working at once (404 when you have none).
    The link has no versions: send `If-Match: *`."""
    if_match(request)
    calendar_services.calendar_feed_revoke(actor=current_user(request))
    return Status(204, None)
