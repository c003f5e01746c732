"""End-to-end: a data steward opens the duplicate review, compares two records of one
customer, chooses the one to keep, confirms, and lands on the survivor; then the data
quality page and an export from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kehu.core.models import AuditEvent
from kehu.core.testing import World
from kehu.customers.models import Customer, CustomerContact
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.testing import Book
from tests.e2e.helpers import go, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def test_review_duplicates_merge_and_land_on_the_survivor(page: Any, world: World,
                                                          book: Book) -> None:
    copy = customer_services.customer_create(actor=world.hq_admin, name="广州市白云机场有限公司",
                                             phones=["13812345678"], short_name="白云机场")
    contact_services.contact_link(actor=world.hq_admin, contact_id=book.rep_contact.pk,
                                  customer_id=copy.pk)
    sign_in(page, world.hq_admin.email)
    go(page, "/customers/duplicates/")
    pair = page.locator('[data-testid="duplicate-pair"]', has_text=copy.name)
    pair.wait_for()
    # Side by side: the differing short name is marked, phones are masked.
    assert pair.locator("tr.differs").count() >= 1
    assert "138****5678" in pair.inner_text()
    assert "13812345678" not in page.content()

    pair.locator(f'input[name="keep"][value="{book.rep.pk}"]').check()
    pair.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/customers/merge/"))
    assert page.locator('[data-testid="merge-moves"]').is_visible()

    page.once("dialog", lambda dialog: dialog.accept())  # "Merge these two customers?"
    page.locator("form[method=post] button[type=submit].primary").click()
    page.wait_for_url(page.base_url + f"/customers/{book.rep.pk}/")
    assert page.locator('[data-testid="customer-name"]').inner_text().startswith(book.rep.name)
    assert page.locator(".message-success").is_visible()

    assert Customer.objects.get(pk=copy.pk).merged_into_id == book.rep.pk
    assert CustomerContact.objects.filter(customer=book.rep).count() == 1
    assert AuditEvent.objects.filter(action="customer.merge").count() == 2

    # The merged record is no longer offered as a duplicate; its old page redirects.
    go(page, "/customers/duplicates/")
    assert page.locator('[data-testid="duplicate-pair"]', has_text=copy.name).count() == 0
    go(page, f"/customers/{copy.pk}/")
    assert page.url == page.base_url + f"/customers/{book.rep.pk}/"


def test_dismissing_the_confirmation_merges_nothing(page: Any, world: World,
                                                    book: Book) -> None:
    copy = customer_services.customer_create(actor=world.hq_admin, name="广州市白云机场有限公司")
    sign_in(page, world.hq_admin.email)
    go(page, f"/customers/merge/?a={book.rep.pk}&b={copy.pk}&keep={copy.pk}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("form[method=post] button[type=submit].primary").click()
    page.wait_for_timeout(300)
    assert "/customers/merge/" in page.url
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_quality_page_links_to_weak_customers_and_exports(page: Any, world: World,
                                                          book: Book) -> None:
    sign_in(page, world.prov_a_manager.email)
    go(page, "/customers/quality/")
    units = page.locator('[data-testid="quality-units"]')
    assert world.city_a1.name in units.inner_text()
    assert world.prov_b.name not in units.inner_text()
    assert page.locator('[data-testid="quality-customers"]').inner_text() == "4"
    with page.expect_download() as info:
        page.evaluate("url => { window.location.href = url; }",
                      "/customers/export/?format=csv&quality_below=101")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    body = Path(download.path()).read_text(encoding="utf-8-sig")
    assert book.rep.name in body and book.prov_b.name not in body
    assert "13812345678" not in body
