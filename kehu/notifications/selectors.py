"""Reads of the personal inbox: only ever the actor's own notifications."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Case, QuerySet, Value, When

from kehu.notifications.models import Notification

if TYPE_CHECKING:
    from kehu.core.models import User


def notification_list(*, actor: User, unread: bool | None = None, unread_first: bool = False,
                      read_via: str | None = None,
                      read_since: dt.datetime | None = None) -> QuerySet[Notification]:
    """The actor's notifications, newest first (``unread_first``: unread ones on top);
    ``read_via`` / ``read_since``: only those first read that way / since then."""
    qs = Notification.objects.for_recipient(actor)
    if read_via:
        qs = qs.filter(read_via=read_via)
    if read_since is not None:
        qs = qs.filter(read_at__gte=read_since)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if unread_first:
        return qs.order_by(Case(When(read_at__isnull=True, then=Value(0)), default=Value(1)),
                           "-created_at", "-id")
    return qs.order_by("-created_at", "-id")


def unread_count(*, actor: User) -> int:
    """One indexed count (recipient, read_at) for the header badge."""
    return Notification.objects.for_recipient(actor).filter(read_at__isnull=True).count()


def outbox_counts() -> dict[str, int]:
    """Installation-wide email outbox totals for monitoring (``/metrics``): no tenant's
    content, only how many emails wait (or are being sent) and how many failed."""
    from django.db.models import Count, Q

    totals = Notification.objects.aggregate(
        backlog=Count("pk", filter=Q(email_status__in=[Notification.Email.PENDING,
                                                       Notification.Email.SENDING])),
        failed=Count("pk", filter=Q(email_status=Notification.Email.FAILED)))
    return {"backlog": int(totals["backlog"] or 0), "failed": int(totals["failed"] or 0)}
