"""The HTML door of customers and contacts: pages per persona, scope (404 and nothing
changed), form errors, bulk actions, reveal, masking, query counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from kehu.core.exceptions import StaleVersion
from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.customers.models import Contact, Customer, SavedView, StatusChange, Transfer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import relationships as relationship_services
from kehu.customers.services import transfers as transfer_services
from kehu.customers.testing import ID_NUMBER, USCC, Book

pytestmark = pytest.mark.django_db

ALL_PERSONAS = ("hq_admin", "prov_a_manager", "city_a1_manager", "city_a1_rep",
                "prov_b_manager", "analyst", "other_tenant_admin")
# Full values of the book's phones and ID number: never in a page without a reveal.
SECRETS = ("13812345678", "13700001234", "13611112222", "13900001111", ID_NUMBER,
           "110105194912310", "体育西路1号")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def assert_masked(body: str) -> None:
    for secret in SECRETS:
        assert secret not in body, secret


def snapshot(customer: Customer) -> tuple:
    customer.refresh_from_db()
    return (customer.name, customer.status, customer.owner_id, customer.org_unit_id,
            customer.version, sorted(customer.tags.values_list("name", flat=True)))


# ---------------------------------------------------------------------------- who sees what

# Page → personas that may open it; the others get 403.
PAGE_ACCESS = {
    "customer_list": set(ALL_PERSONAS),
    "contact_list": set(ALL_PERSONAS),
    "customer_create": set(ALL_PERSONAS) - {"analyst"},
    "contact_create": set(ALL_PERSONAS) - {"analyst"},
    "search": set(ALL_PERSONAS),
}


@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize("name", sorted(PAGE_ACCESS))
def test_pages_per_persona(world: World, book: Book, persona: str, name: str) -> None:
    response = client_for(getattr(world, persona)).get(reverse(name) + "?q=电信")
    assert response.status_code == (200 if persona in PAGE_ACCESS[name] else 403)


# customer attribute of the book → personas who may open its page.
DETAIL_ACCESS = {
    "hq": {"hq_admin", "analyst"},
    "prov_a": {"hq_admin", "analyst", "prov_a_manager"},
    "city_a1": {"hq_admin", "analyst", "prov_a_manager", "city_a1_manager"},
    "rep": {"hq_admin", "analyst", "prov_a_manager", "city_a1_manager", "city_a1_rep"},
    "prov_b": {"hq_admin", "analyst", "prov_b_manager"},
    "other_tenant": {"other_tenant_admin"},
}


@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_customer_pages_follow_scope(world: World, book: Book, persona: str) -> None:
    client = client_for(getattr(world, persona))
    listed = html(client.get(reverse("customer_list")))
    for attr, allowed in DETAIL_ACCESS.items():
        customer = getattr(book, attr)
        detail = client.get(reverse("customer_detail", args=[customer.pk]))
        assert detail.status_code == (200 if persona in allowed else 404), attr
        assert (customer.name in listed) == (persona in allowed), attr
        if persona in allowed:
            assert_masked(html(detail))
    assert_masked(listed)


def test_refused_posts_change_nothing(world: World, book: Book) -> None:
    """A peer branch's manager and another tenant get 404 on every action; nothing moves."""
    target = book.city_a1
    before = snapshot(target)
    events = AuditEvent.objects.filter(object_id=str(target.pk),
                                       action__startswith="customer.").count()
    for user in (world.prov_b_manager, world.other_tenant_admin):
        client = client_for(user)
        pk = target.pk
        posts = {
            reverse("customer_status", args=[pk]): {"status-status": "loyal"},
            reverse("customer_transfer", args=[pk]): {
                "transfer-owner": user.pk, "transfer-reason": "takeover"},
            reverse("customer_edit", args=[pk]): {"kind": "enterprise", "name": "改名",
                                                  "tier": "ordinary"},
            reverse("relationship_add", args=[pk]): {"rel-kind": "partner",
                                                     "rel-target": book.prov_b.code},
            reverse("external_id_add", args=[pk]): {"ext-system": "boss",
                                                    "ext-external_id": "X1"},
            reverse("customer_contact_add", args=[pk]): {"contact-name": "间谍"},
            reverse("customer_reveal", args=[pk]): {"reveal-field": "phones",
                                                    "reveal-reason": "curious"},
        }
        for url, data in posts.items():
            response = client.post(url, data)
            assert response.status_code == 404, url
        assert client.get(reverse("customer_edit", args=[pk])).status_code == 404
    assert snapshot(target) == before
    assert AuditEvent.objects.filter(object_id=str(target.pk),
                                     action__startswith="customer.").count() == events
    assert not Contact.objects.filter(name="间谍").exists()
    assert not target.external_ids.exists()


