"""Explicit shares widen which records a user sees, never what they may do."""

from __future__ import annotations

import pytest

from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import AuditEvent, RecordShare, User
from kehu.core.services.roles import role_create
from kehu.core.services.shares import record_share, record_unshare
from kehu.core.services.users import user_update
from kehu.core.testing import World, fresh

pytestmark = pytest.mark.django_db


def test_share_opens_one_record_to_view(world: World) -> None:
    w = world
    rep = w.city_a1_rep
    assert not User.objects.visible_to(fresh(w.prov_b_manager)).filter(pk=rep.pk).exists()
    record_share(actor=w.hq_admin, obj=rep, user_id=w.prov_b_manager.pk)
    seen = User.objects.visible_to(fresh(w.prov_b_manager))
    assert seen.filter(pk=rep.pk).exists()
    assert not seen.filter(pk=w.city_a1_manager.pk).exists()  # only the shared record
    # View only: changing it is still refused, and nothing changes.
    with pytest.raises(NotFound):
        user_update(actor=fresh(w.prov_b_manager), user_id=rep.pk, full_name="改")
    assert fresh(rep).full_name == rep.full_name
    assert AuditEvent.objects.filter(action="share.grant", object_id=str(rep.pk)).exists()


def test_share_with_change(world: World) -> None:
    w = world
    record_share(actor=w.hq_admin, obj=w.city_a1_rep, user_id=w.prov_b_manager.pk,
                 can_change=True)
    user_update(actor=fresh(w.prov_b_manager), user_id=w.city_a1_rep.pk,
                full_name="李经理")
    assert fresh(w.city_a1_rep).full_name == "李经理"


def test_share_needs_the_module_action(world: World) -> None:
    w = world
    # The rep's role holds users.view (own scope), so the share shows them the record;
    # without any users.view the share shows nothing.
    custom = role_create(actor=w.hq_admin, name="仅组织", permissions=["org.view"],
                         data_scope="unit")
    user_update(actor=w.hq_admin, user_id=w.analyst.pk, role_ids=[custom.pk])
    record_share(actor=w.hq_admin, obj=w.city_a1_rep, user_id=w.analyst.pk)
    assert not User.objects.visible_to(fresh(w.analyst)).exists()


def test_unshare(world: World) -> None:
    w = world
    record_share(actor=w.hq_admin, obj=w.city_a1_rep, user_id=w.prov_b_manager.pk)
    record_unshare(actor=w.hq_admin, obj=w.city_a1_rep, user_id=w.prov_b_manager.pk)
    assert not User.objects.visible_to(fresh(w.prov_b_manager)).filter(
        pk=w.city_a1_rep.pk).exists()
    assert AuditEvent.objects.filter(action="share.revoke").exists()


def test_cannot_share_what_you_cannot_change_or_with_another_tenant(world: World) -> None:
    w = world
    with pytest.raises(NotFound):
        record_share(actor=w.prov_b_manager, obj=w.city_a1_rep,
                     user_id=w.prov_b_manager.pk)
    with pytest.raises(ValidationFailed):
        record_share(actor=w.hq_admin, obj=w.city_a1_rep,
                     user_id=w.other_tenant_admin.pk)
    with pytest.raises(ValidationFailed):  # only with colleagues the actor can see
        record_share(actor=w.city_a1_manager, obj=w.city_a1_rep,
                     user_id=w.prov_b_manager.pk)
    with pytest.raises(NotFound):
        record_share(actor=w.other_tenant_admin, obj=w.city_a1_rep,
                     user_id=w.other_tenant_admin.pk)
    assert not RecordShare.objects.exists()
