"""Follow-up plans: services (reminder defaults, recurrence incl. month ends, completion
linking the interaction, cancel), overdue computation, visibility and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.activities.models import FollowUp, Interaction
from kehu.activities.selectors import followups as selectors
from kehu.activities.services import followups as services
from kehu.activities.services.interactions import interaction_create
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as, assert_error, ids, state
from kehu.notifications.models import ReminderSettings

pytestmark = pytest.mark.django_db


def aware(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))  # noqa: DTZ001


def plan(world: Any, book: Any, **extra: Any) -> FollowUp:
    data: dict[str, Any] = {"subject": "回访", "due_at": timezone.now() + dt.timedelta(days=1)}
    data.update(extra)
    return services.followup_create(actor=world.city_a1_rep, customer_id=book.rep.pk, **data)


def test_create_uses_the_owners_default_reminder_lead(world, book):
    fu = plan(world, book)
    assert fu.remind_minutes_before == 15  # ReminderSettings default, never saved
    assert fu.remind_at == fu.due_at - dt.timedelta(minutes=15)
    ReminderSettings.objects.create(tenant=world.tenant, user=world.city_a1_rep,
                                    default_lead_minutes=90)
    world.city_a1_rep.refresh_from_db()
    fu = plan(world, book, contact_id=book.rep_contact.pk)
    assert fu.remind_minutes_before == 90 and fu.contact == book.rep_contact
    fu = plan(world, book, remind_minutes_before=None)
    assert fu.remind_at is None
    assert AuditEvent.objects.filter(action="followup.create").count() == 3


def test_create_validation(world, book):
    with pytest.raises(ValidationFailed) as exc:
        services.followup_create(actor=world.city_a1_rep, customer_id=book.prov_b.pk,
                                 subject="", due_at=timezone.now(), recur_every=2)
    assert {"customer_id", "subject"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed) as exc:
        plan(world, book, recur_every=2)
    assert "recur_unit" in exc.value.fields
    with pytest.raises(ValidationFailed):
        plan(world, book, recur_every=1, recur_unit="year")
    assert FollowUp.objects.count() == 0


def test_update_rearms_the_reminder(world, book):
    fu = plan(world, book, remind_minutes_before=30)
    FollowUp.objects.filter(pk=fu.pk).update(reminded_at=timezone.now())
    later = fu.due_at + dt.timedelta(days=2)
    fu = services.followup_update(actor=world.city_a1_rep, followup_id=fu.pk,
                                  expected_version=1, due_at=later)
    assert fu.remind_at == later - dt.timedelta(minutes=30) and fu.reminded_at is None
    assert fu.version == 2


@pytest.mark.parametrize(("due", "every", "unit", "expected"), [
    ((2026, 1, 31, 9, 0), 1, "month", (2026, 2, 28, 9, 0)),
    ((2028, 1, 31, 9, 0), 1, "month", (2028, 2, 29, 9, 0)),
    ((2026, 11, 30, 9, 0), 3, "month", (2027, 2, 28, 9, 0)),
    ((2026, 3, 31, 9, 0), 1, "month", (2026, 4, 30, 9, 0)),
    ((2026, 12, 15, 9, 0), 1, "month", (2027, 1, 15, 9, 0)),
    ((2026, 2, 27, 9, 0), 2, "day", (2026, 3, 1, 9, 0)),
    ((2026, 12, 28, 9, 0), 1, "week", (2027, 1, 4, 9, 0)),
])
def test_next_due(due, every, unit, expected):
    assert services.next_due(aware(*due), every, unit) == aware(*expected)


def test_complete_with_a_new_interaction_plans_the_next_one(world, book):
    fu = plan(world, book, contact_id=book.rep_contact.pk, due_at=aware(2026, 1, 31, 9, 0),
              recur_every=1, recur_unit="month", remind_minutes_before=60)
    done = services.followup_complete(actor=world.city_a1_rep, followup_id=fu.pk,
                                      interaction={"kind": "call", "outcome": "已确认"})
    assert done.state == "done" and done.done_at is not None and done.status == "done"
    interaction = done.fulfilled_by
    assert interaction is not None and interaction.customer_id == book.rep.pk
    assert interaction.subject == "回访" and list(interaction.contacts.all()) == [
        book.rep_contact]
    nxt = FollowUp.objects.get(previous=done)
    assert nxt.state == "planned" and nxt.due_at == aware(2026, 2, 28, 9, 0)
    assert nxt.remind_at == nxt.due_at - dt.timedelta(minutes=60)
    assert (nxt.recur_every, nxt.recur_unit, nxt.contact_id) == (1, "month",
                                                                 book.rep_contact.pk)
    assert AuditEvent.objects.filter(action="followup.complete", object_id=str(fu.pk)).exists()
    with pytest.raises(ValidationFailed):
        services.followup_complete(actor=world.city_a1_rep, followup_id=fu.pk,
                                   interaction={"kind": "call"})


def test_complete_with_an_existing_interaction(world, book, engagement):
    fu = plan(world, book)
    other = interaction_create(actor=world.hq_admin, customer_id=book.hq.pk, kind="call",
                               subject="别的客户")
    for bad in (other.pk, 10**9):
        with pytest.raises(ValidationFailed):
            services.followup_complete(actor=world.city_a1_rep, followup_id=fu.pk,
                                       interaction_id=bad)
    with pytest.raises(ValidationFailed):
        services.followup_complete(actor=world.city_a1_rep, followup_id=fu.pk)
    assert FollowUp.objects.get(pk=fu.pk).state == "planned"
    done = services.followup_complete(actor=world.city_a1_rep, followup_id=fu.pk,
                                      interaction_id=engagement.interaction.pk)
    assert done.fulfilled_by_id == engagement.interaction.pk
    assert not FollowUp.objects.filter(previous=done).exists()  # not recurring


def test_cancel(world, book):
    fu = plan(world, book, recur_every=2, recur_unit="week")
    with pytest.raises(ValidationFailed):
        services.followup_cancel(actor=world.city_a1_rep, followup_id=fu.pk, reason=" ")
    done = services.followup_cancel(actor=world.city_a1_rep, followup_id=fu.pk,
                                    reason="客户暂停项目")
    assert done.state == "cancelled" and done.cancel_reason == "客户暂停项目"
    assert not FollowUp.objects.filter(previous=done).exists()
    fu = plan(world, book, recur_every=2, recur_unit="week")
    services.followup_cancel(actor=world.city_a1_rep, followup_id=fu.pk, reason="这次跳过",
                             stop_series=False)
    nxt = FollowUp.objects.get(previous=fu)
    assert nxt.due_at == timezone.localtime(fu.due_at) + dt.timedelta(weeks=2)


def test_overdue_is_computed_from_the_due_time(world, book):
    now = aware(2026, 6, 1, 12, 0)
    past = plan(world, book, due_at=now - dt.timedelta(minutes=1))
    ahead = plan(world, book, due_at=now + dt.timedelta(minutes=1))
    done = plan(world, book, due_at=now - dt.timedelta(days=1))
    FollowUp.objects.filter(pk=done.pk).update(state="done")

    def found(status: str) -> set[int]:
        f = selectors.FollowUpFilters(status=status)
        return set(selectors.followup_list(actor=world.city_a1_rep, filters=f, now=now)
                   .values_list("pk", flat=True))

    assert found("overdue") == {past.pk}
    assert found("planned") == {ahead.pk}
    assert found("open") == {past.pk, ahead.pk}
    assert found("done") == {done.pk}
    # The model property agrees with the selector, against the real clock.
    real = plan(world, book, due_at=timezone.now() - dt.timedelta(seconds=5))
    assert real.status == "overdue" and real.get_status_display()


def test_visibility_per_persona(world, book, engagement):
    on_b = services.followup_create(actor=world.prov_b_manager, customer_id=book.prov_b.pk,
                                    subject="杭州回访", due_at=timezone.now())
    by_manager = services.followup_create(actor=world.city_a1_manager,
                                          customer_id=book.rep.pk, subject="经理回访",
                                          due_at=timezone.now())

    def seen(user: Any, **f: Any) -> set[int]:
        filters = selectors.FollowUpFilters(**f)
        return set(selectors.followup_list(actor=user, filters=filters)
                   .values_list("pk", flat=True))

    a = {engagement.followup.pk, by_manager.pk}
    assert seen(world.hq_admin) == a | {on_b.pk}
    assert seen(world.city_a1_rep) == a
    assert seen(world.city_a1_rep, mine=True) == {engagement.followup.pk}
    assert seen(world.prov_b_manager) == {on_b.pk}
    assert seen(world.other_tenant_admin) == set()
    before = state(engagement.followup)
    for user in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            services.followup_complete(actor=user, followup_id=engagement.followup.pk,
                                       interaction={"kind": "call"})
        with pytest.raises(NotFound):
            services.followup_cancel(actor=user, followup_id=engagement.followup.pk,
                                     reason="x")
    assert state(engagement.followup) == before
    assert Interaction.objects.filter(customer=book.rep).count() == 1


def test_api(world, book, engagement):
    client = api_as(world.city_a1_rep)
    r = client.post("/followups", {"customer_id": book.rep.pk, "subject": "电话回访",
                                   "due_at": "2026-01-31T09:00:00+08:00",
                                   "recur_every": 1, "recur_unit": "month"},
                    Idempotency_Key="f1")
    assert r.status == 201, r
    assert r.data["status"] == "overdue" and r.data["remind_minutes_before"] == 15
    pk = r.data["id"]
    r = client.patch(f"/followups/{pk}", {"notes": "带方案"}, If_Match='"1"')
    assert r.status == 200 and r.data["version"] == 2
    assert ids(client.get("/followups", status="overdue")) == {pk}
    assert ids(client.get("/followups", status="planned")) == {engagement.followup.pk}
    r = client.post(f"/followups/{pk}/complete",
                    {"interaction": {"kind": "visit", "content": "已拜访"}})
    assert_error(r, 428, "precondition_required")
    assert FollowUp.objects.get(pk=pk).state == FollowUp.State.PLANNED
    r = client.post(f"/followups/{pk}/complete",
                    {"interaction": {"kind": "visit", "content": "已拜访"}}, If_Match='"2"')
    assert r.status == 200, r
    assert r.data["status"] == "done" and r.data["fulfilled_by_id"]
    nxt = FollowUp.objects.get(previous_id=pk)
    assert timezone.localtime(nxt.due_at).date() == dt.date(2026, 2, 28)
    r = client.post(f"/followups/{engagement.followup.pk}/cancel", {"reason": ""})
    assert_error(r, 422, "validation_error")
    r = client.post(f"/followups/{engagement.followup.pk}/cancel", {"reason": "不需要了"},
                    If_Match='"7"')
    assert_error(r, 412, "precondition_failed")
    r = client.post(f"/followups/{engagement.followup.pk}/cancel", {"reason": "不需要了"})
    assert_error(r, 428, "precondition_required")
    r = client.post(f"/followups/{engagement.followup.pk}/cancel", {"reason": "不需要了"},
                    If_Match=f'"{engagement.followup.version}"')
    assert r.status == 200 and r.data["status"] == "cancelled"
    intruder = api_as(world.prov_b_manager)
    assert_error(intruder.get(f"/followups/{pk}"), 404, "not_found")
    assert ids(intruder.get("/followups", customer_id=book.rep.pk)) == set()


def test_list_query_count_is_flat(world, book):
    client = api_as(world.city_a1_rep)

    def count() -> int:
        client.get("/auth/me")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/followups", limit=100).status == 200
        return len(ctx.captured_queries)

    for _n in range(3):
        plan(world, book, contact_id=book.rep_contact.pk)
    small = count()
    for _n in range(27):
        plan(world, book, contact_id=book.rep_contact.pk)
    assert count() == small
