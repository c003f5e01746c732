"""Interactions in personal-data requests (kehu.customers.personal_data): what an
individual customer's or a contact's export lists, what erasing an individual customer
scrubs, and what a retention rule deletes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from kehu.activities.models import Interaction
from kehu.core import audit
from kehu.customers.personal_data import Subject
from kehu.documents import services as documents

ERASED = "***"


def _interactions(subject: Subject) -> Any:
    qs = Interaction.objects.filter(tenant_id=subject.tenant_id)
    if subject.type == "customer":
        return qs.filter(customer=subject.record)
    return qs.filter(contacts=subject.record)


def export(subject: Subject) -> list[dict[str, Any]]:
    return [{"id": i.pk, "type": i.kind, "direction": i.direction, "channel": i.channel,
             "occurred_at": i.occurred_at, "duration_minutes": i.duration_minutes,
             "subject": i.subject, "content": i.content, "outcome": i.outcome,
             "next_step": i.next_step}
            for i in _interactions(subject).order_by("occurred_at", "pk")]


def erase(subject: Subject) -> int:
    """An individual customer's interactions stay as business records (when, what kind,
    by whom) with their texts removed and their audit rows masked. A contact's are the
    records of the customer they belong to: the contact's own record is anonymised, the
    interactions are left."""
    if subject.type != "customer":
        return 0
    ids = list(_interactions(subject).values_list("pk", flat=True))
    for pk in ids:
        audit.mask_subject(tenant_id=subject.tenant_id, object_type="interaction",
                           object_id=pk, label=f"#{pk}")
        documents.documents_erase(tenant_id=subject.tenant_id,
                                  target_type="activities.interaction", target_id=pk)
    return Interaction.objects.filter(pk__in=ids).update(
        subject=ERASED, content="", outcome="", next_step="")


def expire(tenant_id: int, customer_ids: Iterable[int], before: dt.datetime,
           dry_run: bool) -> int:
    """Delete (or count, dry) the interactions of these customers that happened before
    ``before``, with their documents; their audit rows are masked."""
    qs = Interaction.objects.filter(tenant_id=tenant_id, customer_id__in=list(customer_ids),
                                    occurred_at__lt=before)
    if dry_run:
        return int(qs.count())
    ids = list(qs.values_list("pk", flat=True))
    for pk in ids:
        audit.mask_subject(tenant_id=tenant_id, object_type="interaction", object_id=pk,
                           label=f"#{pk}")
        documents.documents_erase(tenant_id=tenant_id, target_type="activities.interaction",
                                  target_id=pk)
    Interaction.objects.filter(pk__in=ids).delete()
    return len(ids)
