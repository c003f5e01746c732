"""The per-user iCalendar feed: a secret link, shown once, that calendar apps subscribe to.

Only the SHA-256 of the secret is stored (as for API tokens), so a leaked database does not
leak working links. Creating a link replaces the previous one (one per user); revoking
deletes it. The feed shows the owner's calendar exactly as the owner may see it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.activities.models import CalendarFeed
from kehu.activities.selectors.calendar import calendar_events
from kehu.core import audit, busy
from kehu.core.exceptions import NotFound

if TYPE_CHECKING:
    from kehu.core.models import User

# The window a feed covers: calendar apps poll it, so it stays bounded.
FEED_PAST = dt.timedelta(days=30)
FEED_FUTURE = dt.timedelta(days=180)
# The feed's range is wider than an interactive request may ask for: read it in slices.
_SLICE = dt.timedelta(days=60)


def hash_feed_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, actor: User) -> tuple[CalendarFeed, str]:
    """A new secret feed link for the actor, replacing any earlier one.

    Returns the feed and the plain token, which is never stored and shown only now.
    """
    token = secrets.token_urlsafe(32)
    replaced = CalendarFeed.objects.filter(user_id=actor.pk).delete()[0] > 0
    feed = CalendarFeed.objects.create(tenant_id=actor.tenant_id, user=actor,
                                       token_hash=hash_feed_token(token), prefix=token[:6])
    audit.record(actor=actor, action="calendar_feed.create", obj=feed,
                 object_repr=f"{feed.prefix}…", changes={"replaced": [None, replaced]}
                 if replaced else None)
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, actor: User) -> None:
    """Revoke the actor's feed link: it stops working at once. 404 when there is none."""
    feed = CalendarFeed.objects.select_for_update().filter(user_id=actor.pk).first()
    if feed is None:
        raise NotFound()
    audit.record(actor=actor, action="calendar_feed.revoke", obj=feed,
                 object_repr=f"{feed.prefix}…")
    feed.delete()


def calendar_feed_get(*, actor: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(tenant_id=actor.tenant_id, user_id=actor.pk).first()


def feed_owner(token: str) -> User:
    """The active owner of the feed whose secret is ``token``; NotFound otherwise.

    Touches ``last_used_at`` (at most once a minute: calendar apps poll; skipped while
    the database is busy, so a poll never fails because an import is writing).
    """
    if not token or len(token) > 100:
        raise NotFound()
    feed = (CalendarFeed.objects.select_related("user", "user__org_unit", "user__tenant")
            .filter(token_hash=hash_feed_token(token)).first())
    if feed is None:
        raise NotFound()
    owner = feed.user
    if not owner.is_active or not owner.tenant.is_active or owner.tenant_id != feed.tenant_id:
        raise NotFound()
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=1):
        busy.write_if_free(
            lambda: CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now),
            "a calendar feed's last_used_at")
    return owner


def feed_ics(*, owner: User, base_url: str, now: dt.datetime | None = None) -> bytes:
    """The owner's calendar from 30 days back to 180 days ahead, as iCalendar bytes.

    ``base_url`` (scheme and host) makes the event links absolute.
    """
    from icalendar import Calendar, Event

    now = now or timezone.now()
    start, end = now - FEED_PAST, now + FEED_FUTURE
    events = []
    cursor = start
    while cursor < end:
        upto = min(cursor + _SLICE, end)
        events += calendar_events(owner, owner, cursor, upto)
        cursor = upto
    with translation.override(owner.language):
        cal = Calendar()
        cal.add("prodid", "-//Kehu CRM//kehu//")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", _("Kehu: %(name)s") % {"name": owner.full_name})
        cal.add("x-wr-timezone", timezone.get_current_timezone_name())
        for event in events:
            vevent = Event()
            vevent.add("uid", f"kehu-{event.type}-{event.id}@{owner.tenant_id}")
            vevent.add("dtstamp", now)
            vevent.add("dtstart", event.start)
            vevent.add("dtend", event.end)
            vevent.add("summary", f"[{event.label or event.type}] {event.title}")
            lines = [f"{_('Status')}: {event.status_label}"]
            if event.customer_ref is not None:
                lines.append(f"{_('Customer')}: " + (
                    _("a customer you cannot see") if event.customer_ref["redacted"]
                    else event.customer_ref["name"]))
            vevent.add("description", "\n".join(lines))
            vevent.add("url", base_url.rstrip("/") + event.url)
            vevent.add("categories", [event.type])
            if event.status == "done":
                vevent.add("status", "CONFIRMED")
            cal.add_component(vevent)
    return bytes(cal.to_ical())
