"""The tenant's retention rules (PIPL Art. 47) for their administrators: the page lists the
rules with the latest dry-run report and sets, changes or turns them off; the API does the
same with If-Match. Others get 403 and change nothing; the worker's runs are tested in
kehu.activities.tests.test_personal_data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.core.tests.test_api import api_as, assert_error
from kehu.core.tests.test_views import client_for
from kehu.customers.models import Customer, RetentionRule
from kehu.customers.services import privacy
from kehu.customers.testing import Book

pytestmark = pytest.mark.django_db

KIND = "churned_individual_interactions"
URL = f"/retention-rules/{KIND}"


def client_in(user: User, language: str) -> Client:
    """A signed-in client whose pages are in ``language`` (the user's own setting)."""
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return client_for(user)


def _rules(tenant_id: int) -> list[tuple[str, int, int]]:
    return list(RetentionRule.objects.filter(tenant_id=tenant_id)
                .values_list("kind", "years", "version"))


def test_page_empty_state_then_saves_changes_and_turns_off(world: World) -> None:
    client = client_in(world.hq_admin, "en")
    url = reverse("retention_rules")
    body = client.get(url).content.decode()
    assert 'data-testid="retention-empty"' in body and "No retention rules are set" in body
    assert f'data-testid="retention-form-{KIND}"' in body
    assert 'href="/customers/retention/"' in client.get("/").content.decode()  # in the nav

    saved = client.post(url, {"kind": KIND, "years": "3", "version": "0", "action": "save"})
    assert saved.status_code == 302
    rule = RetentionRule.objects.get(tenant=world.tenant, kind=KIND)
    assert (rule.years, rule.version) == (3, 1)
    body = client.get(url).content.decode()
    assert 'data-testid="retention-rules"' in body and "retention-empty" not in body
    assert "Not reported yet" in body

    changed = client.post(url, {"kind": KIND, "years": "5", "version": "1", "action": "save"})
    assert changed.status_code == 302
    assert _rules(world.tenant.pk) == [(KIND, 5, 2)]
    stale = client.post(url, {"kind": KIND, "years": "7", "version": "1", "action": "save"})
    assert stale.status_code == 422 and "changed by someone else" in stale.content.decode()
    assert _rules(world.tenant.pk) == [(KIND, 5, 2)]
    off = client.post(url, {"kind": KIND, "years": "", "version": "2", "action": "off"})
    assert off.status_code == 302 and _rules(world.tenant.pk) == []
    changes = [e.changes["years"] for e in
               AuditEvent.objects.filter(action="retention.rule").order_by("pk")]
    assert changes == [[None, 3], [3, 5], [5, None]]


@pytest.mark.parametrize(("language", "years", "message"), [
    ("en", "0", "Enter a number of years from 1 to 50."),
    ("en", "51", "Enter a number of years from 1 to 50."),
    ("en", "", "Enter a number of years from 1 to 50."),
    ("zh-hans", "abc", "请输入 1 到 50 之间的年数。")])
def test_page_refuses_years_out_of_range_in_both_languages(
        world: World, language: str, years: str, message: str) -> None:
    client = client_in(world.hq_admin, language)
    response = client.post(reverse("retention_rules"),
                           {"kind": KIND, "years": years, "version": "0", "action": "save"})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert _rules(world.tenant.pk) == []


@pytest.mark.parametrize("persona", ["prov_a_manager", "city_a1_rep", "analyst"])
def test_others_get_403_and_change_nothing(world: World, persona: str) -> None:
    privacy.retention_rule_set(actor=world.hq_admin, kind=KIND, years=4)
    before = _rules(world.tenant.pk)
    client = client_for(getattr(world, persona))
    url = reverse("retention_rules")
    assert client.get(url).status_code == 403
    assert client.post(url, {"kind": KIND, "years": "1", "version": "1",
                             "action": "save"}).status_code == 403
    assert client.post(url, {"kind": KIND, "version": "1", "action": "off"}).status_code == 403
    assert 'href="/customers/retention/"' not in client.get("/").content.decode()
    api = api_as(getattr(world, persona))
    assert_error(api.get("/retention-rules"), 403, "permission_denied")
    assert_error(api.request("PUT", URL, {"years": 1}, headers={"If-Match": '"1"'}),
                 403, "permission_denied")
    assert _rules(world.tenant.pk) == before


def test_page_shows_the_dry_run_report(world: World, book: Book) -> None:
    now = timezone.now()
    long_ago = now - dt.timedelta(days=365 * 3)
    person = Customer.objects.create(tenant=world.tenant, org_unit=world.city_a1,
                                     owner=world.city_a1_rep, kind="individual", name="王五",
                                     status="churned", status_changed_at=long_ago)
    from kehu.activities.models import Interaction

    for subject in ("旧回访一", "旧回访二"):
        Interaction.objects.create(tenant=world.tenant, org_unit=world.city_a1,
                                   owner=world.city_a1_rep, kind="call", channel="phone",
                                   customer=person, subject=subject, occurred_at=long_ago)
    rule = privacy.retention_rule_set(actor=world.hq_admin, kind=KIND, years=2)
    assert rule is not None
    privacy.retention_run(rule, now=now, dry_run=True)
    local = timezone.localtime(now)
    body = client_in(world.hq_admin, "en").get(
        reverse("retention_rules")).content.decode()
    assert "2 records due" in body and "(1 customer)" in body
    assert f"reported {local:%Y-%m-%d %H:%M}" in body
    acts = local + privacy.RETENTION_NOTICE
    assert f"first run after {acts:%Y-%m-%d %H:%M}" in body

    rows = api_as(world.hq_admin).get("/retention-rules").data["items"]
    report = rows[0]["report"]
    assert (report["total"], report["customers"]) == (2, 1)
    acts_from = dt.datetime.fromisoformat(report["acts_from"])  # to the millisecond
    assert abs(acts_from - (now + privacy.RETENTION_NOTICE)) < dt.timedelta(milliseconds=1)
    zh = client_in(world.hq_admin, "zh-hans").get(
        reverse("retention_rules")).content.decode()
    assert "2 条记录到期" in zh


def test_api_round_trip_with_if_match(world: World) -> None:
    api = api_as(world.hq_admin)
    listed = api.get("/retention-rules")
    assert listed.status == 200
    assert listed.data["items"] == [{
        "kind": KIND, "label": "已流失个人客户的互动记录",
        "enabled": False, "years": None, "report": None, "last_run_at": None,
        "last_deleted": 0, "version": 0}]
    assert_error(api.request("PUT", URL, {"years": 3}), 428, "precondition_required")
    assert_error(api.request("PUT", URL, {"years": 3}, headers={"If-Match": '"1"'}),
                 412, "precondition_failed")
    assert_error(api.request("PUT", URL, {"years": 51}, headers={"If-Match": '"0"'}),
                 422, "validation_error")
    assert_error(api.request("PUT", "/retention-rules/everything", {"years": 3},
                             headers={"If-Match": '"0"'}), 422, "validation_error")
    assert _rules(world.tenant.pk) == []

    put = api.request("PUT", URL, {"years": 3}, headers={"If-Match": '"0"'})
    assert put.status == 200 and put.headers["ETag"] == '"1"'
    assert (put.data["enabled"], put.data["years"], put.data["version"]) == (True, 3, 1)
    assert api.get("/retention-rules").data["items"] == [put.data]
    changed = api.request("PUT", URL, {"years": 10}, headers={"If-Match": '"1"'})
    assert changed.status == 200 and changed.data["version"] == 2
    assert_error(api.request("PUT", URL, {"years": 4}, headers={"If-Match": '"1"'}),
                 412, "precondition_failed")
    off = api.request("PUT", URL, {"years": None}, headers={"If-Match": '"2"'})
    assert off.status == 200 and off.headers["ETag"] == '"0"'
    assert (off.data["enabled"], off.data["years"]) == (False, None)
    assert _rules(world.tenant.pk) == []
    assert AuditEvent.objects.filter(action="retention.rule").count() == 3


def test_another_tenants_rule_is_its_own(world: World) -> None:
    """The kind names a setting of the caller's own tenant: another tenant's PUT sets its
    own rule and leaves this tenant's alone."""
    privacy.retention_rule_set(actor=world.hq_admin, kind=KIND, years=4)
    other = api_as(world.other_tenant_admin)
    assert other.get("/retention-rules").data["items"][0]["enabled"] is False
    r = other.request("PUT", URL, {"years": 9}, headers={"If-Match": '"0"'})
    assert r.status == 200
    assert _rules(world.tenant.pk) == [(KIND, 4, 1)]
    assert _rules(world.other_tenant_admin.tenant_id) == [(KIND, 9, 1)]
