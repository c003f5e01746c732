"""What each persona sees and may change, through visible_to and the services."""

from __future__ import annotations

import pytest

from kehu.core import access
from kehu.core.exceptions import Forbidden, NotFound, ValidationFailed
from kehu.core.models import AuditEvent, OrgUnit, Role, User
from kehu.core.services.org import org_unit_create, org_unit_move, org_unit_update
from kehu.core.services.roles import role_create
from kehu.core.services.users import user_create, user_deactivate, user_update
from kehu.core.testing import World, fresh

pytestmark = pytest.mark.django_db


def names(qs) -> set[str]:
    return {str(o) if not isinstance(o, User) else o.email for o in qs}


def test_org_units_visible_per_persona(world: World) -> None:
    w = world
    everyone = {"华夏通信集团", "广东省公司", "广州分公司", "政企一组", "浙江省公司", "杭州分公司"}
    assert names(OrgUnit.objects.visible_to(w.hq_admin)) == everyone
    assert names(OrgUnit.objects.visible_to(w.analyst)) == everyone
    assert names(OrgUnit.objects.visible_to(w.prov_a_manager)) == {
        "广东省公司", "广州分公司", "政企一组"}
    assert names(OrgUnit.objects.visible_to(w.city_a1_manager)) == {"广州分公司", "政企一组"}
    assert names(OrgUnit.objects.visible_to(w.city_a1_rep)) == {"广州分公司"}
    assert names(OrgUnit.objects.visible_to(w.prov_b_manager)) == {"浙江省公司", "杭州分公司"}
    assert names(OrgUnit.objects.visible_to(w.other_tenant_admin)) == {
        "远方科技有限公司", "远方北京"}


def test_users_visible_per_persona(world: World) -> None:
    w = world
    assert names(User.objects.visible_to(w.city_a1_rep)) == {"rep_a1@huaxia.test"}
    assert names(User.objects.visible_to(w.city_a1_manager)) == {
        "city_a1@huaxia.test", "rep_a1@huaxia.test"}
    assert names(User.objects.visible_to(w.prov_a_manager)) == {
        "prov_a@huaxia.test", "city_a1@huaxia.test", "rep_a1@huaxia.test"}
    assert "prov_a@huaxia.test" not in names(User.objects.visible_to(w.prov_b_manager))
    assert len(User.objects.visible_to(w.hq_admin)) == 6
    assert names(User.objects.visible_to(w.other_tenant_admin)) == {"admin@yuanfang.test"}


def test_audit_visible_per_persona(world: World) -> None:
    w = world
    assert AuditEvent.objects.visible_to(w.hq_admin).exists()
    assert not AuditEvent.objects.visible_to(w.city_a1_rep).exists()
    tenants = set(AuditEvent.objects.visible_to(w.hq_admin).values_list("tenant_id", flat=True))
    assert tenants == {w.tenant.pk}
    # Province A's manager reads the trail of actions taken inside province A only.
    org_unit_create(actor=w.prov_b_manager, parent_id=w.prov_b.pk, name="宁波分公司",
                    kind="city")
    seen = AuditEvent.objects.visible_to(w.prov_a_manager)
    assert not seen.filter(actor=w.prov_b_manager).exists()


def test_missing_and_forbidden_both_not_found(world: World) -> None:
    w = world
    with pytest.raises(NotFound):
        access.get_for(OrgUnit, w.city_a1_rep, w.prov_b.pk)
    with pytest.raises(NotFound):
        access.get_for(OrgUnit, w.city_a1_rep, 10**9)
    with pytest.raises(NotFound):
        access.get_for(OrgUnit, w.hq_admin, w.other_unit.pk)
    with pytest.raises(NotFound):
        access.get_for(OrgUnit, w.hq_admin, "not-a-number")