def test_analyst_may_read_but_not_change(world: World, book: Book) -> None:
    client = client_for(world.analyst)
    page = html(client.get(reverse("customer_detail", args=[book.rep.pk])))
    assert 'data-testid="status-form"' not in page
    assert 'data-testid="transfer-open"' not in page
    before = snapshot(book.rep)
    response = client.post(reverse("customer_status", args=[book.rep.pk]),
                           {"status-status": "loyal"})
    assert response.status_code == 403
    assert snapshot(book.rep) == before


# ---------------------------------------------------------------------------- create / edit


def test_create_shows_field_errors_and_creates_nothing(world: World) -> None:
    client = client_for(world.city_a1_rep)
    response = client.post(reverse("customer_create"), {
        "kind": "enterprise", "name": "佛山陶瓷有限公司", "uscc": "91350100M000100Y44",
        "tier": "ordinary", "status": "potential", "new_phones": "12345",
        "owner": world.city_a1_rep.pk,
    })
    assert response.status_code == 422
    body = html(response)
    # Each error sits in its field's box, and the cursor goes to the first one.
    uscc_box = re.search(r'<div class="field has-error[^"]*">\s*<label for="id_uscc".*?</div>',
                         body, re.S)
    assert uscc_box and "errorlist" in uscc_box.group(0)
    assert 'id="id_new_phones_error"' in body
    assert re.search(r'id="id_uscc"[^>]*autofocus|autofocus[^>]*id="id_uscc"', body)
    assert not Customer.objects.filter(name="佛山陶瓷有限公司").exists()


def test_create_then_edit_keeps_masked_values(world: World, book: Book) -> None:
    client = client_for(world.city_a1_rep)
    response = client.post(reverse("customer_create"), {
        "kind": "enterprise", "name": "佛山陶瓷有限公司", "short_name": "佛陶", "uscc": USCC,
        "industry": "C", "province": "440000", "city": "440600", "tier": "local",
        "status": "potential", "new_phones": "138 0000 1111\n0757-82345678 转 12",
        "emails": "info@fstc.test", "new_address_0": "佛山市禅城区季华五路", "consent": ["sms"],
        "tags": "陶瓷, 重点", "parent": book.rep.code, "owner": world.city_a1_rep.pk,
    })
    customer = Customer.objects.get(name="佛山陶瓷有限公司")
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[customer.pk])
    assert (customer.region, customer.parent_id, customer.consent) == (
        "440600", book.rep.pk, {"sms": True})
    assert [p["number"] for p in customer.phones] == ["13800001111", "075782345678"]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["重点", "陶瓷"]

    edit = client.get(reverse("customer_edit", args=[customer.pk]))
    page = html(edit)
    assert "13800001111" not in page and "季华五路" not in page  # masked in the form too
    assert "138****1111" in page
    # Untick the first phone, keep the second, add one; the address stays.
    response = client.post(reverse("customer_edit", args=[customer.pk]), {
        "kind": "enterprise", "name": "佛山陶瓷股份有限公司", "uscc": USCC, "tier": "local",
        "keep_phones": ["1"], "new_phones": "13900002222", "keep_addresses": ["0"],
        "industry": "C", "province": "440000", "city": "440600",
        "tags": "陶瓷", "parent": book.rep.code, "expected_version": customer.version,
    })
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "佛山陶瓷股份有限公司"
    assert [p["number"] for p in customer.phones] == ["075782345678", "13900002222"]
    assert customer.addresses[0]["text"] == "佛山市禅城区季华五路"
    assert list(customer.tags.values_list("name", flat=True)) == ["陶瓷"]


