"""Bulk import of interactions: a kind of the customers import — encodings and formats,
column mapping, dry run, the run in the worker with progress, the rejected-rows report,
the API, the page, and no 10,000-row cap."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from kehu.activities.models import Interaction
from kehu.core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.customers.importing import files as import_files
from kehu.customers.models import ImportIssue, ImportJob
from kehu.customers.services import imports as import_services
from kehu.customers.testing import Book

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def immediate() -> Iterator[None]:
    """Huey runs tasks at once, in this process (as KEHU_TASKS_IMMEDIATE=1 does)."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def upload(actor: User, data: str | bytes, *, name: str = "跟进.csv",
           encoding: str = "utf-8") -> ImportJob:
    raw = data.encode(encoding) if isinstance(data, str) else data
    return import_services.import_create(actor=actor, entity="interactions", file_name=name,
                                         chunks=[raw])


def check(actor: User, job: ImportJob) -> ImportJob:
    return import_services.import_check(actor=actor, job_id=job.pk)


def check_and_run(actor: User, job: ImportJob) -> ImportJob:
    check(actor, job)
    import_services.import_queue(actor=actor, job_id=job.pk)
    result = import_services.run_job(job.pk)  # the worker's part, in this process
    assert result is not None
    return result


def issues(job: ImportJob) -> list[tuple[int, str]]:
    return [(i.row, i.field) for i in ImportIssue.objects.filter(job=job).order_by("row", "id")]


def test_gbk_csv_with_chinese_headers_is_mapped_checked_and_run(world: World, book: Book
                                                               ) -> None:
    text = ("客户编码,类型,时间,主题,内容,渠道,方向,时长,结果,下一步\n"
            f"{book.rep.code},拜访,2026-03-01 14:30,上门拜访,讨论扩容,面对面,呼出,45,"
            "有意向,发报价\n"
            f"{book.person.code},电话,2026/03/02,电话回访,,,,,,\n")
    job = upload(world.city_a1_rep, text, encoding="gbk")
    assert job.encoding == "gb18030" and job.mapping["客户编码"] == "customer"
    assert job.mapping["时长"] == "duration_minutes"
    job = check(world.city_a1_rep, job)
    assert job.counts["accepted"] == 2 and job.counts["created"] == 2
    assert not Interaction.objects.exists()  # the dry run writes nothing
    job = check_and_run(world.city_a1_rep, job)
    assert job.state == ImportJob.State.DONE and job.counts["created"] == 2
    first = Interaction.objects.get(subject="上门拜访")
    assert (first.kind, first.channel, first.duration_minutes, first.customer_id,
            first.owner_id, first.created_by_id) == (
        "visit", "face_to_face", 45, book.rep.pk, world.city_a1_rep.pk, world.city_a1_rep.pk)
    assert timezone.localtime(first.occurred_at).strftime("%Y-%m-%d %H:%M") == \
        "2026-03-01 14:30"
    assert AuditEvent.objects.filter(action="interaction.import").count() == 1
    assert AuditEvent.objects.filter(action="import.run").count() == 1
    assert not AuditEvent.objects.filter(action="interaction.create").exists()


def test_bad_rows_are_reported_and_the_good_ones_imported(world: World, book: Book) -> None:
    text = ("客户名称,类型,时间,主题\n"
            f"{book.rep.name},email,2026-03-01T08:00:00,好的一行\n"
            f"{book.prov_b.name},拜访,2026-03-01 14:30,看不到的客户\n"
            f"{book.rep.name},传真,昨天,\n")
    job = check_and_run(world.city_a1_rep, upload(world.city_a1_rep, text))
    assert (job.counts["rows"], job.counts["created"], job.counts["errors"]) == (3, 1, 2)
    assert Interaction.objects.get().subject == "好的一行"
    found = issues(job)
    assert (3, "customer") in found
    assert {f for row, f in found if row == 4} == {"kind", "occurred_at", "subject"}
    # The rejected rows, with the file's cells and the reasons, as CSV.
    from kehu.customers.importing.report import report_rows

    report = list(report_rows(job, reveal=True))
    assert [r[0] for r in report[1:]] == ["3", "4"] and "传真" in report[2]


def test_column_mapping_and_what_it_needs(world: World, book: Book) -> None:
    text = f"单位,方式,什么时候,标题\n{book.rep.code},电话,2026-03-01,回访\n"
    job = upload(world.city_a1_rep, text)
    assert job.mapping["单位"] == ""  # not recognised: the user maps it
    with pytest.raises(ValidationFailed) as caught:
        check(world.city_a1_rep, job)
    assert "mapping" in caught.value.fields
    with pytest.raises(ValidationFailed):
        import_services.import_set_mapping(actor=world.city_a1_rep, job_id=job.pk,
                                           mapping={"单位": "name"})  # not an interaction field
    import_services.import_set_mapping(actor=world.city_a1_rep, job_id=job.pk, mapping={
        "单位": "customer", "什么时候": "occurred_at"})
    job = check_and_run(world.city_a1_rep, job)
    assert job.counts["created"] == 1 and Interaction.objects.get().kind == "call"


