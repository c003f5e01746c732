"""End-to-end customer flows: create with a field error then fix it, the unified view
(add a contact, change status, transfer through the dialog, reveal), header search by
pinyin initials and two Chinese characters, bulk tagging, and phone-width layout."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kehu.core.models import AuditEvent
from kehu.core.testing import World
from kehu.customers.models import Customer
from kehu.customers.testing import ID_NUMBER, USCC, Book
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]






def test_create_fix_error_then_work_on_the_unified_view(page: Any, world: World) -> None:
    sign_in(page, world.city_a1_manager.email)
    go(page, "/customers/")
    page.locator('[data-testid="empty-state"]').wait_for()
    page.locator('[data-testid="customer-new"]').click()
    page.wait_for_url(re.compile(r"/customers/new/"))
    # The first field has focus; choosing "individual" swaps the credit code for the ID.
    assert page.evaluate("document.activeElement.id") == "id_kind"
    page.select_option("#id_kind", "individual")
    assert page.locator("#id_id_number").is_visible()
    assert not page.locator("#id_uscc").is_visible()
    page.select_option("#id_kind", "enterprise")
    assert page.locator("#id_uscc").is_visible()

    page.fill("#id_name", "佛山陶瓷有限公司")
    page.fill("#id_uscc", USCC[:-1] + "4")  # wrong check character
    page.fill("#id_new_phones", "0757-82345678")
    page.select_option("#id_province", "440000")
    # The city list follows the province (htmx).
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#id_city option'))"
        ".some(o => o.value === '440600')")
    page.select_option("#id_city", "440600")
    page.locator('[data-testid="customer-save"]').click()
    error = page.locator(".field.has-error #id_uscc")
    error.wait_for()
    assert page.locator("#id_uscc_error").is_visible()
    assert page.evaluate("document.activeElement.id") == "id_uscc"
    assert not Customer.objects.filter(name="佛山陶瓷有限公司").exists()
    shot(page, "customer-form-error.png")

    # Fix it and press Enter to submit.
    page.fill("#id_uscc", USCC)
    page.press("#id_uscc", "Enter")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    customer = Customer.objects.get(name="佛山陶瓷有限公司")
    assert customer.region == "440600" and customer.uscc == USCC
    assert page.locator('[data-testid="customer-name"]').inner_text().startswith("佛山陶瓷有限公司")
    assert "075*****5678" in page.locator('[data-testid="masked-phones"]').inner_text()

    # Add a contact through its dialog.
    page.locator('[data-testid="contact-add-open"]').click()
    page.locator("#id_contact-name").fill("赵工")
    page.locator("#id_contact-title").fill("技术总监")
    page.locator("#id_contact-new_phones").fill("13512345678")
    page.locator('[data-testid="contact-save"]').click()
    page.locator('[data-testid="contact-table"]').wait_for()
    assert "赵工" in page.locator('[data-testid="contact-table"]').inner_text()
    assert "135****5678" in page.locator('[data-testid="contact-table"]').inner_text()

    # Change the status.
    page.select_option("#id_status-status", "customer")
    page.locator('[data-testid="status-save"]').click()
    page.locator('[data-testid="status-history"]').wait_for()
    customer.refresh_from_db()
    assert customer.status == "customer"

    # Transfer to the rep through the dialog; the reason is required.
    page.locator('[data-testid="transfer-open"]').click()
    dialog = page.locator("#transfer-dialog")
    assert dialog.is_visible()
    dialog.locator("#id_transfer-owner").select_option(str(world.city_a1_rep.pk))
    dialog.locator("#id_transfer-reason").fill("按区域重新分工")
    shot(page, "customer-transfer-dialog.png")
    dialog.locator('[data-testid="transfer-submit"]').click()
    page.locator('[data-testid="transfer-history"]').wait_for()
    owner = page.locator('[data-testid="customer-owner"]').inner_text()
    assert world.city_a1_rep.full_name in owner
    customer.refresh_from_db()
    assert customer.owner_id == world.city_a1_rep.pk
    assert AuditEvent.objects.filter(action="customer.transfer",
                                     object_id=str(customer.pk)).exists()
    shot(page, "customer-view-wide.png")


def test_reveal_dialog_asks_for_a_reason(page: Any, world: World, book: Book) -> None:
    sign_in(page, world.city_a1_manager.email)
    go(page, f"/customers/{book.person.pk}/")
    assert ID_NUMBER not in page.content()
    page.locator('[data-testid="reveal-id_number"]').click()
    dialog = page.locator("#reveal-id_number")
    assert dialog.is_visible()
    dialog.locator('[data-testid="reveal-submit"]').click()
    dialog.locator(".errorlist").wait_for()  # no reason: refused, nothing logged
    assert not AuditEvent.objects.filter(action="customer.reveal").exists()
    dialog.locator("#id_id_number_reveal-reason").fill("办理过户核实身份")
    dialog.locator('[data-testid="reveal-submit"]').click()
    page.locator('#masked-id_number [data-testid="revealed-id_number"]').wait_for()
    assert ID_NUMBER in page.locator("#masked-id_number").inner_text()
    assert AuditEvent.objects.filter(action="customer.reveal",
                                     object_id=str(book.person.pk)).count() == 1


def test_header_search_by_initials_and_two_characters(page: Any, world: World,
                                                      book: Book) -> None:
    sign_in(page, world.hq_admin.email)
    box = page.locator("#site-search-q")
    live = page.locator('[data-testid="search-live"]')
    box.fill("zgdx")
    live.wait_for()
    assert book.hq.name in live.inner_text()
    box.fill("白云")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=search-live]') && document.querySelector("
        "'[data-testid=search-live]').innerText.includes('白云机场')")
    assert book.hq.name not in live.inner_text()
    assert "138****5678" in live.inner_text()
    box.press("Escape")
    assert live.count() == 0
    box.fill("电信")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    results = page.locator('[data-testid="search-customers-page"]')
    assert book.hq.name in results.inner_text()
    # Another tenant's 中国电信远方分公司 never shows.
    assert book.other_tenant.name not in page.content()
    results.get_by_role("link", name=re.compile(book.hq.name)).click()
    page.wait_for_url(re.compile(rf"/customers/{book.hq.pk}/$"))


def test_bulk_tag_from_the_list(page: Any, world: World, book: Book) -> None:
    sign_in(page, world.city_a1_manager.email)
    go(page, "/customers/")
    table = page.locator('[data-testid="customer-table"]')
    table.wait_for()
    # Fields of other actions stay out of the way.
    assert not page.locator("#id_reason").is_visible()
    page.locator(f'input[name=ids][value="{book.rep.pk}"]').check()
    page.locator(f'input[name=ids][value="{book.city_a1.pk}"]').check()
    page.select_option("#id_action", "tag")
    page.fill("#id_tags", "重点客户, 2026")
    page.locator('[data-testid="bulk-apply"]').click()
    page.locator(".message-success").wait_for()
    assert "已修改 2 个" in page.locator(".message-success").inner_text()
    for customer in (book.rep, book.city_a1):
        assert sorted(customer.tags.values_list("name", flat=True)) == ["2026", "重点客户"]
    assert not book.prov_a.tags.exists()
    # The list filters by the new tag (htmx, no reload).
    page.evaluate("window.__kehuSamePage = true")
    page.locator("details.more-filters > summary").click()
    page.select_option("#id_tag", "重点客户")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=customer-table] tbody tr').length === 2")
    assert page.evaluate("window.__kehuSamePage") is True
    assert "tag=" in page.url
    shot(page, "customer-list-wide.png")


def test_phone_width_customer_pages_never_scroll_sideways(phone_page: Any, world: World,
                                                           book: Book) -> None:
    page = phone_page
    sign_in(page, world.city_a1_manager.email)
    from kehu.customers.services import relationships as relationship_services

    relationship_services.relationship_add(actor=world.city_a1_manager, source_id=book.rep.pk,
                                           target_id=book.city_a1.pk, kind="partner")
    paths = ["/customers/", "/customers/new/", f"/customers/{book.rep.pk}/",
             f"/customers/{book.person.pk}/", f"/customers/{book.rep.pk}/edit/",
             f"/customers/{book.rep.pk}/transfer/", "/contacts/",
             f"/contacts/{book.rep_contact.pk}/", "/contacts/new/", "/search/?q=广州"]
    for path in paths:
        go(page, path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, "phone" + re.sub(r"[/?=]+", "-", path) + ".png")
        assert width <= 375, (path, width)
    # The header search fits too, with its results open.
    go(page, "/customers/")
    page.fill("#site-search-q", "广州")
    page.locator('[data-testid="search-live"]').wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "phone-search-live.png")


def test_share_a_customer_then_revoke_it(page: Any, world: World, book: Book) -> None:
    """The "Shared with" section: share with a colleague (why, until when), see it listed,
    revoke it after confirming."""
    import datetime as dt

    from django.utils import timezone

    from kehu.core.models import RecordShare

    sign_in(page, world.city_a1_manager.email)
    go(page, f"/customers/{book.rep.pk}/")
    section = page.locator('[data-testid="shares"]')
    section.locator("summary").click()
    section.locator("#id_share-user").select_option(str(world.city_a1_rep.pk))
    section.locator("#id_share-reason").fill("休假期间代为跟进")
    last = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    section.locator("#id_share-expires_on").fill(last)
    section.locator('button[type="submit"]').last.click()
    row = page.locator(f'[data-testid="share-{world.city_a1_rep.pk}"]')
    row.wait_for()
    assert "休假期间代为跟进" in row.inner_text() and last in row.inner_text()
    shot(page, "customer-shares.png")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button").click()
    page.locator('[data-testid="shares"]').get_by_text(
        re.compile("尚未与任何人共享|Not shared")).wait_for()
    assert not RecordShare.objects.exists()
    assert AuditEvent.objects.filter(action="share.revoke").count() == 1
