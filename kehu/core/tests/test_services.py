"""Org tree, users and roles services: invariants, validation, audit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.core import access, selectors
from kehu.core.exceptions import Conflict, StaleVersion, ValidationFailed
from kehu.core.models import AuditEvent, OrgUnit, Role, Tenant, User
from kehu.core.services.org import (
    org_unit_create,
    org_unit_deactivate,
    org_unit_move,
    org_unit_update,
)
from kehu.core.services.profile import api_token_create, api_token_revoke, profile_update
from kehu.core.services.roles import role_create, role_delete, role_update
from kehu.core.services.tenants import builtin_roles_sync, tenant_signup
from kehu.core.services.users import (
    user_create,
    user_deactivate,
    user_reset_password,
    user_unlock,
    user_update,
)
from kehu.core.testing import PASSWORD, World

pytestmark = pytest.mark.django_db


def test_signup_creates_tenant_root_roles_admin() -> None:
    tenant, admin = tenant_signup(company_name="  新兴  科技 ", admin_name="赵敏",
                                  email="Zhao@Example.CN", password=PASSWORD)
    assert tenant.name == "新兴 科技"
    assert admin.email == "zhao@example.cn"
    assert admin.org_unit.parent is None and admin.org_unit.kind == "group"
    assert admin.org_unit.path == f"/{admin.org_unit.pk}/"
    assert Role.objects.filter(tenant=tenant).count() == 9
    assert list(admin.roles.values_list("builtin_key", flat=True)) == ["tenant_admin"]
    assert set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True)) == {
        "tenant.signup", "user.create"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"company_name": " "}, "company_name"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "123"}, "password"),
        ({"admin_name": ""}, "admin_name"),
    ],
)
def test_signup_validation_creates_nothing(kwargs: dict[str, str], field: str) -> None:
    data = {"company_name": "甲公司", "admin_name": "甲", "email": "a@jia.cn",
            "password": PASSWORD} | kwargs
    with pytest.raises(ValidationFailed) as err:
        tenant_signup(**data)
    assert field in err.value.fields
    assert not Tenant.objects.exists() and not User.objects.exists()


def test_duplicate_signup_refused(world: World) -> None:
    with pytest.raises(Conflict) as err:
        tenant_signup(company_name="华夏通信集团", admin_name="x", email="new@x.cn",
                      password=PASSWORD)
    assert "company_name" in err.value.fields
    with pytest.raises(Conflict) as err:
        tenant_signup(company_name="新公司", admin_name="x",
                      email="HQ_ADMIN@huaxia.test", password=PASSWORD)
    assert "email" in err.value.fields
    assert Tenant.objects.count() == 2


def test_move_subtree_rewrites_paths(world: World) -> None:
    w = world
    org_unit_move(actor=w.hq_admin, unit_id=w.city_a1.pk, new_parent_id=w.prov_b.pk)
    team = OrgUnit.objects.get(pk=w.team_a1.pk)
    assert team.path == f"{w.prov_b.path}{w.city_a1.pk}/{w.team_a1.pk}/"
    assert team.depth == 3
    assert OrgUnit.objects.get(pk=w.city_a1.pk).parent_id == w.prov_b.pk
    # The rep in the moved city now belongs to province B's subtree.
    assert User.objects.visible_to(w.prov_b_manager).filter(pk=w.city_a1_rep.pk).exists()
    event = AuditEvent.objects.get(action="org_unit.move")
    assert event.changes == {"parent": [w.prov_a.pk, w.prov_b.pk]}


def test_move_under_own_descendant_refused(world: World) -> None:
    w = world
    with pytest.raises(ValidationFailed):
        org_unit_move(actor=w.hq_admin, unit_id=w.prov_a.pk, new_parent_id=w.team_a1.pk)
    with pytest.raises(ValidationFailed):
        org_unit_move(actor=w.hq_admin, unit_id=w.hq.pk, new_parent_id=w.prov_a.pk)
    assert OrgUnit.objects.get(pk=w.prov_a.pk).parent_id == w.hq.pk


def test_rename_and_version(world: World) -> None:
    w = world
    unit = org_unit_update(actor=w.hq_admin, unit_id=w.city_a1.pk, name="广州市分公司",
                           expected_version=w.city_a1.version)
    assert unit.version == w.city_a1.version + 1
    with pytest.raises(StaleVersion):
        org_unit_update(actor=w.hq_admin, unit_id=w.city_a1.pk, name="再改",
                        expected_version=w.city_a1.version)
    assert OrgUnit.objects.get(pk=w.city_a1.pk).name == "广州市分公司"
    event = AuditEvent.objects.filter(action="org_unit.update").latest("id")
    assert event.changes == {"name": ["广州分公司", "广州市分公司"]}


def test_sibling_names_unique(world: World) -> None:
    with pytest.raises(Conflict):
        org_unit_create(actor=world.hq_admin, parent_id=world.hq.pk, name="广东省公司")


def test_deactivate_refused_while_owning_active_users_or_units(world: World) -> None:
    w = world
    with pytest.raises(Conflict) as err:
        org_unit_deactivate(actor=w.hq_admin, unit_id=w.city_a1.pk)
    assert "2" in str(err.value.message)  # two active users
    assert OrgUnit.objects.get(pk=w.city_a1.pk).is_active
    with pytest.raises(Conflict):
        org_unit_deactivate(actor=w.hq_admin, unit_id=w.prov_b.pk)  # has a city
    unit = org_unit_deactivate(actor=w.hq_admin, unit_id=w.team_a1.pk)
    assert not unit.is_active
    with pytest.raises(ValidationFailed):
        org_unit_create(actor=w.hq_admin, parent_id=w.team_a1.pk, name="x")


def test_subtree_read_is_one_query_over_ten_thousand_units(world: World) -> None:
    w = world
    units = [
        OrgUnit(tenant=w.tenant, parent=w.city_b1, name=f"网格{i}", kind="team",
                path=f"{w.city_b1.path}x{i}/", depth=3)
        for i in range(10_000)
    ]
    OrgUnit.objects.bulk_create(units, batch_size=2000)
    for manager in (w.prov_a_manager, w.prov_b_manager):
        # Loaded once per request, not part of the subtree read itself.
        access.grants(manager)
        access.shared_ids(manager, OrgUnit, "view")
    with CaptureQueriesContext(connection) as ctx:
        subtree = list(selectors.org_unit_list(actor=w.prov_a_manager))
    assert len(ctx.captured_queries) == 1
    assert len(subtree) == 3
    with CaptureQueriesContext(connection) as ctx:
        assert len(list(selectors.org_unit_list(actor=w.prov_b_manager))) == 10_002
    assert len(ctx.captured_queries) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN form is PostgreSQL's")
def test_subtree_query_uses_path_index(world: World) -> None:
    qs = OrgUnit.objects.filter(tenant=world.tenant, path__startswith=world.prov_a.path)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = qs.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "Index" in plan


def test_user_create_generates_password_once(world: World) -> None:
    w = world
    user, password = user_create(
        actor=w.city_a1_manager, email="new.rep@huaxia.test", full_name="新人",
        org_unit_id=w.team_a1.pk, role_ids=[w.role("account_manager").pk], phone="13812345678",
    )
    assert password and user.check_password(password)
    event = AuditEvent.objects.get(action="user.create", object_id=str(user.pk))
    assert event.changes["phone"] == [None, "138****5678"]
    assert "password" not in event.changes


def test_user_deactivation_revokes_tokens(world: World) -> None:
    w = world
    token, _ = api_token_create(actor=w.city_a1_rep, name="脚本")
    user_deactivate(actor=w.city_a1_manager, user_id=w.city_a1_rep.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_deactivate_self(world: World) -> None:
    with pytest.raises(ValidationFailed):
        user_deactivate(actor=world.hq_admin, user_id=world.hq_admin.pk)
    assert User.objects.get(pk=world.hq_admin.pk).is_active


def test_builtin_roles_are_read_only(world: World) -> None:
    w = world
    role = w.role("analyst")
    with pytest.raises(Conflict):
        role_update(actor=w.hq_admin, role_id=role.pk, name="改")
    with pytest.raises(Conflict):
        role_delete(actor=w.hq_admin, role_id=role.pk)
    assert Role.objects.get(pk=role.pk).name == role.name


def test_builtin_role_names_stored_in_default_language() -> None:
    from django.utils import translation

    with translation.override("en"):
        tenant, _ = tenant_signup(company_name="Acme", admin_name="A",
                                  email="a@acme.test", password=PASSWORD)
    analyst = Role.objects.get(tenant=tenant, builtin_key="analyst")
    assert analyst.name == "分析员（只读）"
    with translation.override("en"):
        assert analyst.display_name == "Analyst (read-only)"


def test_code_and_description_lengths_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        org_unit_create(actor=world.hq_admin, parent_id=world.hq.pk, name="长",
                        code="x" * 51)
    assert "code" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        role_create(actor=world.hq_admin, name="长", permissions=[],
                    data_scope="own", description="d" * 301)
    assert "description" in err.value.fields


def test_custom_role_lifecycle(world: World) -> None:
    w = world
    with pytest.raises(ValidationFailed):
        role_create(actor=w.hq_admin, name="坏", permissions=["nope.view"],
                    data_scope="tenant")
    role = role_create(actor=w.hq_admin, name="只读组织", permissions=["org.view"],
                       data_scope="subtree")
    role = role_update(actor=w.hq_admin, role_id=role.pk, expected_version=1,
                       permissions=["org.view", "users.view"])
    assert role.effective_permissions() == {"org.view", "users.view"}
    user_update(actor=w.hq_admin, user_id=w.analyst.pk,
                role_ids=[w.role("analyst").pk, role.pk])
    with pytest.raises(Conflict):
        role_delete(actor=w.hq_admin, role_id=role.pk)
    user_update(actor=w.hq_admin, user_id=w.analyst.pk,
                role_ids=[w.role("analyst").pk])
    role_delete(actor=w.hq_admin, role_id=role.pk)
    assert not Role.objects.filter(pk=role.pk).exists()
    assert AuditEvent.objects.filter(action="role.delete", object_id=str(role.pk)).exists()


def test_every_write_is_audited_in_its_transaction(world: World) -> None:
    w = world
    start = AuditEvent.objects.count()
    org_unit_create(actor=w.hq_admin, parent_id=w.hq.pk, name="北京市公司")
    user_update(actor=w.hq_admin, user_id=w.analyst.pk, full_name="王分析师")
    profile_update(actor=w.analyst, language="en")
    user_unlock(actor=w.hq_admin, user_id=w.analyst.pk)
    user_reset_password(actor=w.hq_admin, user_id=w.analyst.pk)
    token, _ = api_token_create(actor=w.analyst, name="t")
    api_token_revoke(actor=w.analyst, token_id=token.pk)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True)[start:])
    assert actions == ["org_unit.create", "user.update", "user.profile_update", "user.unlock",
                       "user.reset_password", "api_token.create", "api_token.revoke"]


def test_builtin_roles_sync_reaches_existing_tenants(world: World) -> None:
    from kehu.core import permissions as perms

    perms.register_builtin_role("kpi_officer", "KPI officer", "subtree")
    try:
        Role.objects.filter(tenant=world.tenant, builtin_key="analyst").update(data_scope="own")
        assert builtin_roles_sync() == 2  # one new role in each tenant
        assert Role.objects.get(tenant=world.tenant, builtin_key="kpi_officer").data_scope == (
            "subtree")
        assert world.role("analyst").data_scope == "tenant"  # back to the registered scope
        assert builtin_roles_sync() == 0
    finally:
        del perms.BUILTIN_ROLES["kpi_officer"]


def test_saving_nothing_new_is_not_an_event(world: World) -> None:
    w = world
    count = AuditEvent.objects.count()
    unit = org_unit_update(actor=w.hq_admin, unit_id=w.city_a1.pk, name="广州分公司")
    user = profile_update(actor=w.analyst, full_name=w.analyst.full_name)
    assert unit.version == w.city_a1.version
    assert user.version == w.analyst.version
    assert AuditEvent.objects.count() == count
