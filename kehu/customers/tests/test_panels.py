"""The panel registry of the unified view, and masking in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as
from kehu.customers import actions, panels
from kehu.customers.models import Customer, StatusChange
from kehu.customers.services import customers as customer_services
from kehu.customers.testing import ID_NUMBER

pytestmark = pytest.mark.django_db


@pytest.fixture
def history_panel():
    """A panel as another app would register it: one bounded query, whatever the data."""

    def load(actor: Any, customer: Customer) -> dict[str, Any]:
        changes = StatusChange.objects.filter(customer=customer).order_by("-id")[:5]
        return {"latest": [c.to_status for c in changes]}

    panels.register_panel("test_history", "History", load, permission="customers.view",
                          order=50)
    panels.register_panel("test_secret", "Secret", lambda a, c: {"x": 1},
                          permission="users.admin", order=60)
    yield
    panels.PANELS.pop("test_history")
    panels.PANELS.pop("test_secret")


def test_registered_panel_appears_in_the_view_for_who_may_see_it(world, book, history_panel):
    customer_services.customer_set_status(actor=world.city_a1_rep, customer_id=book.rep.pk,
                                          status="customer")
    r = api_as(world.city_a1_rep).get(f"/customers/{book.rep.pk}/view")
    assert r.data["panels"]["test_history"] == {"latest": ["customer", "potential"]}
    assert "test_secret" not in r.data["panels"]
    r = api_as(world.hq_admin).get(f"/customers/{book.rep.pk}/view")
    assert r.data["panels"]["test_secret"] == {"x": 1}


def test_panel_queries_stay_flat(world, book, history_panel):
    client = api_as(world.hq_admin)

    def count() -> int:
        client.get("/auth/me")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/customers/{book.hq.pk}/view").status == 200
        return len(ctx.captured_queries)

    before = count()
    for status in ("customer", "repeat", "loyal", "dormant", "customer", "repeat") * 3:
        customer_services.customer_set_status(actor=world.hq_admin, customer_id=book.hq.pk,
                                              status=status)
    assert count() == before


def test_audit_diffs_mask_personal_data(world):
    person = customer_services.customer_create(actor=world.hq_admin, name="李四", kind="individual",
                                               id_number=ID_NUMBER, phones=["13912345678"],
                                               addresses=["北京市海淀区中关村大街27号"])
    customer_services.customer_update(actor=world.hq_admin, customer_id=person.pk,
                                      phones=["13700001111"])
    text = str(list(AuditEvent.objects.filter(object_id=str(person.pk))
                    .values_list("changes", flat=True)))
    for secret in (ID_NUMBER, "13912345678", "13700001111", "中关村大街27号"):
        assert secret not in text
    assert "139****5678" in text and "137****1111" in text


@pytest.fixture
def report_action():
    """A record action as a later app would register it, needing a permission."""
    actions.register_record_action("contact", "test-report", "Report on it",
                                   lambda contact: f"/reports/?contact={contact.pk}",
                                   permission="interactions.report", order=5)
    yield
    actions.ACTIONS["contact"].pop("test-report")


def test_record_actions_show_to_who_may_take_them(world, book, report_action):
    from kehu.customers.tests.test_views import client_for

    url = f"/contacts/{book.rep_contact.pk}/"
    manager_page = client_for(world.city_a1_manager).get(url).content.decode()
    assert 'data-testid="contact-test-report"' in manager_page
    assert f'href="/reports/?contact={book.rep_contact.pk}"' in manager_page
    # Ordered by "order": the test action (5) before engagement's own (100).
    assert manager_page.index("contact-test-report") < manager_page.index(
        "contact-record-interaction")
    rep_page = client_for(world.city_a1_rep).get(url).content.decode()
    assert "contact-test-report" not in rep_page  # account managers cannot report
    assert 'data-testid="contact-record-interaction"' in rep_page
