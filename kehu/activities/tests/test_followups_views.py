"""Pages of follow-up plans."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.activities.models import FollowUp
from kehu.activities.services import followups as fu_services

pytestmark = pytest.mark.django_db


def test_followup_pages(world, book, engagement, client):
    client.force_login(world.city_a1_rep)
    overdue = fu_services.followup_create(
        actor=world.city_a1_rep, customer_id=book.rep.pk, subject="逾期回访",
        due_at=timezone.now() - dt.timedelta(hours=2))
    html = client.get("/followups/").content.decode()
    assert "逾期回访" in html and engagement.followup.subject in html
    assert 'data-status="overdue"' in html
    html = client.get("/followups/?status=overdue").content.decode()
    assert "逾期回访" in html and engagement.followup.subject not in html
    # Plan from the customer page.
    r = client.post("/followups/new/", {"customer": book.rep.pk, "subject": "月度回访",
                                        "due_at": "2030-01-31T09:00", "recur_every": "1",
                                        "recur_unit": "month",
                                        "contact": book.rep_contact.pk})
    assert r.status_code == 302, r.content.decode()
    planned = FollowUp.objects.get(subject="月度回访")
    assert planned.contact == book.rep_contact and planned.remind_minutes_before == 15
    r = client.post("/followups/new/", {"customer": book.rep.pk, "subject": "",
                                        "due_at": ""})
    assert r.status_code == 422
    # Complete, recording the interaction inline.
    assert client.get(f"/followups/{planned.pk}/complete/").status_code == 200
    r = client.post(f"/followups/{planned.pk}/complete/", {
        "how": "new", "kind": "call", "occurred_at": "2030-01-31T09:30",
        "subject": "", "content": "已回访"})
    assert r.status_code == 302
    planned.refresh_from_db()
    assert planned.state == "done" and planned.fulfilled_by is not None
    assert planned.fulfilled_by.content == "已回访"
    assert FollowUp.objects.filter(previous=planned, state="planned").exists()
    # Complete by linking an existing interaction; cancel with a reason.
    r = client.post(f"/followups/{overdue.pk}/complete/", {
        "how": "existing", "existing": engagement.interaction.pk})
    assert r.status_code == 302
    assert FollowUp.objects.get(pk=overdue.pk).fulfilled_by_id == engagement.interaction.pk
    r = client.post(f"/followups/{engagement.followup.pk}/cancel/", {"reason": ""})
    assert r.status_code == 422
    r = client.post(f"/followups/{engagement.followup.pk}/cancel/", {"reason": "客户改期"})
    assert r.status_code == 302
    assert FollowUp.objects.get(pk=engagement.followup.pk).state == "cancelled"
    html = client.get("/followups/?status=done").content.decode()
    assert "逾期回访" in html


def test_followups_of_others_are_hidden(world, book, engagement, client):
    client.force_login(world.prov_b_manager)
    assert engagement.followup.subject not in client.get("/followups/?tab=team").content \
        .decode()
    assert client.get(f"/followups/{engagement.followup.pk}/complete/").status_code == 404
    r = client.post(f"/followups/{engagement.followup.pk}/cancel/", {"reason": "x"})
    assert r.status_code == 404
    assert FollowUp.objects.get(pk=engagement.followup.pk).state == "planned"


def test_followup_edit_page(world, book, engagement, client):
    fu = engagement.followup
    client.force_login(world.city_a1_rep)
    html = client.get(f"/followups/{fu.pk}/edit/").content.decode()
    assert fu.subject in html and f'value="{fu.version}"' in html
    r = client.post(f"/followups/{fu.pk}/edit/", {
        "customer": book.rep.pk, "subject": "改期回访", "due_at": "2031-05-06T10:30",
        "remind_minutes_before": "30", "contact": book.rep_contact.pk,
        "expected_version": fu.version})
    assert r.status_code == 302, r.content.decode()
    fu.refresh_from_db()
    assert fu.subject == "改期回访" and fu.remind_minutes_before == 30
    assert timezone.localtime(fu.due_at).strftime("%Y-%m-%d %H:%M") == "2031-05-06 10:30"
    # A stale version (someone changed it meanwhile) is refused and changes nothing.
    r = client.post(f"/followups/{fu.pk}/edit/", {
        "customer": book.rep.pk, "subject": "旧版本", "due_at": "2031-05-07T10:30",
        "expected_version": fu.version - 1})
    assert r.status_code == 422
    fu.refresh_from_db()
    assert fu.subject == "改期回访"
    # Outside the scope: not found, nothing changed.
    client.force_login(world.prov_b_manager)
    assert client.get(f"/followups/{fu.pk}/edit/").status_code == 404
    r = client.post(f"/followups/{fu.pk}/edit/", {"customer": book.rep.pk, "subject": "入侵",
                                                 "due_at": "2031-05-07T10:30"})
    assert r.status_code == 404
    fu.refresh_from_db()
    assert fu.subject == "改期回访"
