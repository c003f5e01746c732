"""Related records are named only to those who may see them (issue 11, items 1–2), and
emails leave masked unless revealed (item 4)."""

from __future__ import annotations

import json

from django.urls import reverse

from kehu.core import pii, references
from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import api_as
from kehu.core.tests.test_views import client_for
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.tests.test_exports import all_cells, csv_rows, post_export

REP_NAME = "广州市白云机场股份有限公司"
PROV_B_NAME = "杭州阿里巴巴网络技术有限公司"
HQ_NAME = "中国电信股份有限公司"


def _body(response) -> str:
    return json.dumps(response.data, ensure_ascii=False)


def test_view_api_hides_a_parent_the_caller_cannot_see(world, book):
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.prov_a.pk,
                                      parent_id=book.hq.pk)
    assert api_as(world.prov_a_manager).get(f"/customers/{book.hq.pk}").status == 404
    r = api_as(world.prov_a_manager).get(f"/customers/{book.prov_a.pk}/view")
    assert r.status == 200
    assert r.data["hierarchy"]["parent"] == references.REDACTED
    assert HQ_NAME not in _body(r) and "中国电信" not in _body(r)
    # Whoever may see the parent gets it named.
    r = api_as(world.hq_admin).get(f"/customers/{book.prov_a.pk}/view")
    assert r.data["hierarchy"]["parent"] == {"id": book.hq.pk, "name": HQ_NAME,
                                             "redacted": False}


def _link_to_both_provinces(world, book):
    contact_services.contact_link(actor=world.hq_admin, contact_id=book.rep_contact.pk,
                                  customer_id=book.prov_b.pk, title="顾问")


def test_a_contact_names_only_the_customers_the_caller_may_see(world, book):
    _link_to_both_provinces(world, book)
    for persona, seen, unseen in ((world.prov_b_manager, PROV_B_NAME, REP_NAME),
                                  (world.city_a1_rep, REP_NAME, PROV_B_NAME)):
        client = api_as(persona)
        r = client.get(f"/contacts/{book.rep_contact.pk}")
        assert r.status == 200
        assert [link["customer"]["name"] for link in r.data["customers"]] == [seen]
        assert r.data["hidden_customers"] == 1
        assert unseen not in _body(r)
        r = client.get("/contacts")
        assert seen in _body(r) and unseen not in _body(r)
        row = next(c for c in r.data["items"] if c["id"] == book.rep_contact.pk)
        assert row["hidden_customers"] == 1
        page = client_for(persona).get(reverse("contact_list")).content.decode()
        assert seen in page and unseen not in page
        assert "1 more you cannot see" in page or "1 个您无权查看" in page
    # Whoever sees both gets both named.
    r = api_as(world.hq_admin).get(f"/contacts/{book.rep_contact.pk}")
    assert {link["customer"]["name"] for link in r.data["customers"]} == {REP_NAME, PROV_B_NAME}
    assert r.data["hidden_customers"] == 0


def test_contact_exports_name_only_visible_customers(world, book):
    _link_to_both_provinces(world, book)
    for file_format in ("csv",):
        rows = csv_rows(post_export(world.prov_b_manager,
                                    {"entity": "contacts", "format": file_format}))
        text = all_cells(rows)
        assert "王经理" in text and PROV_B_NAME in text
        assert REP_NAME not in text and "白云" not in text


def test_emails_are_masked_everywhere_unless_revealed(world, book):
    assert pii.mask_email("zhangsan@example.com") == "zh***@example.com"
    assert pii.mask_email("ab@x.cn") == "a***@x.cn"
    customer_services.customer_update(actor=world.city_a1_rep, customer_id=book.rep.pk,
                                      emails=["zhangsan@baiyun.com"])
    contact_services.contact_update(actor=world.city_a1_rep, contact_id=book.rep_contact.pk,
                                    email="wangjl@baiyun.com")
    for persona in (world.city_a1_rep, world.city_a1_manager):
        client = api_as(persona)
        r = client.get(f"/customers/{book.rep.pk}")
        assert r.data["emails"] == ["zh***@baiyun.com"]
        assert "zhangsan@" not in _body(r)
        r = client.get(f"/customers/{book.rep.pk}/view")
        assert "zhangsan@" not in _body(r)
        r = client.get(f"/contacts/{book.rep_contact.pk}")
        assert r.data["email"] == "wa***@baiyun.com"
        assert "wangjl@" not in _body(client.get("/contacts"))
        web = client_for(persona)
        for url in (reverse("customer_detail", args=[book.rep.pk]),
                    reverse("contact_detail", args=[book.rep_contact.pk]),
                    reverse("contact_list"), reverse("customer_list")):
            page = web.get(url).content.decode()
            assert "zhangsan@" not in page and "wangjl@" not in page, url
    # Exports are masked without a reason…
    text = all_cells(csv_rows(post_export(world.city_a1_manager, {"entity": "customers"})))
    assert "zh***@baiyun.com" in text and "zhangsan@" not in text
    text = all_cells(csv_rows(post_export(world.city_a1_manager, {"entity": "contacts"})))
    assert "wa***@baiyun.com" in text and "wangjl@" not in text
    # …and clear with one, for a role that may reveal.
    text = all_cells(csv_rows(post_export(world.city_a1_manager, {
        "entity": "customers", "reveal_reason": "核对邮箱"})))
    assert "zhangsan@baiyun.com" in text
    text = all_cells(csv_rows(post_export(world.city_a1_manager, {
        "entity": "contacts", "reveal_reason": "核对邮箱"})))
    assert "wangjl@baiyun.com" in text
    # Audit diffs keep them masked.
    for event in AuditEvent.objects.filter(object_id__in=[str(book.rep.pk),
                                                          str(book.rep_contact.pk)]):
        dumped = json.dumps(event.changes, ensure_ascii=False)
        assert "zhangsan@" not in dumped and "wangjl@" not in dumped
    # Reveal: with a reason, audited, for a role that may.
    client = api_as(world.city_a1_manager)
    r = client.post(f"/customers/{book.rep.pk}/reveal", {"field": "emails", "reason": "回邮件"})
    assert r.status == 200 and r.data["value"] == ["zhangsan@baiyun.com"]
    r = client.post(f"/contacts/{book.rep_contact.pk}/reveal",
                    {"field": "email", "reason": "回邮件"})
    assert r.status == 200 and r.data["value"] == "wangjl@baiyun.com"
    assert AuditEvent.objects.filter(action="contact.reveal",
                                     changes__field=[None, "email"]).exists()
    assert api_as(world.city_a1_rep).post(f"/customers/{book.rep.pk}/reveal", {
        "field": "emails", "reason": "回邮件"}).status == 403
    page = client_for(world.city_a1_manager).post(
        reverse("customer_reveal", args=[book.rep.pk]),
        {"reveal-field": "emails", "reveal-reason": "回邮件"}).content.decode()
    assert "zhangsan@baiyun.com" in page
