"""Audit rows are append-only, masked, and carry request context."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from kehu.core import audit, context
from kehu.core.models import AuditEvent
from kehu.core.services.org import org_unit_create
from kehu.core.services.users import user_update
from kehu.core.testing import World

pytestmark = pytest.mark.django_db


def test_orm_refuses_update_and_delete(world: World) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_database_refuses_raw_update(world: World) -> None:
    table = AuditEvent._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET action = 'forged'")  # noqa: S608
    assert not AuditEvent.objects.filter(action="forged").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DELETE trigger is PostgreSQL's")
def test_database_refuses_raw_delete(world: World) -> None:
    table = AuditEvent._meta.db_table
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    assert AuditEvent.objects.count() == count


def test_request_context_and_masking(world: World) -> None:
    token = context.activate(context.RequestContext("req-123", "10.1.2.3"))
    try:
        user_update(actor=world.hq_admin, user_id=world.analyst.pk,
                    phone="13912345678")
    finally:
        context.deactivate(token)
    event = AuditEvent.objects.filter(action="user.update").latest("id")
    assert event.request_id == "req-123"
    assert event.ip == "10.1.2.3"
    assert event.tenant_id == world.tenant.pk
    assert event.actor_id == world.hq_admin.pk
    assert event.changes == {"phone": ["", "139****5678"]}


def test_failed_write_leaves_no_audit_row(world: World) -> None:
    from kehu.core.exceptions import Conflict

    count = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        org_unit_create(actor=world.hq_admin, parent_id=world.hq.pk, name="广东省公司")
    assert AuditEvent.objects.count() == count


def test_diff_masks_and_skips_unchanged() -> None:
    from kehu.core.models import User

    assert audit.diff(User, {"phone": "13800001111", "full_name": "甲"},
                      {"phone": "13800002222", "full_name": "甲"}) == {
        "phone": ["138****1111", "138****2222"]}


def test_unregistered_action_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="not registered"):
        audit.record(actor=world.hq_admin, action="org_unit.explode", obj=world.hq)


def test_every_action_written_by_the_suite_is_registered(world: World) -> None:
    written = set(AuditEvent.objects.values_list("action", flat=True))
    assert written <= set(audit.ACTIONS)
    assert audit.action_label("org_unit.create") != "org_unit.create"


def test_blank_to_blank_is_no_change() -> None:
    from kehu.core.models import User

    assert audit.diff(User, {}, {"phone": "", "full_name": "甲"}) == {"full_name": [None, "甲"]}
