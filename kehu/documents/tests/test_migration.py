"""activities 0002: notifications, reminder settings and documents move to their platform
apps with their ids; a document's foreign key becomes a registered target key and id."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from kehu.activities.models import Interaction
from kehu.documents.models import Document
from kehu.documents.testing import SAMPLE_PDF
from kehu.notifications.models import Notification, ReminderSettings

BEFORE = [("activities", "0001_initial"), ("documents", None), ("notifications", None)]

# Ids well above anything the fixtures create, so that a sequence left behind shows.
FIRST_ID = 9001


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets``; the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(
        [(app, name) for app, name in targets if name is not None]).apps


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_move_to_the_platform_apps_with_their_ids(world, book):
    rep, now = world.city_a1_rep, timezone.now()
    interaction = Interaction.objects.create(
        tenant=world.tenant, org_unit=world.city_a1, owner=rep, kind="visit",
        channel="face_to_face", customer=book.rep, subject="拜访", created_by=rep,
        occurred_at=now - dt.timedelta(days=1))
    parents = {"customer_id": book.rep.pk, "contact_id": book.rep_contact.pk,
               "interaction_id": interaction.pk}
    try:
        old = _migrate(BEFORE)
        placed = {"tenant_id": world.tenant.pk, "org_unit_id": world.city_a1.pk,
                  "owner_id": rep.pk, "uploaded_by_id": rep.pk}
        old_document = old.get_model("activities", "Document")
        for offset, (field, pk) in enumerate(parents.items()):
            old_document.objects.create(
                id=FIRST_ID + offset, **placed, **{field: pk}, file_name=f"{field}.pdf",
                content_type="application/pdf", size=len(SAMPLE_PDF), sha256="0" * 64,
                storage_name=f"{offset:032x}", description=field, version=3)
        old.get_model("activities", "Notification").objects.create(
            id=FIRST_ID, tenant_id=world.tenant.pk, recipient_id=rep.pk,
            kind="task_assigned", title="准备报价", body="请尽快", url="/tasks/1",
            key="task:1:assigned", read_at=now, email_status="sent", email_attempts=1,
            emailed_at=now)
        old.get_model("activities", "ReminderSettings").objects.create(
            id=FIRST_ID, tenant_id=world.tenant.pk, user_id=rep.pk, default_lead_minutes=45,
            email_enabled=False)
    finally:
        _migrate(_latest())

    documents = {d.pk: d for d in Document.objects.all()}
    assert set(documents) == {FIRST_ID, FIRST_ID + 1, FIRST_ID + 2}
    expected = {FIRST_ID: ("customers.customer", book.rep.pk),
                FIRST_ID + 1: ("customers.contact", book.rep_contact.pk),
                FIRST_ID + 2: ("activities.interaction", interaction.pk)}
    for pk, (target_type, target_id) in expected.items():
        doc = documents[pk]
        assert (doc.target_type, doc.target_id) == (target_type, target_id)
        assert doc.target.pk == target_id
        assert (doc.tenant_id, doc.org_unit_id, doc.owner_id, doc.uploaded_by_id) == (
            world.tenant.pk, world.city_a1.pk, rep.pk, rep.pk)
        assert doc.version == 3 and doc.size == len(SAMPLE_PDF)
    assert documents[FIRST_ID + 1].file_name == "contact_id.pdf"
    notice = Notification.objects.get()
    assert (notice.pk, notice.recipient_id, notice.kind, notice.key, notice.email_status,
            notice.read_at) == (FIRST_ID, rep.pk, "task_assigned", "task:1:assigned",
                                "sent", now)
    settings = ReminderSettings.objects.get()
    assert (settings.pk, settings.user_id, settings.default_lead_minutes,
            settings.email_enabled) == (FIRST_ID, rep.pk, 45, False)
    # The old tables are gone; new rows get ids above the copied ones (PostgreSQL
    # sequences are moved by the migration; SQLite's AUTOINCREMENT follows by itself).
    tables = connection.introspection.table_names()
    assert not {"activities_document", "activities_notification",
                "activities_remindersettings"} & set(tables)
    new = Document.objects.create(
        tenant=world.tenant, org_unit=world.city_a1, owner=rep, uploaded_by=rep,
        target_type="customers.customer", target_id=book.rep.pk, file_name="new.pdf",
        content_type="application/pdf", size=1, sha256="1" * 64, storage_name="f" * 32)
    assert new.pk > FIRST_ID + 2
    fresh = Notification.objects.create(tenant=world.tenant, recipient=rep,
                                        kind="task_due", title="到期", key="task:1:due")
    assert fresh.pk > FIRST_ID
