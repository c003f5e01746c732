"""Reminder timing and once-only delivery: follow-ups and tasks (the reminder sources
activities registers with kehu.notifications) remind their owner at the due time minus the
lead, once, even across workers, retries and crashes; and any registered source does."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone, translation

from kehu.activities.models import FollowUp, NoticeKind, Task
from kehu.core.testing import World
from kehu.customers.testing import Book
from kehu.notifications import registry, services
from kehu.notifications.models import Notification, ReminderSettings
from kehu.notifications.tasks import fire_due_reminders, send_pending_emails

pytestmark = pytest.mark.django_db

T = dt.datetime(2031, 3, 14, 10, 0, tzinfo=dt.UTC)


def followup(world: World, book: Book, *, due: dt.datetime = T, lead: int | None = 30,
             owner: Any = None, **extra: Any) -> FollowUp:
    owner = owner or world.city_a1_rep
    item = FollowUp(tenant=owner.tenant, org_unit=owner.org_unit, owner=owner,
                    customer=extra.pop("customer", book.rep), subject="回访扩容方案", due_at=due,
                    remind_minutes_before=lead, created_by=owner, **extra)
    item.schedule_reminder()
    item.save()
    return item


def task(world: World, book: Book, *, due: dt.datetime = T, lead: int | None = 30,
         **extra: Any) -> Task:
    owner = world.city_a1_rep
    item = Task(tenant=world.tenant, org_unit=owner.org_unit, owner=owner, title="准备报价",
                assigned_by=world.city_a1_manager, due_at=due, remind_minutes_before=lead,
                customer=book.rep, **extra)
    item.schedule_reminder()
    item.save()
    return item


def notices(kind: str | None = None) -> list[Notification]:
    qs = Notification.objects.order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


def test_followup_reminder_fires_at_due_minus_lead_and_only_once(world: World,
                                                                 book: Book) -> None:
    item = followup(world, book)
    assert fire_due_reminders(T - dt.timedelta(minutes=31)) == 0
    assert notices() == []
    assert fire_due_reminders(T - dt.timedelta(minutes=30)) == 1
    assert fire_due_reminders(T - dt.timedelta(minutes=29)) == 0
    assert fire_due_reminders(T + dt.timedelta(minutes=1)) == 0
    [notice] = notices()
    assert notice.recipient == world.city_a1_rep
    assert notice.kind == NoticeKind.FOLLOWUP_DUE
    assert notice.key == f"followup:{item.pk}:due:{T.isoformat()}"
    assert "回访扩容方案" in notice.title and "白云机场" in notice.body
    assert notice.url  # a link to the record (or its customer)
    assert notice.email_status == Notification.Email.PENDING
    item.refresh_from_db()
    assert item.reminded_at == T - dt.timedelta(minutes=30)


def test_task_reminder_fires_once(world: World, book: Book) -> None:
    item = task(world, book)
    assert fire_due_reminders(T - dt.timedelta(minutes=31)) == 0
    assert fire_due_reminders(T - dt.timedelta(minutes=30)) == 1
    assert fire_due_reminders(T) == 0
    [notice] = notices()
    assert notice.kind == NoticeKind.TASK_DUE
    assert notice.key == f"task:{item.pk}:due:{T.isoformat()}"


def test_a_reminder_whose_time_passed_long_ago_fires_once(world: World, book: Book) -> None:
    followup(world, book, due=timezone.now() - dt.timedelta(days=3))
    assert fire_due_reminders() == 1
    assert fire_due_reminders() == 0
    assert len(notices()) == 1


def test_zero_lead_fires_at_the_due_time(world: World, book: Book) -> None:
    followup(world, book, lead=0)
    assert fire_due_reminders(T - dt.timedelta(seconds=1)) == 0
    assert fire_due_reminders(T) == 1


def test_no_lead_means_no_reminder(world: World, book: Book) -> None:
    followup(world, book, lead=None)
    task(world, book, lead=None)
    assert fire_due_reminders(T + dt.timedelta(days=1)) == 0


def test_changing_the_lead_rearms(world: World, book: Book) -> None:
    item = followup(world, book, lead=30)
    item.remind_minutes_before = 60
    item.schedule_reminder()
    item.save()
    assert fire_due_reminders(T - dt.timedelta(minutes=61)) == 0
    assert fire_due_reminders(T - dt.timedelta(minutes=60)) == 1
    assert fire_due_reminders(T - dt.timedelta(minutes=30)) == 0
    assert len(notices()) == 1


def test_moving_the_due_time_rearms_a_fired_reminder(world: World, book: Book) -> None:
    item = followup(world, book)
    assert fire_due_reminders(T - dt.timedelta(minutes=30)) == 1
    later = T + dt.timedelta(days=1)
    item.due_at = later
    item.schedule_reminder()
    item.save()
    assert item.reminded_at is None
    assert fire_due_reminders(later - dt.timedelta(minutes=31)) == 0
    assert fire_due_reminders(later - dt.timedelta(minutes=30)) == 1
    assert [n.key for n in notices()] == [f"followup:{item.pk}:due:{T.isoformat()}",
                                          f"followup:{item.pk}:due:{later.isoformat()}"]


def test_done_and_cancelled_items_do_not_fire(world: World, book: Book) -> None:
    followup(world, book, state=FollowUp.State.DONE)
    followup(world, book, state=FollowUp.State.CANCELLED)
    task(world, book, status=Task.Status.DONE)
    task(world, book, status=Task.Status.CANCELLED)
    open_task = task(world, book, status=Task.Status.IN_PROGRESS)
    assert fire_due_reminders(T) == 1
    [notice] = notices()
    assert notice.key.startswith(f"task:{open_task.pk}:")


def test_each_tenant_reminds_its_own_people(world: World, book: Book) -> None:
    mine = followup(world, book)
    admin = world.other_tenant_admin
    theirs = followup(world, book, owner=admin, customer=book.other_tenant)
    assert fire_due_reminders(T) == 2
    by_key = {n.key: n for n in notices()}
    assert by_key[f"followup:{mine.pk}:due:{T.isoformat()}"].tenant_id == world.tenant.pk
    other = by_key[f"followup:{theirs.pk}:due:{T.isoformat()}"]
    assert other.tenant_id == world.other_tenant.pk and other.recipient == admin


def test_reminder_text_is_in_the_recipients_language(world: World, book: Book) -> None:
    rep = world.city_a1_rep
    rep.language = "en"
    rep.save(update_fields=["language"])
    followup(world, book)
    with translation.override("zh-hans"):
        fire_due_reminders(T)
    [notice] = notices()
    assert notice.title.startswith("Follow-up due")
    assert notice.body.startswith("Customer:")


def test_reminder_without_email_when_the_user_turned_it_off(world: World, book: Book) -> None:
    ReminderSettings.objects.create(tenant=world.tenant, user=world.city_a1_rep,
                                    email_enabled=False)
    followup(world, book)
    fire_due_reminders(T)
    [notice] = notices()
    assert notice.email_status == Notification.Email.NONE


def test_deactivated_owner_gets_nothing(world: World, book: Book) -> None:
    item = followup(world, book)
    world.city_a1_rep.is_active = False
    world.city_a1_rep.save(update_fields=["is_active"])
    assert fire_due_reminders(T) == 1  # claimed, so it is not retried every minute
    assert notices() == []
    item.refresh_from_db()
    assert item.reminded_at is not None


# ---------------------------------------------------------------------------- once only


def test_reminder_and_email_once_when_jobs_run_twice(world: World, book: Book) -> None:
    followup(world, book)
    mail.outbox.clear()
    for _ in range(2):
        fire_due_reminders(T)
        send_pending_emails(T)
    assert len(notices()) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [world.city_a1_rep.email]


def test_a_crash_before_commit_leaves_the_reminder_for_the_next_run(
        world: World, book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    item = followup(world, book)

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "notify", crash)
    with pytest.raises(RuntimeError):
        fire_due_reminders(T)
    item.refresh_from_db()
    assert item.reminded_at is None  # the claim rolled back with the failed notification
    monkeypatch.undo()
    mail.outbox.clear()
    assert fire_due_reminders(T) == 1
    assert send_pending_emails(T) == 1
    assert fire_due_reminders(T) == 0 and send_pending_emails(T) == 0
    assert len(notices()) == 1 and len(mail.outbox) == 1


def test_a_crash_after_the_notice_sends_the_email_once_on_restart(world: World,
                                                                    book: Book) -> None:
    followup(world, book)
    fire_due_reminders(T)  # committed; the worker "dies" before the email job runs
    mail.outbox.clear()
    assert send_pending_emails(T + dt.timedelta(minutes=1)) == 1
    assert send_pending_emails(T + dt.timedelta(minutes=2)) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_notice_and_one_email(world: World, book: Book) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent workers need a server database (run with DATABASE_URL)")
    followup(world, book)
    task(world, book)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            fire_due_reminders(T)
            barrier.wait()
            send_pending_emails(T)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(notices()) == 2
    assert len(mail.outbox) == 2
    assert {n.email_status for n in notices()} == {Notification.Email.SENT}


def test_the_jobs_call_the_functions(world: World, book: Book) -> None:
    from kehu.notifications import tasks

    followup(world, book, due=timezone.now())
    mail.outbox.clear()
    assert tasks.reminders_every_minute.call_local() == 1
    assert tasks.send_emails_every_minute.call_local() == 1
    assert len(mail.outbox) == 1


def test_email_is_in_the_recipients_language_with_an_absolute_link(
        world: World, book: Book, settings: Any) -> None:
    settings.KEHU_BASE_URL = "https://crm.example.com"
    followup(world, book)
    fire_due_reminders(T)
    mail.outbox.clear()
    assert send_pending_emails(T) == 1
    [message] = mail.outbox
    assert message.to == [world.city_a1_rep.email]
    assert "回访扩容方案" in message.subject
    assert "https://crm.example.com/" in message.body
    html = message.alternatives[0][0]  # type: ignore[attr-defined]
    assert "https://crm.example.com/" in str(html)
    stored = Notification.objects.get()
    assert stored.email_status == Notification.Email.SENT and stored.emailed_at is not None
    assert stored.email_attempts == 1


# ---------------------------------------------------------------------------- registry


def test_activities_registers_followups_and_tasks_as_reminder_sources() -> None:
    names = {source.name for source in registry.reminder_sources()}
    assert {"activities.followup", "activities.task"} <= names


def test_a_source_registered_later_fires_once_per_recipient(
        world: World, book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any registered source fires with the same guarantees: Task re-registered under a
    test kind, reminding two people, is claimed once and notifies each of them once."""
    monkeypatch.setattr(registry, "REMINDER_SOURCES", {})
    registry.register_reminder_source(registry.ReminderSource(
        name="test.urgent_tasks",
        rows=lambda: Task.objects.filter(priority="high"),
        recipients=lambda item: [item.owner, item.assigned_by, None],
        notice=lambda item, recipient: registry.ReminderNotice(
            kind="test_urgent", title=f"Urgent: {item.title}",
            key=f"test:{item.pk}:{item.due_at.isoformat()}", url="/tasks/"),
        related=("owner", "assigned_by"), email=False))
    urgent = task(world, book, priority="high")
    task(world, book, priority="normal")  # not a row of the test source
    assert fire_due_reminders(T - dt.timedelta(minutes=31)) == 0
    assert fire_due_reminders(T - dt.timedelta(minutes=30)) == 1
    assert fire_due_reminders(T) == 0
    got = notices()
    assert {n.recipient for n in got} == {world.city_a1_rep, world.city_a1_manager}
    assert {n.kind for n in got} == {"test_urgent"}
    assert {n.key for n in got} == {f"test:{urgent.pk}:{T.isoformat()}"}
    assert {n.email_status for n in got} == {Notification.Email.NONE}
    urgent.refresh_from_db()
    assert urgent.reminded_at == T - dt.timedelta(minutes=30)
    # Re-armed without a new due time: claimed again, but the key makes no second notice.
    Task.objects.filter(pk=urgent.pk).update(reminded_at=None)
    assert fire_due_reminders(T) == 1
    assert len(notices()) == 2