def test_forbidden_write_changes_nothing(world: World) -> None:
    w = world
    before = list(OrgUnit.objects.order_by("pk").values())
    with pytest.raises(Forbidden):
        org_unit_update(actor=w.city_a1_rep, unit_id=w.city_a1.pk, name="改名")
    with pytest.raises(NotFound):
        org_unit_update(actor=w.prov_b_manager, unit_id=w.city_a1.pk, name="改名")
    with pytest.raises(NotFound):
        org_unit_create(actor=w.prov_b_manager, parent_id=w.prov_a.pk, name="越权")
    with pytest.raises(Forbidden):
        org_unit_create(actor=w.analyst, parent_id=w.hq.pk, name="分析部")
    assert list(OrgUnit.objects.order_by("pk").values()) == before


def test_manager_cannot_move_unit_outside_own_area(world: World) -> None:
    w = world
    before = OrgUnit.objects.get(pk=w.team_a1.pk).path
    with pytest.raises(NotFound):
        org_unit_move(actor=w.prov_a_manager, unit_id=w.team_a1.pk,
                      new_parent_id=w.city_b1.pk)
    assert OrgUnit.objects.get(pk=w.team_a1.pk).path == before


def test_denials_are_audited_after_rollback(world: World) -> None:
    from kehu.core import audit

    with pytest.raises(Forbidden):
        org_unit_create(actor=world.analyst, parent_id=world.hq.pk, name="x")
    audit.flush_denials()
    event = AuditEvent.objects.get(action="permission_denied", actor=world.analyst)
    assert event.changes == {"permission": "org.create"}


def test_role_change_applies_on_next_request(world: World) -> None:
    w = world
    rep = fresh(w.city_a1_rep)
    assert not access.has_perm(rep, "org.create")
    user_update(actor=w.hq_admin, user_id=rep.pk,
                role_ids=[w.role("city_manager").pk])
    assert access.has_perm(fresh(rep), "org.create")


def test_custom_role_scope_and_multiple_roles(world: World) -> None:
    w = world
    auditor = role_create(actor=w.hq_admin, name="审计员", permissions=["audit.view"],
                          data_scope="tenant")
    user_update(actor=w.hq_admin, user_id=w.city_a1_rep.pk,
                role_ids=[w.role("account_manager").pk, auditor.pk])
    rep = fresh(w.city_a1_rep)
    assert access.scope_for(rep, "audit.view") == "tenant"
    assert access.scope_for(rep, "users.view") == "own"
    assert AuditEvent.objects.visible_to(rep).filter(actor=w.hq_admin).exists()


def test_cannot_grant_more_than_you_hold(world: World) -> None:
    w = world
    before = set(fresh(w.city_a1_rep).roles.values_list("pk", flat=True))
    with pytest.raises(Forbidden):
        user_update(actor=w.prov_a_manager, user_id=w.city_a1_rep.pk,
                    role_ids=[w.role("tenant_admin").pk])
    assert set(fresh(w.city_a1_rep).roles.values_list("pk", flat=True)) == before


def test_cannot_create_user_outside_area(world: World) -> None:
    w = world
    count = User.objects.count()
    with pytest.raises((NotFound, ValidationFailed)):
        user_create(actor=w.prov_a_manager, email="x@huaxia.test", full_name="越权",
                    org_unit_id=w.city_b1.pk,
                    role_ids=[w.role("account_manager").pk])
    assert User.objects.count() == count


def test_other_tenant_roles_cannot_be_assigned(world: World) -> None:
    w = world
    foreign = Role.objects.get(tenant=w.other_tenant, builtin_key="analyst")
    with pytest.raises(ValidationFailed):
        user_update(actor=w.hq_admin, user_id=w.city_a1_rep.pk, role_ids=[foreign.pk])
    assert not fresh(w.city_a1_rep).roles.filter(pk=foreign.pk).exists()


def test_deactivated_user_sees_nothing(world: World) -> None:
    w = world
    user_deactivate(actor=w.hq_admin, user_id=w.prov_a_manager.pk)
    assert not OrgUnit.objects.visible_to(fresh(w.prov_a_manager)).exists()