def test_edit_with_stale_version_is_refused_clearly(world: World, book: Book) -> None:
    client = client_for(world.city_a1_rep)
    before = snapshot(book.rep)
    response = client.post(reverse("customer_edit", args=[book.rep.pk]), {
        "kind": "enterprise", "name": "别人刚改过", "tier": "ordinary",
        "expected_version": book.rep.version - 1,
    })
    assert response.status_code == 422
    with translation.override(world.city_a1_rep.language):
        assert str(StaleVersion.default_message) in html(response)
    assert snapshot(book.rep) == before


def test_unknown_parent_code_is_a_field_error(world: World, book: Book) -> None:
    client = client_for(world.city_a1_rep)
    # The peer branch's customer exists but is not visible: same error as a missing one.
    response = client.post(reverse("customer_create"), {
        "kind": "enterprise", "name": "某公司", "tier": "ordinary", "status": "potential",
        "parent": book.prov_b.code,
    })
    assert response.status_code == 422
    assert 'id="id_parent_error"' in html(response)
    assert not Customer.objects.filter(name="某公司").exists()


def test_edit_keeps_a_parent_the_editor_cannot_see(world: World, book: Book) -> None:
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.rep.pk,
                                      parent_id=book.hq.pk)
    client = client_for(world.city_a1_rep)
    rep = Customer.objects.get(pk=book.rep.pk)
    page = html(client.get(reverse("customer_edit", args=[rep.pk])))
    assert book.hq.code not in page and 'name="parent"' not in page
    response = client.post(reverse("customer_edit", args=[rep.pk]), {
        "kind": "enterprise", "name": "广州白云国际机场股份有限公司", "tier": "ordinary",
        "keep_phones": ["0"], "province": "440000", "city": "440100",
        "expected_version": rep.version})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.name, rep.parent_id) == ("广州白云国际机场股份有限公司", book.hq.pk)
    # Its page says there is a parent without naming it.
    page = html(client.get(reverse("customer_detail", args=[rep.pk])))
    assert book.hq.name not in page


# ---------------------------------------------------------------------------- unified view


def test_unified_view_actions(world: World, book: Book) -> None:
    client = client_for(world.city_a1_manager)
    pk = book.rep.pk
    url = reverse("customer_detail", args=[pk])
    # Status: blacklisting needs a reason, shown next to the field.
    response = client.post(reverse("customer_status", args=[pk]),
                           {"status-status": "blacklisted", "status-reason": ""})
    assert response.status_code == 422 and 'id="id_status-reason_error"' in html(response)
    assert client.post(reverse("customer_status", args=[pk]),
                       {"status-status": "customer"}).status_code == 302
    # Relationship and external id.
    assert client.post(reverse("relationship_add", args=[pk]), {
        "rel-kind": "partner", "rel-target": book.city_a1.code}).status_code == 302
    assert client.post(reverse("external_id_add", args=[pk]), {
        "ext-system": "BOSS", "ext-external_id": "GZ-001"}).status_code == 302
    # A contact without a name: the dialog opens again with the error next to the field.
    response = client.post(reverse("customer_contact_add", args=[pk]),
                           {"contact-name": "", "contact-title": "经理"})
    body = html(response)
    assert response.status_code == 422
    assert 'id="id_contact-name_error"' in body and "data-open-on-load" in body
    # A contact added from the page, linked with a title.
    assert client.post(reverse("customer_contact_add", args=[pk]), {
        "contact-name": "赵工", "contact-title": "技术总监", "contact-new_phones": "13512345678",
        "contact-decision_role": "technical"}).status_code == 302
    page = html(client.get(url))
    assert "赵工" in page and "技术总监" in page and "135****5678" in page
    assert "13512345678" not in page
    assert book.city_a1.name in page and 'data-testid="relationship-graph"' in page
    assert "GZ-001" in page
    assert StatusChange.objects.filter(customer_id=pk, to_status="customer").exists()
    # The relationship can be removed again.
    rel = book.rep.relationships_out.get()
    assert client.post(reverse("relationship_remove", args=[pk, rel.pk])).status_code == 302
    assert not book.rep.relationships_out.exists()


