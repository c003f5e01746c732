"""Tasks: the assignment rule per persona, visibility, notifications, comments, status,
reminders and optimistic locking (services and selectors)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.activities.models import NoticeKind, Task, TaskComment
from kehu.activities.selectors import tasks as selectors
from kehu.activities.services import tasks as services
from kehu.core.exceptions import NotFound, StaleVersion, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.testing import fresh
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    return (Task.objects.count(), Notification.objects.count(),
            AuditEvent.objects.filter(action__startswith="task.").count())


# ---------------------------------------------------------------------------- assignment


def test_city_manager_assigns_to_a_rep_in_the_city(world):
    due = timezone.now() + dt.timedelta(days=2)
    task = services.task_create(actor=world.city_a1_manager, title="整理报价",
                                assignee_id=world.city_a1_rep.pk, due_at=due, priority="high")
    assert task.owner == world.city_a1_rep and task.assigned_by == world.city_a1_manager
    assert task.org_unit == world.city_a1 and task.status == "open"
    # The reminder lead defaults to the assignee's preference (15 minutes).
    assert task.remind_minutes_before == 15
    assert task.remind_at == due - dt.timedelta(minutes=15)
    assert AuditEvent.objects.filter(action="task.create", object_id=str(task.pk)).count() == 1


def test_anyone_may_give_a_task_to_themselves(world):
    task = services.task_create(actor=world.city_a1_rep, title="自己的任务")
    assert task.owner == world.city_a1_rep and task.assigned_by == world.city_a1_rep
    assert task.remind_at is None
    task = services.task_create(actor=world.city_a1_rep, title="再一个",
                                assignee_id=world.city_a1_rep.pk)
    assert task.owner == world.city_a1_rep
    assert not Notification.objects.exists()  # nobody to tell


@pytest.mark.parametrize(("actor", "assignee"), [
    ("prov_b_manager", "city_a1_rep"),     # a peer branch
    ("city_a1_rep", "city_a1_manager"),    # an account manager assigns to no one else
    ("city_a1_manager", "prov_a_manager"),  # above the manager's own unit
    ("city_a1_manager", "other_tenant_admin"),  # another tenant: as if missing
])
def test_assignment_outside_the_actors_area_is_refused_and_writes_nothing(world, actor,
                                                                          assignee):
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=getattr(world, actor), title="越权",
                             assignee_id=getattr(world, assignee).pk)
    assert "assignee_id" in exc.value.fields
    assert _counts() == before


def test_province_manager_assigns_down_the_subtree(world):
    task = services.task_create(actor=world.prov_a_manager, title="省公司任务",
                                assignee_id=world.city_a1_rep.pk)
    assert task.owner == world.city_a1_rep


def test_customer_must_be_visible_to_the_actor(world, book):
    before = _counts()
    for customer in (book.prov_b, book.other_tenant):
        with pytest.raises(ValidationFailed) as exc:
            services.task_create(actor=world.city_a1_manager, title="x",
                                 customer_id=customer.pk)
        assert "customer_id" in exc.value.fields
    assert _counts() == before
    task = services.task_create(actor=world.city_a1_manager, title="x",
                                customer_id=book.rep.pk)
    assert task.customer == book.rep


def test_bad_input_gives_field_errors(world):
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=world.city_a1_rep, title="  ", priority="huge",
                             remind_minutes_before=-5)
    assert set(exc.value.fields) == {"title", "priority", "remind_minutes_before"}
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=world.city_a1_rep, title="x",
                             due_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC))
    assert set(exc.value.fields) == {"due_at"}
    assert not Task.objects.exists()


# ---------------------------------------------------------------------------- notifications


def test_assignment_notifies_the_assignee_once(world):
    task = services.task_create(actor=world.city_a1_manager, title="拜访客户",
                                assignee_id=world.city_a1_rep.pk)
    notices = Notification.objects.filter(recipient=world.city_a1_rep,
                                          kind=NoticeKind.TASK_ASSIGNED)
    assert notices.count() == 1
    notice = notices.get()
    assert notice.url == f"/tasks/{task.pk}/" and "拜访客户" in notice.title
    assert notice.email_status == Notification.Email.PENDING  # rep has an email address
    # An update that does not reassign tells nobody again.
    services.task_update(actor=world.city_a1_manager, task_id=task.pk, title="拜访重点客户")
    assert notices.count() == 1


def test_reassignment_follows_the_rule_and_notifies_the_new_assignee(world):
    rep2 = _second_rep(world)
    task = services.task_create(actor=world.city_a1_manager, title="t",
                                assignee_id=world.city_a1_rep.pk)
    task = services.task_update(actor=world.city_a1_manager, task_id=task.pk,
                                assignee_id=rep2.pk, expected_version=task.version)
    assert task.owner == rep2 and task.org_unit == world.team_a1
    assert Notification.objects.filter(recipient=rep2, kind="task_assigned").count() == 1
    own = _own_task(world)
    before = _counts()
    with pytest.raises(ValidationFailed):
        services.task_update(actor=world.city_a1_rep, task_id=own.pk,
                             assignee_id=world.city_a1_manager.pk)
    assert _counts() == before
    assert Task.objects.get(pk=own.pk).owner == world.city_a1_rep


def _second_rep(world):
    from kehu.core.testing import make_user

    return make_user(world.hq_admin, "rep_team@huaxia.test", "赵组员", world.team_a1,
                     "account_manager")


def _own_task(world) -> Task:
    return Task.objects.get(pk=services.task_create(actor=world.city_a1_rep, title="own").pk)


# ---------------------------------------------------------------------------- visibility


def test_visibility_per_persona(world):
    task = services.task_create(actor=world.city_a1_manager, title="可见性",
                                assignee_id=world.city_a1_rep.pk)
    seen = {name: Task.objects.visible_to(fresh(getattr(world, name))).filter(pk=task.pk)
            .exists()
            for name in ("hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep",
                         "prov_b_manager", "other_tenant_admin")}
    assert seen == {"hq_admin": True, "prov_a_manager": True, "city_a1_manager": True,
                    "city_a1_rep": True, "prov_b_manager": False, "other_tenant_admin": False}


def test_the_assigner_keeps_seeing_a_task_outside_their_scope(world):
    # Visible to the assigner through assigned_by, not to a manager of another branch.
    task = services.task_create(actor=world.hq_admin, title="跨省",
                                assignee_id=world.prov_b_manager.pk)
    assert Task.objects.visible_to(fresh(world.hq_admin)).filter(pk=task.pk).exists()
    assert not Task.objects.visible_to(fresh(world.prov_a_manager)).filter(pk=task.pk).exists()


def test_peer_cannot_comment_or_change(world):
    task = services.task_create(actor=world.city_a1_manager, title="t",
                                assignee_id=world.city_a1_rep.pk)
    before = (_counts(), TaskComment.objects.count())
    with pytest.raises(NotFound):
        services.task_comment_add(actor=world.prov_b_manager, task_id=task.pk, body="看看")
    with pytest.raises(NotFound):
        services.task_set_status(actor=world.prov_b_manager, task_id=task.pk, status="done")
    with pytest.raises(NotFound):
        services.task_update(actor=world.other_tenant_admin, task_id=task.pk, title="入侵")
    assert (_counts(), TaskComment.objects.count()) == before
    assert Task.objects.get(pk=task.pk).title == "t"


# ---------------------------------------------------------------------------- status, comments


def test_status_flow_sets_and_clears_done_at(world):
    task = services.task_create(actor=world.city_a1_manager, title="t",
                                assignee_id=world.city_a1_rep.pk)
    task = services.task_set_status(actor=world.city_a1_rep, task_id=task.pk,
                                    status="in_progress")
    assert task.status == "in_progress" and task.done_at is None
    task = services.task_set_status(actor=world.city_a1_rep, task_id=task.pk, status="done")
    assert task.status == "done" and task.done_at is not None
    task = services.task_set_status(actor=world.city_a1_manager, task_id=task.pk,
                                    status="open")
    assert task.done_at is None
    assert AuditEvent.objects.filter(action="task.status", object_id=str(task.pk)).count() == 3
    with pytest.raises(ValidationFailed):
        services.task_set_status(actor=world.city_a1_rep, task_id=task.pk, status="lost")


def test_comments_notify_the_other_party(world):
    task = services.task_create(actor=world.city_a1_manager, title="t",
                                assignee_id=world.city_a1_rep.pk)
    services.task_comment_add(actor=world.city_a1_rep, task_id=task.pk, body="已联系客户")
    services.task_comment_add(actor=world.city_a1_manager, task_id=task.pk, body="好的")
    assert Notification.objects.filter(recipient=world.city_a1_manager,
                                       kind="task_comment").count() == 1
    assert Notification.objects.filter(recipient=world.city_a1_rep,
                                       kind="task_comment").count() == 1
    # A manager above comments too: both parties hear.
    services.task_comment_add(actor=world.prov_a_manager, task_id=task.pk, body="关注")
    assert Notification.objects.filter(kind="task_comment").count() == 4
    assert AuditEvent.objects.filter(action="task.comment").count() == 3
    with pytest.raises(ValidationFailed):
        services.task_comment_add(actor=world.city_a1_rep, task_id=task.pk, body="  ")


def test_stale_version_is_refused(world):
    task = services.task_create(actor=world.city_a1_rep, title="旧")
    services.task_update(actor=world.city_a1_rep, task_id=task.pk, title="新",
                         expected_version=1)
    with pytest.raises(StaleVersion):
        services.task_update(actor=world.city_a1_rep, task_id=task.pk, title="更旧",
                             expected_version=1)
    assert Task.objects.get(pk=task.pk).title == "新"


def test_changing_the_due_time_rearms_the_reminder(world):
    due = timezone.now() + dt.timedelta(hours=5)
    task = services.task_create(actor=world.city_a1_rep, title="t", due_at=due,
                                remind_minutes_before=60)
    Task.objects.filter(pk=task.pk).update(reminded_at=timezone.now())
    later = due + dt.timedelta(days=1)
    task = services.task_update(actor=world.city_a1_rep, task_id=task.pk, due_at=later)
    assert task.remind_at == later - dt.timedelta(minutes=60) and task.reminded_at is None


# ---------------------------------------------------------------------------- selectors


def test_list_tabs_and_filters(world, book):
    now = timezone.now()
    manager, rep = world.city_a1_manager, world.city_a1_rep
    given = services.task_create(actor=manager, title="给客户经理", assignee_id=rep.pk,
                                 due_at=now - dt.timedelta(hours=1), customer_id=book.rep.pk)
    own = services.task_create(actor=manager, title="自己", due_at=now + dt.timedelta(days=1),
                               priority="urgent")
    done = services.task_create(actor=rep, title="已完成", due_at=now - dt.timedelta(days=1))
    services.task_set_status(actor=rep, task_id=done.pk, status="done")

    def ids(user, **data):
        filters = selectors.TaskFilters.from_mapping(data)
        return {t.pk for t in selectors.task_list(actor=fresh(user), filters=filters)}

    assert ids(manager, view="mine") == {own.pk}
    assert ids(manager, view="assigned") == {given.pk}
    assert ids(manager, view="team") == {given.pk, done.pk}
    assert ids(rep) == {given.pk, done.pk}
    assert ids(manager, overdue="1") == {given.pk}
    assert ids(manager, priority="urgent") == {own.pk}
    assert ids(manager, status="done") == {done.pk}
    assert ids(manager, customer_id=str(book.rep.pk)) == {given.pk}
    assert ids(manager, owner_id=rep.pk) == {given.pk, done.pk}
    assert ids(manager, due_after=now.date().isoformat()) >= {own.pk}
    assert ids(manager, due_before=(now - dt.timedelta(days=1)).isoformat()) == {done.pk}
    assert ids(world.prov_b_manager) == set()
    assert ids(world.other_tenant_admin) == set()
    assert selectors.TaskFilters.from_mapping({"view": "nonsense", "due_after": "x"}).view \
        == "all"


def test_assignable_users_match_the_rule(world):
    def names(user):
        return {u.pk for u in selectors.assignable_users(actor=fresh(user))}

    assert names(world.city_a1_rep) == {world.city_a1_rep.pk}
    assert names(world.city_a1_manager) == {world.city_a1_manager.pk, world.city_a1_rep.pk}
    assert world.city_a1_rep.pk not in names(world.prov_b_manager)
    for user in (world.city_a1_manager, world.prov_b_manager):
        for assignee in selectors.assignable_users(actor=fresh(user)):
            assert services.may_assign_to(fresh(user), assignee)
