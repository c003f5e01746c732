"""The customers, contacts and search API: shapes, filters, masking, access, queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as, etag
from kehu.customers.models import Customer, StatusChange, Transfer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import relationships as relationship_services
from kehu.customers.services import transfers as transfer_services
from kehu.customers.testing import ID_NUMBER, USCC

pytestmark = pytest.mark.django_db


def test_create_with_name_and_kind_only(world):
    client = api_as(world.city_a1_rep)
    r = client.post("/customers", {"name": "深圳市腾讯计算机系统有限公司", "kind": "enterprise"})
    assert r.status == 201, r
    assert r.data["code"] == f"C{r.data['id']:08d}"
    assert r.data["owner"]["id"] == world.city_a1_rep.pk
    assert r.data["org_unit"]["id"] == world.city_a1.pk
    assert r.headers["ETag"] == '"1"'


def test_create_errors_name_fields_in_both_languages(world):
    client = api_as(world.hq_admin)
    r = client.post("/customers", {"name": "某公司", "uscc": "123", "phones": ["12"],
                                   "industry": "ZZ"})
    assert r.status == 422
    assert set(r.data["error"]["fields"]) == {"uscc", "phones", "industry"}
    client.language = "zh-hans"
    r = client.post("/customers", {"name": "某公司", "uscc": "123"})
    assert "统一社会信用代码" in r.data["error"]["fields"]["uscc"][0]
    assert Customer.objects.filter(name="某公司").count() == 0


def test_unknown_fields_are_refused(world):
    r = api_as(world.hq_admin).post("/customers", {"name": "某公司", "quality_score": 100})
    assert r.status == 422


def test_detail_masks_personal_data(world, book):
    r = api_as(world.hq_admin).get(f"/customers/{book.person.pk}")
    assert r.status == 200
    assert r.data["id_number"] == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert r.data["phones"][0]["number"] == "137****1234"
    assert r.data["addresses"][0]["text"].endswith("***")
    raw = r.raw.content.decode()
    assert ID_NUMBER not in raw and "13700001234" not in raw and "体育西路" not in raw


def test_reveal_with_reason_is_logged(world, book):
    client = api_as(world.city_a1_manager)
    r = client.post(f"/customers/{book.person.pk}/reveal", {"field": "id_number",
                                                            "reason": "办理业务核验"})
    assert r.status == 200 and r.data["value"] == ID_NUMBER
    assert AuditEvent.objects.filter(action="customer.reveal", actor=world.city_a1_manager,
                                     object_id=str(book.person.pk)).count() == 1
    r = api_as(world.city_a1_rep).post(f"/customers/{book.person.pk}/reveal",
                                       {"field": "id_number", "reason": "看看"})
    assert r.status == 403


def test_update_needs_if_match_and_detects_stale_versions(world, book):
    client = api_as(world.city_a1_rep)
    url = f"/customers/{book.rep.pk}"
    assert client.patch(url, {"short_name": "白云机场"}).status == 428
    r = client.patch(url, {"short_name": "白云机场", "tags": ["机场"]}, if_match=etag(book.rep))
    assert r.status == 200 and r.data["short_name"] == "白云机场" and r.data["tags"] == ["机场"]
    r = client.patch(url, {"short_name": "旧"}, if_match='"1"')
    assert r.status == 412
    assert Customer.objects.get(pk=book.rep.pk).short_name == "白云机场"


def test_rep_cannot_read_or_change_a_colleagues_customer(world, book):
    client = api_as(world.city_a1_rep)
    assert client.get(f"/customers/{book.city_a1.pk}").status == 404
    before = Customer.objects.filter(pk=book.city_a1.pk).values().get()
    r = client.patch(f"/customers/{book.city_a1.pk}", {"name": "改"}, if_match='"1"')
    assert r.status == 404
    assert Customer.objects.filter(pk=book.city_a1.pk).values().get() == before


@pytest.mark.parametrize(("persona", "expected"), [
    ("hq_admin", {"hq", "prov_a", "city_a1", "rep", "prov_b", "person"}),
    ("prov_a_manager", {"prov_a", "city_a1", "rep", "person"}),
    ("city_a1_manager", {"city_a1", "rep", "person"}),
    ("city_a1_rep", {"rep", "person"}),
    ("prov_b_manager", {"prov_b"}),
    ("analyst", {"hq", "prov_a", "city_a1", "rep", "prov_b", "person"}),
    ("other_tenant_admin", {"other_tenant"}),
])
def test_list_shows_each_persona_its_customers(world, book, persona, expected):
    r = api_as(getattr(world, persona)).get("/customers", limit=100)
    assert r.status == 200
    ids = {item["id"] for item in r.data["items"]}
    assert ids == {getattr(book, key).pk for key in expected}
    assert r.data["count"] == len(expected) and r.data["count_capped"] is False


def test_list_filters(world, book):
    client = api_as(world.hq_admin)

    def names(**query):
        return sorted(item["name"] for item in client.get("/customers", **query).data["items"])

    assert names(region="440000") == ["广东移动通信有限责任公司", "广州地铁集团有限公司",
                                      "广州市白云机场股份有限公司"]
    assert names(region="440100") == ["广州地铁集团有限公司", "广州市白云机场股份有限公司"]
    assert names(industry="I") == ["中国电信股份有限公司"]
    assert names(tier="group") == ["中国电信股份有限公司"]
    assert names(kind="individual") == ["张三"]
    assert set(names(org_unit_id=world.city_a1.pk)) == {
        "广州地铁集团有限公司", "广州市白云机场股份有限公司", "张三"}
    assert names(owner_id=world.prov_b_manager.pk) == ["杭州阿里巴巴网络技术有限公司"]
    assert names(q="白云") == ["广州市白云机场股份有限公司"]
    customer_services.customer_set_status(actor=world.hq_admin, customer_id=book.hq.pk,
                                          status="loyal")
    r = client.get("/customers?status=loyal&status=churned")
    assert [item["name"] for item in r.data["items"]] == ["中国电信股份有限公司"]
    assert names(ordering="name")[0] == sorted(names())[0]


def test_status_and_transfer_endpoints(world, book):
    client = api_as(world.city_a1_manager)
    r = client.post(f"/customers/{book.rep.pk}/status", {"status": "customer"},
                    If_Match=etag(book.rep))
    assert r.status == 200 and r.data["status"] == "customer"
    assert StatusChange.objects.filter(customer_id=book.rep.pk).count() == 2
    r = client.post(f"/customers/{book.rep.pk}/transfer",
                    {"owner_id": world.city_a1_manager.pk, "reason": "客户经理离职"},
                    If_Match=etag(book.rep))
    assert r.status == 200 and r.data["owner"]["id"] == world.city_a1_manager.pk
    assert Transfer.objects.filter(customer_id=book.rep.pk).count() == 1
    # A rep cannot transfer away a customer they do not own: nothing changes.
    r = api_as(world.city_a1_rep).post(f"/customers/{book.city_a1.pk}/transfer",
                                       {"owner_id": world.city_a1_rep.pk, "reason": "抢"})
    assert r.status == 404
    assert Customer.objects.get(pk=book.city_a1.pk).owner == world.city_a1_manager


def test_bulk_acts_only_on_what_the_user_may_change(world, book):
    client = api_as(world.city_a1_rep)
    r = client.post("/customers/bulk", {"customer_ids": [book.rep.pk, book.hq.pk, 999999],
                                        "action": "tag", "tags": ["重点"]})
    assert r.status == 200
    assert r.data == {"changed": [book.rep.pk], "skipped": [book.hq.pk, 999999]}
    assert not Customer.objects.get(pk=book.hq.pk).tags.exists()


def test_relationships_external_ids_and_lookup(world, book):
    client = api_as(world.hq_admin)
    r = client.post(f"/customers/{book.hq.pk}/relationships",
                    {"target_id": book.prov_b.pk, "kind": "partner"})
    assert r.status == 201
    rel_id = r.data["id"]
    r = client.post(f"/customers/{book.hq.pk}/external-ids",
                    {"system": "billing", "external_id": "ACC-001"})
    assert r.status == 201
    r = client.get("/customers/lookup", system="billing", external_id="ACC-001")
    assert r.status == 200 and r.data["id"] == book.hq.pk
    # NUL in either part is refused, not a 500 on PostgreSQL (found by the API fuzzer).
    for query in ({"system": "\x00\x00", "external_id": "ACC-001"},
                  {"system": "billing", "external_id": "ACC\x00"}):
        r = client.get("/customers/lookup", **query)
        assert r.status == 422, r
    assert client.post(f"/customers/{book.rep.pk}/external-ids",
                       {"system": "billing", "external_id": "ACC-001"}).status == 409
    assert client.delete(f"/customers/{book.hq.pk}/relationships/{rel_id}").status == 428
    r = client.delete(f"/customers/{book.hq.pk}/relationships/{rel_id}",
                      if_match=etag(book.hq))
    assert r.status == 204


def test_unified_view(world, book):
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.prov_a.pk,
                                      parent_id=book.hq.pk)
    relationship_services.relationship_add(actor=world.hq_admin, source_id=book.hq.pk,
                                           target_id=book.prov_b.pk, kind="supplier")
    r = api_as(world.prov_a_manager).get(f"/customers/{book.prov_a.pk}/view")
    assert r.status == 200, r
    assert set(r.data) >= {"profile", "hierarchy", "relationships", "contacts",
                           "ownership_history", "status_history", "quality", "panels"}
    # The group HQ is outside province A's scope: the hierarchy does not name it.
    assert r.data["hierarchy"]["ancestors"] == []
    r = api_as(world.hq_admin).get(f"/customers/{book.hq.pk}/view")
    assert [c["name"] for c in r.data["hierarchy"]["children"]] == ["广东移动通信有限责任公司"]
    assert r.data["hierarchy"]["group_members"] == 2
    assert r.data["relationships"][0]["other"]["id"] == book.prov_b.pk
    assert 0 < r.data["quality"]["score"] < 100
    r = api_as(world.city_a1_rep).get(f"/customers/{book.rep.pk}/view")
    assert r.data["contacts"][0]["name"] == "王经理"
    assert r.data["contacts"][0]["phones"] == ["136****2222"]
    assert api_as(world.prov_b_manager).get(f"/customers/{book.rep.pk}/view").status == 404


def _grow(world, customer, n):
    for i in range(n):
        contact_services.contact_create(actor=world.hq_admin, name=f"联系人{i}",
                                        customer_id=customer.pk)
        customer_services.customer_set_status(actor=world.hq_admin, customer_id=customer.pk,
                                              status="customer" if i % 2 == 0 else "repeat")
        owner = world.hq_admin if i % 2 else world.prov_a_manager
        transfer_services.customer_transfer(actor=world.hq_admin, customer_ids=[customer.pk],
                                            owner_id=owner.pk, reason=f"调整{i}")
        child = customer_services.customer_create(actor=world.hq_admin, name=f"子公司{i}",
                                                  parent_id=customer.pk)
        relationship_services.relationship_add(actor=world.hq_admin, source_id=customer.pk,
                                               target_id=child.pk, kind="partner")


def _queries(client, url):
    client.get("/auth/me")  # the token's last-use stamp is written at most once a minute
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status == 200
    return len(ctx.captured_queries)


def test_view_query_count_does_not_grow_with_data(world, book):
    client = api_as(world.hq_admin)
    small = customer_services.customer_create(actor=world.hq_admin, name="小客户")
    large = customer_services.customer_create(actor=world.hq_admin, name="大客户")
    _grow(world, small, 2)
    _grow(world, large, 25)
    assert _queries(client, f"/customers/{small.pk}/view") == \
        _queries(client, f"/customers/{large.pk}/view")


def test_list_query_count_does_not_grow_with_rows(world, book):
    client = api_as(world.hq_admin)
    few = _queries(client, "/customers?limit=50")
    for i in range(30):
        customer_services.customer_create(actor=world.hq_admin, name=f"客户{i}", tags=["甲", "乙"])
    assert _queries(client, "/customers?limit=50") == few


def test_contacts_api(world, book):
    client = api_as(world.city_a1_rep)
    r = client.post("/contacts", {"name": "赵六", "phones": ["13912345678"],
                                  "customer_id": book.rep.pk,
                                  "link": {"title": "总经理", "decision_role": "decision_maker"}})
    assert r.status == 201, r
    contact_id = r.data["id"]
    assert r.data["phones"][0]["number"] == "139****5678"
    assert r.data["customers"][0]["customer"]["id"] == book.rep.pk
    # The same person becomes a contact of a second customer.
    r = client.post(f"/contacts/{contact_id}/links",
                    {"customer_id": book.person.pk, "title": "家属"})
    assert r.status == 200 and len(r.data["customers"]) == 2
    r = client.get("/contacts", customer_id=book.rep.pk)
    assert {c["name"] for c in r.data["items"]} == {"王经理", "赵六"}
    assert api_as(world.prov_b_manager).get(f"/contacts/{contact_id}").status == 404
    r = client.patch(f"/contacts/{contact_id}", {"wechat": "zhaoliu"},
                     if_match="*")
    assert r.status == 200 and r.data["wechat"] == "zhaoliu"


def test_uscc_is_searchable_and_unique_code_conflicts(world, book):
    client = api_as(world.hq_admin)
    r = client.get("/customers", q=USCC)
    assert [i["name"] for i in r.data["items"]] == ["中国电信股份有限公司"]
    r = client.post("/customers", {"name": "甲", "code": "VIP-1"})
    assert r.status == 201
    r = client.post("/customers", {"name": "乙", "code": "VIP-1"})
    assert r.status == 409
    r = client.post("/customers", {"name": "丙", "code": "C00000001"})
    assert r.status == 422
    assert api_as(world.city_a1_rep).post("/customers", {"name": "丁", "code": "MY-1"}).status \
        == 403


@pytest.mark.parametrize(("persona", "sees"), [
    ("hq_admin", True), ("prov_a_manager", True), ("city_a1_manager", True),
    ("city_a1_rep", True), ("prov_b_manager", False), ("analyst", True),
    ("other_tenant_admin", False),
])
def test_contacts_and_search_per_persona(world, book, persona, sees):
    client = api_as(getattr(world, persona))
    listed = {c["id"] for c in client.get("/contacts", limit=100).data["items"]}
    assert (book.rep_contact.pk in listed) == sees
    found = client.get("/search", q="王经理").data["contacts"]
    assert bool(found) == sees
    found = client.get("/search", q="白云").data["customers"]
    assert bool(found) == sees
    assert client.get(f"/contacts/{book.rep_contact.pk}").status == (200 if sees else 404)
