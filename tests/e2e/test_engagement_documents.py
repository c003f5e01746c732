"""End-to-end documents and manager views: the account manager attaches files on the
customer page (an image shows a thumbnail, a refused file shows the reason), downloads
one with safe headers; the city manager opens the engagement report."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kehu.core.testing import World
from kehu.customers.testing import Book
from kehu.documents.models import Document
from kehu.documents.testing import SAMPLE_PDF
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
       b"\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Any) -> Any:
    settings.DATA_DIR = tmp_path
    return tmp_path


def _upload(page: Any, name: str, content: bytes, mime: str) -> None:
    panel = page.locator('[data-testid="panel-documents"]')
    details = panel.locator("details")
    if details.get_attribute("open") is None:
        panel.locator("summary").click()
    panel.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": content})
    panel.locator('[data-testid="document-upload-form"] button[type="submit"]').click()


def test_attach_preview_refuse_and_download(page: Any, world: World, book: Book) -> None:
    rep = world.city_a1_rep
    sign_in(page, rep.email)
    go(page, f"/customers/{book.rep.pk}/")
    panel = page.locator('[data-testid="panel-documents"]')
    assert panel.locator('[data-testid="document-upload-form"]').count() == 1

    _upload(page, "现场照片.png", PNG, "image/png")
    page.wait_for_url(re.compile(rf"/customers/{book.rep.pk}/"))
    panel = page.locator('[data-testid="panel-documents"]')
    assert "现场照片.png" in panel.inner_text()
    thumb = panel.locator('[data-testid="document-thumb"]')
    assert thumb.count() == 1
    page.wait_for_function(
        "() => document.querySelector('[data-testid=document-thumb]').naturalWidth > 0")

    _upload(page, "方案.pdf", SAMPLE_PDF, "application/pdf")
    page.wait_for_url(re.compile(rf"/customers/{book.rep.pk}/"))
    assert "方案.pdf" in page.locator('[data-testid="panel-documents"]').inner_text()
    shot(page, "engagement-documents.png")

    # A program disguised by nothing: refused, the reason next to the field, no row.
    _upload(page, "setup.exe", b"MZ\x90\x00", "application/octet-stream")
    error = page.locator(".errorlist")
    error.first.wait_for()
    assert error.first.inner_text().strip()
    assert not Document.objects.filter(file_name="setup.exe").exists()

    doc = Document.objects.get(file_name="方案.pdf")
    response = page.request.get(page.base_url + f"/documents/{doc.pk}/download")
    assert response.status == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.body() == SAMPLE_PDF


def test_manager_engagement_report(page: Any, world: World, book: Book) -> None:
    sign_in(page, world.city_a1_manager.email)
    page.locator('details[data-nav-group="engagement"] > summary').click()
    page.locator('nav a[href="/reports/engagement"]').first.click()
    page.wait_for_url(re.compile(r"/reports/engagement"))
    assert page.locator('[data-testid="report-uncontacted"]').count() == 1
    page.fill("#id_days", "7")
    page.locator('[data-testid="report-filters"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"days=7"))
    page.locator('[data-testid="uncontacted-total"]').click()
    page.wait_for_url(re.compile(r"/reports/engagement/uncontacted"))
    assert book.rep.name in page.locator('[data-testid="uncontacted-list"]').inner_text()
    shot(page, "engagement-report.png")
