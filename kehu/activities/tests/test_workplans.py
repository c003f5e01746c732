"""Weekly work plans: creation per week, owner-only edits, submit, review by managers,
comments and notifications, visibility per persona, the team's week, API and queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.activities.models import WorkPlan, WorkPlanComment
from kehu.activities.selectors import workplans as selectors
from kehu.activities.services import workplans as services
from kehu.core.exceptions import Conflict, NotFound, StaleVersion, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.testing import fresh, make_user
from kehu.core.tests.test_api import api_as, assert_error
from kehu.notifications.models import Notification

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2026, 11, 25)
MONDAY = dt.date(2026, 11, 23)


def _state() -> tuple[int, int, int, int]:
    return (WorkPlan.objects.count(), WorkPlanComment.objects.count(),
            Notification.objects.count(),
            AuditEvent.objects.filter(action__startswith="workplan.").count())


def _plan(world) -> WorkPlan:
    return services.workplan_create(actor=world.city_a1_rep, week_start=WEDNESDAY,
                                    goals="拜访三家重点客户")


def test_create_normalises_to_monday_and_refuses_a_second_plan(world):
    plan = _plan(world)
    assert plan.week_start == MONDAY and plan.owner == world.city_a1_rep
    assert plan.org_unit == world.city_a1 and plan.status == "draft"
    before = _state()
    with pytest.raises(Conflict) as exc:
        services.workplan_create(actor=world.city_a1_rep, week_start=MONDAY, goals="再写")
    assert "week_start" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc2:
        services.workplan_create(actor=world.city_a1_rep, week_start=dt.date(2026, 12, 1),
                                 goals="  ")
    assert "goals" in exc2.value.fields
    assert _state() == before


def test_review_flow_locks_the_plan_and_notifies_the_owner(world):
    plan = _plan(world)
    with pytest.raises(Conflict):  # a draft is not reviewed
        services.workplan_review(actor=world.city_a1_manager, plan_id=plan.pk)
    plan = services.workplan_submit(actor=world.city_a1_rep, plan_id=plan.pk)
    assert plan.status == "submitted"
    plan = services.workplan_update(actor=world.city_a1_rep, plan_id=plan.pk,
                                    summary="完成两家")
    plan = services.workplan_review(actor=world.city_a1_manager, plan_id=plan.pk,
                                    comment="不错，继续跟进")
    assert plan.status == "reviewed" and plan.reviewed_by == world.city_a1_manager
    assert plan.reviewed_at is not None
    assert [c.body for c in plan.comments.all()] == ["不错，继续跟进"]
    assert Notification.objects.filter(recipient=world.city_a1_rep,
                                       kind="workplan_reviewed").count() == 1
    before = _state()
    with pytest.raises(Conflict):
        services.workplan_update(actor=world.city_a1_rep, plan_id=plan.pk, goals="改")
    with pytest.raises(Conflict):
        services.workplan_review(actor=world.prov_a_manager, plan_id=plan.pk)
    assert _state() == before
    actions = list(AuditEvent.objects.filter(object_id=str(plan.pk),
                                             action__startswith="workplan.")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["workplan.create", "workplan.submit", "workplan.update",
                       "workplan.review"]


@pytest.mark.parametrize("actor", ["prov_b_manager", "other_tenant_admin"])
def test_outsiders_cannot_review_edit_or_comment(world, actor):
    plan = services.workplan_submit(actor=world.city_a1_rep, plan_id=_plan(world).pk)
    before = _state()
    user = getattr(world, actor)
    for call in (lambda: services.workplan_review(actor=user, plan_id=plan.pk),
                 lambda: services.workplan_update(actor=user, plan_id=plan.pk, goals="入侵"),
                 lambda: services.workplan_comment_add(actor=user, plan_id=plan.pk, body="x")):
        with pytest.raises(NotFound):
            call()
    assert _state() == before
    assert WorkPlan.objects.get(pk=plan.pk).status == "submitted"


def test_only_the_owner_edits_and_a_manager_cannot_review_their_own_plan(world):
    plan = _plan(world)
    before = _state()
    with pytest.raises(NotFound):
        services.workplan_update(actor=world.city_a1_manager, plan_id=plan.pk, goals="代写")
    with pytest.raises(NotFound):
        services.workplan_submit(actor=world.city_a1_manager, plan_id=plan.pk)
    own = services.workplan_create(actor=world.city_a1_manager, week_start=MONDAY, goals="我")
    services.workplan_submit(actor=world.city_a1_manager, plan_id=own.pk)
    with pytest.raises(ValidationFailed):
        services.workplan_review(actor=world.city_a1_manager, plan_id=own.pk)
    # The rep holds no review right at all.
    from kehu.core.exceptions import Forbidden

    with pytest.raises(Forbidden):
        services.workplan_review(actor=world.city_a1_rep, plan_id=own.pk)
    assert WorkPlan.objects.get(pk=plan.pk).goals == "拜访三家重点客户"
    assert _state()[1] == before[1]


def test_comments_go_to_the_other_side(world):
    plan = services.workplan_submit(actor=world.city_a1_rep, plan_id=_plan(world).pk)
    services.workplan_comment_add(actor=world.prov_a_manager, plan_id=plan.pk, body="补充目标")
    assert Notification.objects.filter(recipient=world.city_a1_rep,
                                       kind="workplan_comment").count() == 1
    services.workplan_review(actor=world.city_a1_manager, plan_id=plan.pk)
    services.workplan_comment_add(actor=world.city_a1_rep, plan_id=plan.pk, body="收到")
    assert Notification.objects.filter(recipient=world.city_a1_manager,
                                       kind="workplan_comment").count() == 1
    with pytest.raises(ValidationFailed):
        services.workplan_comment_add(actor=world.city_a1_rep, plan_id=plan.pk, body=" ")


def test_stale_version_is_refused(world):
    plan = _plan(world)
    services.workplan_update(actor=world.city_a1_rep, plan_id=plan.pk, goals="新",
                             expected_version=1)
    with pytest.raises(StaleVersion):
        services.workplan_update(actor=world.city_a1_rep, plan_id=plan.pk, goals="旧",
                                 expected_version=1)


def test_visibility_per_persona(world):
    plan = _plan(world)
    seen = {name: WorkPlan.objects.visible_to(fresh(getattr(world, name)))
            .filter(pk=plan.pk).exists()
            for name in ("hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep",
                         "prov_b_manager", "other_tenant_admin")}
    assert seen == {"hq_admin": True, "prov_a_manager": True, "city_a1_manager": True,
                    "city_a1_rep": True, "prov_b_manager": False, "other_tenant_admin": False}


def test_team_week_shows_who_has_and_has_not_submitted(world):
    other = make_user(world.hq_admin, "rep2@huaxia.test", "赵客户经理", world.team_a1,
                      "account_manager")
    make_user(world.hq_admin, "rep_b@huaxia.test", "浙江客户经理", world.city_b1,
              "account_manager")
    plan = services.workplan_submit(actor=world.city_a1_rep, plan_id=_plan(world).pk)
    team = selectors.team_week(actor=fresh(world.city_a1_manager), week=WEDNESDAY)
    assert [(u.pk, p.pk if p else None) for u, p in team] == [
        (world.city_a1_rep.pk, plan.pk), (other.pk, None)]
    assert selectors.team_week(actor=fresh(world.city_a1_rep), week=WEDNESDAY) == []
    assert {u.pk for u, _p in selectors.team_week(actor=fresh(world.prov_b_manager),
                                                  week=MONDAY)} \
        .isdisjoint({world.city_a1_rep.pk, other.pk})


def test_list_filters(world):
    plan = _plan(world)
    services.workplan_create(actor=world.city_a1_rep, week_start=MONDAY - dt.timedelta(7),
                             goals="上周")

    def ids(user, **data):
        filters = selectors.WorkPlanFilters.from_mapping(data)
        return {p.pk for p in selectors.workplan_list(actor=fresh(user), filters=filters)}

    assert ids(world.city_a1_manager, week_from=MONDAY.isoformat()) == {plan.pk}
    assert len(ids(world.city_a1_manager, owner_id=world.city_a1_rep.pk)) == 2
    assert ids(world.city_a1_manager, mine="1") == set()
    assert ids(world.prov_b_manager) == set()


# ---------------------------------------------------------------------------- API


def test_api_flow(world):
    rep, manager = api_as(world.city_a1_rep), api_as(world.city_a1_manager)
    r = rep.post("/workplans", {"week_start": WEDNESDAY.isoformat(), "goals": "拜访"})
    assert r.status == 201 and r.data["week_start"] == MONDAY.isoformat(), r
    plan_id = r.data["id"]
    r = rep.post("/workplans", {"week_start": MONDAY.isoformat(), "goals": "重复"})
    err = assert_error(r, 409, "conflict")
    assert "week_start" in err["fields"]
    assert rep.patch(f"/workplans/{plan_id}", {"summary": "x"}).status == 428
    assert rep.patch(f"/workplans/{plan_id}", {"summary": "x"}, if_match='"1"').status == 200
    assert rep.patch(f"/workplans/{plan_id}", {"summary": "y"}, if_match='"1"').status == 412
    assert manager.patch(f"/workplans/{plan_id}", {"goals": "代写"},
                         if_match="*").status == 404
    assert_error(rep.post(f"/workplans/{plan_id}/submit"), 428, "precondition_required")
    assert rep.post(f"/workplans/{plan_id}/submit", if_match='"1"').status == 412
    assert rep.post(f"/workplans/{plan_id}/submit",
                    if_match='"2"').data["status"] == "submitted"
    assert rep.post(f"/workplans/{plan_id}/review", {"comment": "自评"},
                    if_match='"3"').status == 403
    r = api_as(world.prov_b_manager).post(f"/workplans/{plan_id}/review", {"comment": "x"},
                                          if_match='"3"')
    assert r.status == 404
    assert_error(manager.post(f"/workplans/{plan_id}/review", {"comment": "好"}), 428,
                 "precondition_required")
    r = manager.post(f"/workplans/{plan_id}/review", {"comment": "好"}, if_match='"3"')
    assert r.status == 200 and r.data["status"] == "reviewed"
    assert r.data["reviewed_by"]["id"] == world.city_a1_manager.pk
    assert [c["body"] for c in r.data["comments"]] == ["好"]
    r = rep.post(f"/workplans/{plan_id}/comments", {"body": "谢谢"})
    assert r.status == 201
    listed = manager.get("/workplans", owner_id=world.city_a1_rep.pk).data
    assert [p["id"] for p in listed["items"]] == [plan_id]
    assert api_as(world.prov_b_manager).get("/workplans").data["count"] == 0
    assert api_as(world.prov_b_manager).get(f"/workplans/{plan_id}").status == 404


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status == 200
    return len(ctx)


def test_query_counts_do_not_grow(world):
    client = api_as(world.city_a1_manager)
    plan = _plan(world)
    services.workplan_comment_add(actor=world.city_a1_rep, plan_id=plan.pk, body="1")
    _queries(client, "/workplans")
    small_list, small_detail = _queries(client, "/workplans"), \
        _queries(client, f"/workplans/{plan.pk}")
    for i in range(1, 6):
        services.workplan_create(actor=world.city_a1_rep, week_start=MONDAY - dt.timedelta(7 * i),
                                 goals=f"第{i}周")
        services.workplan_comment_add(actor=world.city_a1_manager, plan_id=plan.pk,
                                      body=f"评论{i}")
    assert _queries(client, "/workplans") == small_list
    assert _queries(client, f"/workplans/{plan.pk}") == small_detail
