"""The customers import's dry run runs in the worker, never in a request (issue 11, item
15): the request stores the file, reads the header row, refuses what needs no rows and
queues the check; the page and the API follow its progress to the result."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from huey.contrib.djhuey import HUEY

from kehu.core.exceptions import Conflict
from kehu.core.testing import World
from kehu.customers import tasks
from kehu.customers.importing import files as import_files
from kehu.customers.importing import processor as import_processor
from kehu.customers.models import Customer, ImportIssue, ImportJob
from kehu.customers.services import imports as import_services
from kehu.customers.tests.test_imports import _data_dir, api, upload  # noqa: F401

pytestmark = pytest.mark.django_db


def tiny_rows_xlsx(path: Path, rows: int) -> Path:
    """A workbook of ``rows`` one-cell rows under a 客户名称 header whose sheet claims
    <dimension ref="A1:XFD1048576">, written directly (openpyxl takes minutes for this)."""
    cells = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>公司{n}</t></is></c></row>'
                    for n in range(2, rows + 2))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/>'
             '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c></row>'
             f"{cells}</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{main}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{main}/package/2006/relationships"><Relationship '
        f'Id="rId1" Type="{main}/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}/spreadsheetml/2006/main" xmlns:r="{main}/'
        'officeDocument/2006/relationships"><sheets><sheet name="客户" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{main}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{main}/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows of uploaded files have been read (header rows included)."""
    count = [0]
    real = import_files.Source.rows

    def counted(self: import_files.Source) -> Iterator[list[str]]:
        for row in real(self):
            count[0] += 1
            yield row

    monkeypatch.setattr(import_files.Source, "rows", counted)
    return count


def test_a_huge_xlsx_is_checked_in_the_worker_not_the_request(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        rows_read: list[int]) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)  # a real queue: the worker runs later
    path = tiny_rows_xlsx(tmp_path / "客户.xlsx", 300_000)
    client = Client()
    client.force_login(world.hq_admin)
    status, job = api(client, "post", "", data={
        "file": SimpleUploadedFile("客户.xlsx", path.read_bytes()), "entity": "customers"})
    assert status == 201 and job["mapping"] == {"客户名称": "name"}, job
    status, job = api(client, "post", f"/{job['id']}/check")
    assert status == 202, job
    # The requests read the header row (the upload), not the 300,000 rows: the job waits
    # for the worker, with no counts and no findings yet.
    assert rows_read[0] <= 2, rows_read
    assert job["state"] == "checking" and job["counts"] == {} and job["processed_rows"] == 0
    assert not ImportIssue.objects.exists()
    page = client.get(f"/imports/{job['id']}/").content.decode()
    assert 'data-testid="check-progress"' in page and "hx-get" in page
    assert rows_read[0] <= 2 + 3  # the page shows no sample rows while checking… at most 3
    # The worker reads them all, stops at the cap and says why; the job can be fixed.
    monkeypatch.setattr(import_processor, "MAX_ROWS", 100_000)
    tasks.check_import.call_local(job["id"])
    assert rows_read[0] > 100_000
    status, job = api(client, "get", f"/{job['id']}")
    assert job["state"] == "uploaded" and "100000" in job["error"], job
    page = client.get(f"/imports/{job['id']}/").content.decode()
    assert 'data-testid="check-error"' in page and job["error"] in page
    progress = client.get(f"/imports/{job['id']}/progress/", HTTP_HX_REQUEST="true")
    assert progress.headers.get("HX-Refresh") == "true"


def test_the_worker_checks_and_the_page_polls_until_done(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)
    job = upload(world.hq_admin, "名称,电话\n甲公司,13800000000\n乙公司,123\n")
    client = Client()
    client.force_login(world.hq_admin)
    response = client.post(f"/imports/{job.pk}/mapping/", {"map-0": "name", "map-1": "phones"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKING and job.counts == {}
    # Nothing can change or start meanwhile.
    with pytest.raises(Conflict):
        import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    with pytest.raises(Conflict):
        import_services.import_set_mapping(actor=world.hq_admin, job_id=job.pk, mapping={})
    polled = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in polled.headers and 'data-testid="check-progress"' in \
        polled.content.decode()
    tasks.check_import.call_local(job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED
    assert (job.counts["rows"], job.counts["errors"], job.counts["accepted"]) == (2, 1, 1)
    assert client.get(f"/imports/{job.pk}/progress/",
                      HTTP_HX_REQUEST="true").headers.get("HX-Refresh") == "true"
    assert tasks.check_import.call_local(job.pk) is None  # a second delivery does nothing
    assert not Customer.objects.filter(name="甲公司").exists()


def test_no_name_column_is_refused_in_the_request(world: World,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  rows_read: list[int]) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)
    client = Client()
    client.force_login(world.hq_admin)
    status, job = api(client, "post", "", data={"file": SimpleUploadedFile(
        "a.csv", "电话,备注\n13800000000,x\n".encode()), "entity": "customers"})
    assert status == 201 and "name" not in job["mapping"].values()
    status, body = api(client, "post", f"/{job['id']}/check")
    assert status == 422 and body["error"]["fields"]["mapping"] == ["请将一列对应到名称。"], body
    assert rows_read[0] == 1  # the header row of the upload only
    assert ImportJob.objects.get(pk=job["id"]).state == ImportJob.State.UPLOADED