def test_xlsx(world: World, book: Book) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["客户编码", "类型", "时间", "主题"])
    sheet.append([book.rep.code, "会议", timezone.now().replace(tzinfo=None, microsecond=0),
                  "季度会议"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = check_and_run(world.city_a1_rep, upload(world.city_a1_rep, buffer.getvalue(),
                                                  name="跟进.xlsx"))
    assert job.counts["created"] == 1 and Interaction.objects.get().kind == "meeting"


def test_more_than_ten_thousand_rows(world: World, book: Book) -> None:
    rows = "".join(f"{book.rep.code},电话,2026-03-01,回访{n}\n" for n in range(10_001))
    job = check_and_run(world.city_a1_rep, upload(world.city_a1_rep, "客户编码,类型,时间,主题\n"
                                                  + rows))
    assert job.counts["created"] == 10_001 == Interaction.objects.count()


def test_permissions_and_other_tenants(world: World, book: Book) -> None:
    text = f"客户编码,类型,时间,主题\n{book.rep.code},电话,2026-03-01,入侵\n"
    job = check_and_run(world.other_tenant_admin, upload(world.other_tenant_admin, text))
    assert job.counts["created"] == 0 and issues(job) == [(2, "customer")]
    with pytest.raises(Forbidden):  # analysts may not create interactions
        upload(world.analyst, text)
    assert not Interaction.objects.exists()
    assert not ImportJob.objects.filter(owner=world.analyst).exists()
    job = check(world.city_a1_rep, upload(world.city_a1_rep, text))
    with pytest.raises(NotFound):  # the uploader runs their own job, nobody else
        import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.city_a1_rep, job_id=job.pk)
    with pytest.raises(Conflict):
        import_services.import_queue(actor=world.city_a1_rep, job_id=job.pk)


def test_forged_xlsx_without_the_columns_cannot_run(world: World, book: Book,
                                                   tmp_path: Path) -> None:
    from kehu.customers.tests.test_imports import forged_xlsx

    path = forged_xlsx(tmp_path / "跟进.xlsx", ["客户", "备注"], 20000)
    started = time.monotonic()
    job = upload(world.hq_admin, path.read_bytes(), name="跟进.xlsx")  # reads the header only
    with pytest.raises(ValidationFailed) as exc:
        check(world.hq_admin, job)
    assert "、" in str(exc.value.fields["mapping"])  # names what is missing
    assert time.monotonic() - started < 5
    assert not Interaction.objects.exists()


def test_api_flow_with_progress(world: World, book: Book, immediate: None) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    text = (f"客户编码,类型,时间,主题\n{book.rep.code},电话,2026-03-01,电话回访\n"
            f"{book.rep.code},传真,2026-03-01,x\n")
    response = client.post("/api/v1/imports", {
        "file": SimpleUploadedFile("跟进.csv", text.encode("gbk")), "entity": "interactions"})
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["entity"] == "interactions" and job["mapping"]["客户编码"] == "customer"
    assert {f["key"] for f in job["fields"]} >= {"customer", "kind", "occurred_at"}
    job_id = job["id"]
    assert client.post(f"/api/v1/imports/{job_id}/check").json()["counts"]["errors"] == 1
    response = client.post(f"/api/v1/imports/{job_id}/run")
    assert response.status_code == 202
    job = client.get(f"/api/v1/imports/{job_id}").json()
    assert (job["state"], job["progress"], job["processed_rows"], job["counts"]["created"]) \
        == ("done", 100, 2, 1)
    report = client.get(f"/api/v1/imports/{job_id}/report")
    assert "传真" in report.getvalue().decode()
    assert Interaction.objects.count() == 1
    # The old synchronous door is gone ("import" is no interaction id either).
    assert client.post("/api/v1/interactions/import", {}).status_code == 405


def test_progress_while_running(world: World, book: Book) -> None:
    text = "客户编码,类型,时间,主题\n" + "".join(
        f"{book.rep.code},电话,2026-03-01,回访{n}\n" for n in range(10))
    job = check(world.city_a1_rep, upload(world.city_a1_rep, text))
    import_services.import_queue(actor=world.city_a1_rep, job_id=job.pk)
    # What the worker does between batches, seen by the web through the progress file.
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)
    job.refresh_from_db()
    import_files.write_progress(job, 4)
    client = Client()
    client.force_login(world.city_a1_rep)
    body = client.get(f"/api/v1/imports/{job.pk}").json()
    assert (body["state"], body["processed_rows"], body["progress"]) == ("running", 4, 40)
    page = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert 'value="40"' in page.content.decode() and "hx-get" in page.content.decode()


def test_wizard_pages(world: World, book: Book, immediate: None) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    response = client.get("/interactions/import/")
    assert response.status_code == 302 and response["Location"].endswith(
        "/imports/?entity=interactions")
    page = client.get(response["Location"]).content.decode()
    assert 'value="interactions" selected' in page
    text = f"客户编码,类型,时间,主题\n{book.rep.code},电话,2026-03-01,回访\n"
    response = client.post("/imports/", {
        "entity": "interactions", "encoding": "",
        "file": SimpleUploadedFile("跟进.csv", text.encode("gbk"))})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'name="map-0"' in page and 'value="customer" selected' in page
    assert client.post(f"/imports/{job.pk}/mapping/", {
        "map-0": "customer", "map-1": "kind", "map-2": "occurred_at", "map-3": "subject",
    }).status_code == 302
    assert client.post(f"/imports/{job.pk}/run/").status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and Interaction.objects.count() == 1
    assert "跟进.csv" in client.get("/imports/").content.decode()