def test_transfer_dialog(world: World, book: Book) -> None:
    client = client_for(world.city_a1_manager)
    pk = book.rep.pk
    page = html(client.get(reverse("customer_detail", args=[pk])))
    dialog = page[page.index('<dialog id="transfer-dialog"'):]
    dialog = dialog[:dialog.index("</dialog>")]
    # Only people and units the manager may hand customers to are offered.
    assert world.city_a1_rep.full_name in dialog
    assert world.prov_b_manager.full_name not in dialog and world.prov_b.name not in dialog
    # The reason is required; nothing moves without it.
    response = client.post(reverse("customer_transfer", args=[pk]),
                           {"transfer-owner": world.city_a1_manager.pk})
    assert response.status_code == 422 and 'id="id_transfer-reason_error"' in html(response)
    assert Customer.objects.get(pk=pk).owner_id == world.city_a1_rep.pk
    response = client.post(reverse("customer_transfer", args=[pk]), {
        "transfer-owner": world.city_a1_manager.pk, "transfer-reason": "客户经理离职"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=pk).owner_id == world.city_a1_manager.pk
    page = html(client.get(reverse("customer_detail", args=[pk])))
    assert "客户经理离职" in page
    assert AuditEvent.objects.filter(action="customer.transfer", object_id=str(pk)).exists()


def test_merged_customer_redirects_to_survivor(world: World, book: Book) -> None:
    Customer.objects.filter(pk=book.rep.pk).update(merged_into=book.city_a1)
    response = client_for(world.city_a1_manager).get(reverse("customer_detail",
                                                             args=[book.rep.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[book.city_a1.pk])


def test_registered_panels_are_rendered(world: World, book: Book) -> None:
    from kehu.customers import panels

    def load(actor: User, customer: Customer) -> dict[str, object]:
        return {"open tickets": 2, "customer": customer.name}

    panels.register_panel("zz_test", "Tickets", load, permission="customers.view")
    try:
        page = html(client_for(world.city_a1_rep).get(
            reverse("customer_detail", args=[book.rep.pk])))
    finally:
        del panels.PANELS["zz_test"]
    assert 'data-testid="panel-zz_test"' in page and "open tickets" in page


# ---------------------------------------------------------------------------- reveal


def test_reveal_needs_permission_and_reason_and_is_audited(world: World, book: Book) -> None:
    url = reverse("customer_reveal", args=[book.person.pk])
    # The rep may see the person but not reveal: no button, and the post is refused.
    rep = client_for(world.city_a1_rep)
    page = html(rep.get(reverse("customer_detail", args=[book.person.pk])))
    assert 'data-testid="reveal-id_number"' not in page
    assert rep.post(url, {"reveal-field": "id_number", "reveal-reason": "核实身份"}
                    ).status_code == 403
    assert not AuditEvent.objects.filter(action="customer.reveal").exists()

    manager = client_for(world.city_a1_manager)
    page = html(manager.get(reverse("customer_detail", args=[book.person.pk])))
    assert 'data-testid="reveal-id_number"' in page and "110***********002X" in page
    assert f'hx-post="{url}"' in page  # the dialog's form posts to the reveal
    assert_masked(page)
    response = manager.post(url, {"reveal-field": "id_number", "reveal-reason": ""},
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and ID_NUMBER not in html(response)
    assert not AuditEvent.objects.filter(action="customer.reveal").exists()

    response = manager.post(url, {"reveal-field": "id_number", "reveal-reason": "办理过户核实"},
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert ID_NUMBER in html(response) and 'hx-swap-oob="true"' in html(response)
    event = AuditEvent.objects.get(action="customer.reveal")
    assert event.object_id == str(book.person.pk)
    assert event.changes["reason"] == [None, "办理过户核实"]
    assert ID_NUMBER not in str(event.changes)
    # Without htmx the value comes on its own page.
    response = manager.post(url, {"reveal-field": "phones", "reveal-reason": "回访"})
    assert response.status_code == 200 and "13700001234" in html(response)


def test_contact_reveal(world: World, book: Book) -> None:
    url = reverse("contact_reveal", args=[book.rep_contact.pk])
    assert client_for(world.city_a1_rep).post(url, {"reveal-reason": "回访"}).status_code == 403
    manager = client_for(world.city_a1_manager)
    page = html(manager.get(reverse("contact_detail", args=[book.rep_contact.pk])))
    assert "136****2222" in page and "13611112222" not in page
    response = manager.post(url, {"reveal-reason": "回访"}, HTTP_HX_REQUEST="true")
    assert "13611112222" in html(response)
    assert AuditEvent.objects.filter(action="contact.reveal").count() == 1


# ---------------------------------------------------------------------------- list, bulk


def test_list_filters_sort_and_saved_views(world: World, book: Book) -> None:
    client = client_for(world.hq_admin)
    body = html(client.get(reverse("customer_list"), {"province": "440000"}))
    assert book.rep.name in body and book.prov_b.name not in body and book.hq.name not in body
    body = html(client.get(reverse("customer_list"), {"kind": "individual"}))
    assert book.person.name in body and book.rep.name not in body
    body = html(client.get(reverse("customer_list"), {"tier": "group"}))
    assert book.hq.name in body and book.rep.name not in body
    body = html(client.get(reverse("customer_list"), {"org_unit_id": world.prov_a.pk}))
    assert book.city_a1.name in body and book.prov_b.name not in body
    body = html(client.get(reverse("customer_list"), {"q": "白云机场"}))
    assert book.rep.name in body and book.city_a1.name not in body
    body = html(client.get(reverse("customer_list"), {"ordering": "name"}))
    names = [c.name for c in sorted(book.all_main(), key=lambda c: c.name)]
    assert [body.index(n) for n in names] == sorted(body.index(n) for n in names)
    # A province's cities come for the second select.
    options = html(client.get(reverse("customer_region_options"), {"province": "440000"}))
    assert "广州市" in options and "杭州市" not in options
    # Saved views are per user.
    client.post(reverse("saved_view_save"), {"name": "广东大客户", "query": "province=440000"})
    view = SavedView.objects.get(user=world.hq_admin)
    assert "广东大客户" in html(client.get(reverse("customer_list")))
    assert "广东大客户" not in html(client_for(world.prov_a_manager).get(reverse("customer_list")))
    client.post(reverse("saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_empty_state_has_a_call_to_action(world: World) -> None:
    body = html(client_for(world.hq_admin).get(reverse("customer_list")))
    assert 'data-testid="empty-state"' in body and reverse("customer_create") in body


def test_bulk_actions_report_skipped_and_touch_only_changeable(world: World,
                                                               book: Book) -> None:
    client = client_for(world.city_a1_manager)
    outside = snapshot(book.prov_b)
    ids = [book.rep.pk, book.city_a1.pk, book.prov_b.pk]
    response = client.post(reverse("customer_bulk"), {"action": "tag", "ids": ids,
                                                      "tags": "重点, 2026"}, follow=True)
    assert "已修改 2 个，跳过 1 个" in html(response)
    assert sorted(book.rep.tags.values_list("name", flat=True)) == ["2026", "重点"]
    assert snapshot(book.prov_b) == outside

    response = client.post(reverse("customer_bulk"), {"action": "status", "ids": ids,
                                                      "status": "customer"}, follow=True)
    assert "已修改 2 个，跳过 1 个" in html(response)
    assert Customer.objects.get(pk=book.city_a1.pk).status == "customer"

    response = client.post(reverse("customer_bulk"), {
        "action": "transfer", "ids": [book.rep.pk, book.prov_b.pk],
        "owner": world.city_a1_manager.pk, "reason": "调整分工"}, follow=True)
    assert "已修改 1 个，跳过 1 个" in html(response)
    assert Customer.objects.get(pk=book.rep.pk).owner_id == world.city_a1_manager.pk
    assert snapshot(book.prov_b) == outside
    # Missing input is said, and nothing happens.
    response = client.post(reverse("customer_bulk"), {"action": "untag", "ids": ids},
                           follow=True)
    assert "请至少输入一个标签" in html(response)
    assert book.rep.tags.count() == 2


# ---------------------------------------------------------------------------- contacts, search


def test_contact_pages(world: World, book: Book) -> None:
    client = client_for(world.city_a1_rep)
    body = html(client.get(reverse("contact_list")))
    assert book.rep_contact.name in body and "136****2222" in body
    assert_masked(body)
    body = html(client.get(reverse("contact_list"), {"q": "王经理"}))
    assert book.rep_contact.name in body
    detail = html(client.get(reverse("contact_detail", args=[book.rep_contact.pk])))
    assert book.rep.name in detail and "采购总监" in detail
    assert_masked(detail)
    # Create (with an error first), then link to a second customer and unlink.
    response = client.post(reverse("contact_create"), {"name": "", "new_phones": "abc"})
    assert response.status_code == 422 and 'id="id_name_error"' in html(response)
    response = client.post(reverse("contact_create"),
                           {"name": "钱会计", "new_phones": "13566667777"})
    contact = Contact.objects.get(name="钱会计")
    assert response.status_code == 302
    response = client.post(reverse("contact_link", args=[contact.pk]), {
        "link-customer": book.rep.code, "link-title": "会计"})
    assert response.status_code == 302
    assert contact.customer_links.filter(customer=book.rep, title="会计").exists()
    client.post(reverse("customer_contact_unlink", args=[book.rep.pk, contact.pk]),
                {"next": reverse("contact_detail", args=[contact.pk])})
    assert not contact.customer_links.exists()
    # Edit keeps the masked phone unless unticked.
    response = client.post(reverse("contact_edit", args=[contact.pk]), {
        "name": "钱会计", "keep_phones": ["0"], "email": "qian@test.test",
        "expected_version": Contact.objects.get(pk=contact.pk).version})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phones[0]["number"] == "13566667777" and contact.email == "qian@test.test"
    # Out of scope: 404.
    other = client_for(world.prov_b_manager)
    assert other.get(reverse("contact_detail", args=[contact.pk])).status_code == 404
    assert other.post(reverse("contact_edit", args=[contact.pk]),
                      {"name": "改"}).status_code == 404
    contact.refresh_from_db()
    assert contact.name == "钱会计"


def test_search_pages(world: World, book: Book) -> None:
    client = client_for(world.city_a1_manager)
    for q in ("白云", "gzsbyjc", "5678"):
        body = html(client.get(reverse("search"), {"q": q}))
        assert book.rep.name in body, q
        assert_masked(body)
    live = html(client.get(reverse("search_live"), {"q": "王经理"}))
    assert book.rep_contact.name in live and "136****2222" in live
    # Another branch's customers and a full ID number confirm nothing.
    assert book.prov_b.name not in html(client.get(reverse("search"), {"q": "阿里巴巴"}))
    rep = client_for(world.prov_b_manager)
    assert book.person.name not in html(rep.get(reverse("search"), {"q": ID_NUMBER}))


def test_header_has_the_search_box(world: World) -> None:
    body = html(client_for(world.analyst).get(reverse("home")))
    assert 'data-testid="site-search"' in body and reverse("search_live") in body


# ---------------------------------------------------------------------------- query counts


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow(world: World) -> None:
    client = client_for(world.city_a1_manager)
    url = reverse("customer_list")

    def add(n: int) -> None:
        for i in range(n):
            customer = customer_services.customer_create(actor=world.city_a1_manager,
                                                         name=f"查询计数客户{i}",
                                                         phones=[f"1390000{i:04d}"],
                                                         tags=["甲", "乙"])
            customer_services.customer_set_status(actor=world.city_a1_manager,
                                                  customer_id=customer.pk, status="customer")

    add(3)
    few = _queries(client, url)
    add(27)
    many = _queries(client, url)
    assert many == few


def test_view_query_count_does_not_grow(world: World, book: Book) -> None:
    manager = world.city_a1_manager
    client = client_for(manager)
    url = reverse("customer_detail", args=[book.rep.pk])

    def add(n: int, start: int) -> None:
        statuses = ["customer", "repeat"]
        for i in range(start, start + n):
            contact_services.contact_create(actor=manager, name=f"联系人{i}",
                                            customer_id=book.rep.pk, phones=[f"1350000{i:04d}"],
                                            link={"title": "经理"})
            customer_services.customer_set_status(actor=manager, customer_id=book.rep.pk,
                                                  status=statuses[i % 2])
            owner = manager if i % 2 == 0 else world.city_a1_rep
            transfer_services.customer_transfer(actor=manager, customer_ids=[book.rep.pk],
                                                owner_id=owner.pk, reason=f"第{i}次")
            other = customer_services.customer_create(actor=manager, name=f"伙伴{i}")
            relationship_services.relationship_add(actor=manager, source_id=book.rep.pk,
                                                   target_id=other.pk, kind="partner")
            relationship_services.external_id_add(actor=manager, customer_id=book.rep.pk,
                                                  system="BOSS", external_id=f"E{i}")

    add(3, 0)
    few = _queries(client, url)
    add(27, 3)
    many = _queries(client, url)
    assert Transfer.objects.filter(customer=book.rep).count() == 30
    assert many == few
