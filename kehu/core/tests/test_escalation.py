"""Nobody manages users above them or writes roles richer than their own rights."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kehu.core import access, audit
from kehu.core.exceptions import Forbidden, ValidationFailed
from kehu.core.models import AuditEvent, OrgUnit, Role, User
from kehu.core.services.profile import api_token_create
from kehu.core.services.roles import role_create, role_update
from kehu.core.services.shares import record_share
from kehu.core.services.users import user_deactivate, user_reset_password, user_unlock, user_update
from kehu.core.testing import PASSWORD, World, fresh, make_user

pytestmark = pytest.mark.django_db


def snapshot_users() -> list[dict]:
    rows = list(User.objects.order_by("pk").values())
    roles = {u.pk: sorted(u.roles.values_list("pk", flat=True)) for u in User.objects.all()}
    return [row | {"roles": roles[row["id"]]} for row in rows]


@pytest.fixture
def hq_manager(world: World) -> User:
    return make_user(world.hq_admin, "hqm@huaxia.test", "总部经理", world.hq, "hq_manager")


@pytest.fixture
def admin_in_province(world: World) -> User:
    return make_user(world.hq_admin, "admin2@huaxia.test", "省管理员", world.prov_a,
                     "tenant_admin")


def test_hq_manager_cannot_take_over_the_administrator(world: World, hq_manager: User) -> None:
    before = snapshot_users()
    for attempt in (
        lambda: user_reset_password(actor=hq_manager, user_id=world.hq_admin.pk),
        lambda: user_update(actor=hq_manager, user_id=world.hq_admin.pk, role_ids=[]),
        lambda: user_deactivate(actor=hq_manager, user_id=world.hq_admin.pk),
        lambda: user_unlock(actor=hq_manager, user_id=world.hq_admin.pk),
        lambda: user_update(actor=hq_manager, user_id=world.hq_admin.pk,
                            full_name="被改"),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert snapshot_users() == before
    audit.flush_denials()
    assert AuditEvent.objects.filter(action="permission_denied", actor=hq_manager).count() == 5


def test_province_manager_cannot_deactivate_an_admin_in_their_province(
    world: World, admin_in_province: User
) -> None:
    before = snapshot_users()
    with pytest.raises(Forbidden):
        user_deactivate(actor=world.prov_a_manager, user_id=admin_in_province.pk)
    assert snapshot_users() == before


def test_managers_still_manage_their_people(world: World) -> None:
    user_update(actor=world.prov_a_manager, user_id=world.city_a1_rep.pk,
                full_name="李经理")
    _, password = user_reset_password(actor=world.hq_admin,
                                      user_id=world.city_a1_rep.pk)
    assert fresh(world.city_a1_rep).check_password(password)


def test_reset_password_revokes_tokens(world: World) -> None:
    token, _ = api_token_create(actor=world.city_a1_rep, name="脚本")
    user_reset_password(actor=world.hq_admin, user_id=world.city_a1_rep.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_last_administrator_is_kept(world: World, admin_in_province: User) -> None:
    from kehu.core.permissions import all_permissions

    user_deactivate(actor=world.hq_admin, user_id=admin_in_province.pk)
    # A custom role as rich as the administrator's, held by someone else.
    everything = role_create(actor=world.hq_admin, name="全权",
                             permissions=all_permissions(), data_scope="tenant")
    user_update(actor=world.hq_admin, user_id=world.analyst.pk,
                role_ids=[everything.pk])
    with pytest.raises(ValidationFailed):
        # Taking the admin role from the only remaining administrator.
        user_update(actor=fresh(world.analyst), user_id=world.hq_admin.pk,
                    role_ids=[everything.pk])
    with pytest.raises(ValidationFailed):
        user_deactivate(actor=fresh(world.analyst), user_id=world.hq_admin.pk)
    admin = fresh(world.hq_admin)
    assert admin.is_active
    assert admin.roles.filter(builtin_key="tenant_admin").exists()


def test_custom_role_cannot_escalate_itself(world: World) -> None:
    w = world
    editor = role_create(actor=w.hq_admin, name="角色编辑",
                         permissions=["roles.view", "roles.change"], data_scope="own")
    user_update(actor=w.hq_admin, user_id=w.city_a1_rep.pk,
                role_ids=[w.role("account_manager").pk, editor.pk])
    rep = fresh(w.city_a1_rep)
    before = list(Role.objects.order_by("pk").values())
    with pytest.raises(Forbidden):
        role_update(actor=rep, role_id=editor.pk,
                    permissions=["roles.view", "roles.change", "users.admin"])
    with pytest.raises(Forbidden):
        role_update(actor=rep, role_id=editor.pk, data_scope="tenant")
    assert list(Role.objects.order_by("pk").values()) == before
    assert not access.has_perm(fresh(rep), "users.admin")


def test_role_creation_limited_to_own_rights(world: World) -> None:
    w = world
    creator = role_create(actor=w.hq_admin, name="建角色",
                          permissions=["roles.create", "org.view"], data_scope="unit")
    user_update(actor=w.hq_admin, user_id=w.analyst.pk,
                role_ids=[w.role("analyst").pk, creator.pk])
    analyst = fresh(w.analyst)
    count = Role.objects.count()
    with pytest.raises(Forbidden):
        role_create(actor=analyst, name="大权", permissions=["org.change"],
                    data_scope="tenant")
    assert Role.objects.count() == count
    role_create(actor=analyst, name="只看", permissions=["org.view"],
                data_scope="tenant")  # analyst holds org.view over the tenant


def test_phone_masked_in_the_user_page_without_reveal(world: World) -> None:
    user_update(actor=world.hq_admin, user_id=world.city_a1_rep.pk,
                phone="13812345678")
    client = Client()
    client.force_login(world.prov_a_manager)
    body = client.get(reverse("user_detail", args=[world.city_a1_rep.pk])).content.decode()
    assert "13812345678" not in body
    assert "138****5678" in body
    # Saving the form does not write the masked text over the real number.
    response = client.post(reverse("user_detail", args=[world.city_a1_rep.pk]), {
        "full_name": "李客户经理", "phone": "138****5678", "org_unit": world.city_a1.pk,
        "roles": [world.role("account_manager").pk], "language": "zh-hans",
        "version": fresh(world.city_a1_rep).version,
    })
    assert response.status_code == 302
    assert fresh(world.city_a1_rep).phone == "13812345678"
    admin = Client()
    admin.force_login(world.hq_admin)
    body = admin.get(reverse("user_detail", args=[world.city_a1_rep.pk])).content.decode()
    assert "13812345678" in body


def test_allows_agrees_with_visible_to(world: World) -> None:
    """The per-row check and the queryset are two forms of one policy."""
    w = world
    record_share(actor=w.hq_admin, obj=w.city_a1_manager, user_id=w.prov_b_manager.pk)
    personas = [w.hq_admin, w.prov_a_manager, w.city_a1_manager, w.city_a1_rep,
                w.prov_b_manager, w.analyst, w.other_tenant_admin]
    for model in (OrgUnit, User, Role, AuditEvent):
        objects = list(model.objects.all())
        for persona in personas:
            viewer = fresh(persona)
            for action in ("view", "change", "reveal_pii", "export"):
                allowed = set(model.objects.visible_to(viewer, action)
                              .values_list("pk", flat=True))
                for obj in objects:
                    assert access.allows(viewer, obj, action) == (obj.pk in allowed), (
                        model.__name__, persona.email, action, obj.pk)


def test_login_page_still_works_for_managed_user(world: World) -> None:
    client = Client()
    response = client.post(reverse("login"), {"email": world.city_a1_rep.email,
                                              "password": PASSWORD})
    assert response.status_code == 302
