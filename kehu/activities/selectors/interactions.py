"""Reads of interactions: always through ``Interaction.objects.visible_to``.

``customer_timeline`` is the customer view's panel and the timeline page: one page of a
customer's interactions in a fixed number of queries (count, page, contacts,
participants), whatever the amount of data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.calendar_registry import CalendarEvent
from kehu.activities.models import (
    CALENDAR_KINDS,
    Interaction,
    InteractionKind,
    InteractionParticipant,
)
from kehu.activities.selectors.calendar import interaction_url
from kehu.core import moments
from kehu.core.models import OrgUnit, User
from kehu.customers.selectors import contacts as contact_selectors
from kehu.documents import selectors as documents

if TYPE_CHECKING:
    from kehu.customers.models import Customer

TIMELINE_PAGE = 20
# A visit or meeting without a duration is drawn this long in the calendar.
DEFAULT_MEETING_MINUTES = 60


def _integer(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def parse_moment(value: Any, *, end: bool = False) -> dt.datetime | None:
    """A datetime, or an ISO date/time string; a bare date is the start (or with ``end``,
    the end) of that day in the server's time zone. Unreadable or out of range → None."""
    return moments.parse_moment(value, end=end)


@dataclass
class InteractionFilters:
    customer_id: int | None = None
    contact_id: int | None = None
    kind: str = ""
    owner_id: int | None = None
    org_unit_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    q: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> InteractionFilters:
        """From a query dict or plain dict; unreadable values are ignored."""
        kind = str(data.get("kind") or "")
        return cls(
            customer_id=_integer(data.get("customer_id")),
            contact_id=_integer(data.get("contact_id")),
            kind=kind if kind in InteractionKind.values else "",
            owner_id=_integer(data.get("owner_id")),
            org_unit_id=_integer(data.get("org_unit_id")),
            start=parse_moment(data.get("start")),
            end=parse_moment(data.get("end"), end=True),
            q=str(data.get("q") or "").strip()[:100],
        )


def interaction_list(*, actor: User, filters: InteractionFilters | None = None,
                     action: str = "view") -> QuerySet[Interaction]:
    f = filters or InteractionFilters()
    qs = Interaction.objects.visible_to(actor, action)
    simple = {"customer_id": f.customer_id, "owner_id": f.owner_id, "kind": f.kind}
    qs = qs.filter(**{k: v for k, v in simple.items() if v not in (None, "")})
    if f.contact_id is not None:
        qs = qs.filter(contacts__id=f.contact_id)
    if f.org_unit_id is not None:
        unit = OrgUnit.objects.filter(tenant_id=actor.tenant_id, pk=f.org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    if f.start is not None:
        qs = qs.filter(occurred_at__gte=f.start)
    if f.end is not None:
        qs = qs.filter(occurred_at__lt=f.end)
    if f.q:
        qs = qs.filter(subject__icontains=f.q)
    return qs.select_related("customer", "owner", "org_unit").order_by("-occurred_at", "-id")


def with_details(qs: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """What a list or timeline shows per row, in a fixed number of queries."""
    return qs.select_related("customer", "owner", "org_unit", "created_by").prefetch_related(
        Prefetch("contacts", queryset=contact_selectors.contacts_by_id()),
        Prefetch("participants", queryset=User.objects.order_by("id")),
    ).annotate(document_count=documents.attached_count("activities.interaction"))


def interaction_get(*, actor: User, interaction_id: int) -> Interaction:
    from kehu.core.exceptions import NotFound

    found = with_details(Interaction.objects.visible_to(actor)).filter(
        pk=interaction_id).first()
    if found is None:
        from kehu.core import access

        access.get_for(Interaction, actor, interaction_id)  # audits a denial
        raise NotFound()
    return found


def customer_recent(*, actor: User, customer_id: int, limit: int = 30) -> list[Interaction]:
    """The customer's latest interactions ``actor`` may see (to pick one that fulfilled a
    follow-up)."""
    return list(Interaction.objects.visible_to(actor).filter(customer_id=customer_id)
                .order_by("-occurred_at", "-id")[:limit])


def timeline_item(i: Interaction) -> dict[str, Any]:
    """One timeline entry as JSON-ready data (the panel's API shape)."""
    local = timezone.localtime(i.occurred_at)
    return {
        "id": i.pk, "kind": i.kind, "kind_label": str(i.get_kind_display()),
        "direction": i.direction, "channel": i.channel,
        "channel_label": str(i.get_channel_display()),
        "occurred_at": i.occurred_at.isoformat(), "when": local.strftime("%Y-%m-%d %H:%M"),
        "duration_minutes": i.duration_minutes, "subject": i.subject,
        "content": i.content[:500], "outcome": i.outcome, "next_step": i.next_step,
        "owner": {"id": i.owner.pk, "name": i.owner.full_name} if i.owner else None,
        "contacts": [{"id": c.pk, "name": c.name} for c in i.contacts.all()],
        "participants": [{"id": u.pk, "name": u.full_name} for u in i.participants.all()],
        "document_count": getattr(i, "document_count", 0),
    }


def customer_timeline(*, actor: User, customer: Customer, kind: str = "",
                      limit: int = TIMELINE_PAGE, offset: int = 0) -> dict[str, Any]:
    """A page of ``customer``'s interactions the actor may see, newest first, optionally
    of one ``kind``; with the count per kind for the filter. Four queries (five with
    any row: the two prefetches), whatever the amount of data."""
    base = Interaction.objects.visible_to(actor).filter(customer=customer)
    by_kind = dict(base.order_by().values_list("kind").annotate(n=Count("id")))
    chosen = kind if kind in InteractionKind.values else ""
    total = by_kind.get(chosen, 0) if chosen else sum(by_kind.values())
    qs = base.filter(kind=chosen) if chosen else base
    offset = max(0, offset)
    rows = list(with_details(qs).order_by("-occurred_at", "-id")[offset:offset + limit])
    return {
        "count": total, "limit": limit, "offset": offset, "kind": chosen,
        "previous_offset": max(0, offset - limit) if offset else None,
        "next_offset": offset + limit if offset + limit < total else None,
        "kinds": [{"value": value, "label": str(label), "count": by_kind.get(value, 0)}
                  for value, label in InteractionKind.choices],
        "items": [timeline_item(i) for i in rows],
    }


def calendar_entries(viewer: User, owner: User, start: dt.datetime,
                     end: dt.datetime) -> list[CalendarEvent]:
    """The calendar source: the visits and meetings in [start, end) that ``owner`` owns
    or takes part in, as far as ``viewer`` may see them. One query."""
    now = timezone.now()
    joined = InteractionParticipant.objects.filter(tenant_id=owner.tenant_id, user_id=owner.pk)
    interactions = (Interaction.objects.visible_to(viewer)
                    .filter(Q(owner_id=owner.pk) | Q(pk__in=joined.values("interaction_id")),
                            kind__in=list(CALENDAR_KINDS), occurred_at__gte=start,
                            occurred_at__lt=end)
                    .select_related("customer"))
    events = []
    for i in interactions:
        minutes = i.duration_minutes or DEFAULT_MEETING_MINUTES
        events.append(CalendarEvent(
            type="interaction", id=i.pk, title=i.subject, start=i.occurred_at,
            end=i.occurred_at + dt.timedelta(minutes=minutes), all_day=False,
            customer=i.customer, status="done" if i.occurred_at <= now else "planned",
            status_label=_("Done") if i.occurred_at <= now else _("Planned"),
            url=interaction_url(i), kind=str(i.kind), kind_label=i.get_kind_display(),
            label=i.get_kind_display()))
    return events
