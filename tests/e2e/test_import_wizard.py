"""End-to-end import wizard: upload a GBK CSV from Excel, fix a column's mapping, see the
dry run's row errors, run the import with its progress bar, download the report; and the
wizard at phone width."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kehu.core.testing import World
from kehu.customers.models import Customer, ImportJob
from kehu.customers.services import imports as import_services
from tests.e2e.helpers import go, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GBK_CSV = ("公司名称,联系方式,地区,备注\r\n"
           "佛山陶瓷有限公司,0757-82345678,广东佛山,老客户\r\n"
           "东莞模具有限公司,12345,广东东莞,\r\n"
           "中山灯饰有限公司,13922223333,中山,\r\n").encode("gbk")


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path





def upload(page: Any) -> None:
    go(page, "/imports/")
    page.locator("#id_file").set_input_files(
        {"name": "老系统客户.csv", "mimeType": "text/csv", "buffer": GBK_CSV})
    page.locator('[data-testid="import-upload"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))


def check_in_the_worker(page: Any, job: ImportJob) -> None:
    """The dry run is queued: the page polls while we run it here (no worker runs in the
    test), then reloads with the result."""
    job.refresh_from_db()
    if job.state == ImportJob.State.CHECKING:
        page.locator('[data-testid="check-progress"]').wait_for()
        import_services.check_job(job.pk)
    page.locator('[data-testid="import-counts"]').wait_for(timeout=15_000)


def test_gbk_csv_through_the_wizard(page: Any, world: World) -> None:
    sign_in(page, world.city_a1_rep.email)
    go(page, "/imports/")
    assert "No imports yet" in page.content() or "暂无" in page.content() or \
        page.locator('[data-testid="import-table"] td.muted').count() == 1
    upload(page)
    job = ImportJob.objects.get()
    assert job.encoding == "gb18030"
    # Auto-mapped: the name, region and notes; "联系方式" is not recognised.
    assert page.locator("#map-0").input_value() == "name"
    assert page.locator("#map-1").input_value() == ""
    assert page.locator("#map-2").input_value() == "region"
    shot(page, "import-mapping.png")
    # Keyboard: the column's label focuses its select; choose "phones" and check.
    page.get_by_text("联系方式", exact=True).click()
    assert page.evaluate("document.activeElement.id") == "map-1"
    page.select_option("#map-1", "phones")
    page.locator('[data-testid="import-check"]').click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    check_in_the_worker(page, job)
    assert page.locator('[data-testid="count-errors"]').inner_text() == "1"
    issues = page.locator('[data-testid="import-issues"]').inner_text()
    assert "3" in issues and "12345" in issues
    assert Customer.objects.filter(name="佛山陶瓷有限公司").count() == 0  # nothing written yet
    shot(page, "import-checked.png")

    page.locator('[data-testid="import-run"]').click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    job.refresh_from_db()
    if job.state == ImportJob.State.QUEUED:
        # No worker runs in the test: the progress bar polls while we run the job here.
        page.locator('[data-testid="import-progress"]').wait_for()
        import_services.run_job(job.pk)
    page.locator('[data-testid="import-done"]').wait_for(timeout=15_000)
    assert page.locator('[data-testid="import-progress"]').get_attribute("value") == "100"
    assert page.locator('[data-testid="count-result"]').inner_text().startswith("2 /")
    assert Customer.objects.get(name="佛山陶瓷有限公司").region == "440600"
    shot(page, "import-done.png")

    with page.expect_download() as info:
        page.locator('[data-testid="import-report"]').click()
    content = Path(info.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert "东莞模具有限公司" in text and "佛山陶瓷有限公司" not in text


def test_wizard_at_phone_width(phone_page: Any, world: World) -> None:
    page = phone_page
    sign_in(page, world.city_a1_rep.email)
    upload(page)
    page.select_option("#map-1", "phones")
    page.locator('[data-testid="import-check"]').click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    check_in_the_worker(page, ImportJob.objects.get())
    page.locator('[data-testid="import-run"]').wait_for()
    for name in ("detail", "list"):
        if name == "list":
            go(page, "/imports/")
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"phone-import-{name}.png")
        assert width <= 375, (name, width)
