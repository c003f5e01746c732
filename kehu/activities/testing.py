"""Engagement rows shared by tests: one of each kind in the main tenant, around the
customer that the account manager ``city_a1_rep`` owns (``book.rep``).

The cross-tenant matrix points its path parameters at these rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from kehu.activities.models import (
    FollowUp,
    Interaction,
    NoticeKind,
    Task,
    WorkPlan,
)
from kehu.core.testing import World
from kehu.customers.testing import Book
from kehu.documents.models import Document
from kehu.documents.services import document_upload
from kehu.documents.testing import SAMPLE_PDF
from kehu.notifications.models import Notification


@dataclass
class Engagement:
    interaction: Interaction
    followup: FollowUp
    task: Task
    workplan: WorkPlan
    notification: Notification
    document: Document


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def build_engagement(world: World, book: Book) -> Engagement:
    rep, now = world.city_a1_rep, timezone.now()
    placed = {"tenant": world.tenant, "org_unit": world.city_a1, "owner": rep}
    interaction = Interaction.objects.create(
        **placed, kind="visit", channel="face_to_face", customer=book.rep,
        subject="拜访白云机场信息部", content="讨论专线扩容", created_by=rep,
        occurred_at=now - dt.timedelta(days=2))
    interaction.contacts.add(book.rep_contact)
    followup = FollowUp(**placed, customer=book.rep, contact=book.rep_contact,
                        subject="回访扩容方案", due_at=now + dt.timedelta(days=3),
                        remind_minutes_before=60, created_by=rep)
    followup.schedule_reminder()
    followup.save()
    task = Task(**placed, title="准备白云机场报价", assigned_by=world.city_a1_manager,
                due_at=now + dt.timedelta(days=1), customer=book.rep)
    task.schedule_reminder()
    task.save()
    workplan = WorkPlan.objects.create(**placed, week_start=monday(now.date()),
                                       goals="拜访三家重点客户")
    notification = Notification.objects.create(
        tenant=world.tenant, recipient=rep, kind=NoticeKind.TASK_ASSIGNED,
        title=task.title, key=f"task:{task.pk}:assigned")
    document = document_upload(actor=rep, file_name="方案.pdf", chunks=[SAMPLE_PDF],
                               customer_id=book.rep.pk, description="扩容方案")
    return Engagement(interaction=interaction, followup=followup, task=task,
                      workplan=workplan, notification=notification, document=document)
