"""Spreadsheet imports: the engine, the API, the CLI and the wizard pages."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import tracemalloc
import typing
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from huey.contrib.djhuey import HUEY
from openpyxl import Workbook

from kehu.core import spreadsheets
from kehu.core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from kehu.core.models import AuditEvent, User
from kehu.core.testing import World
from kehu.customers.importing import files as import_files
from kehu.customers.importing import processor as import_processor
from kehu.customers.importing import report as import_reports
from kehu.customers.models import (
    Contact,
    Customer,
    CustomerContact,
    ImportIssue,
    ImportJob,
    StatusChange,
    Tag,
)
from kehu.customers.selectors import imports as import_selectors
from kehu.customers.services import imports as import_services
from kehu.customers.testing import USCC, Book

pytestmark = pytest.mark.django_db

HEADER = "客户名称,统一社会信用代码,电话,地区,行业,客户等级,标签,备注"


def _uscc(body: str) -> str:
    """``body`` (17 characters) with its correct check character."""
    from kehu.core import identifiers

    for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if identifiers.normalize_uscc(body + ch):
            return body + ch
    raise AssertionError(body)


USCC_2 = _uscc("91110000100000000")  # valid, not used by the book


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


def upload(actor: User, text: str | bytes, *, name: str = "客户.csv", entity: str = "customers",
           encoding: str = "utf-8", chosen: str = "") -> ImportJob:
    data = text.encode(encoding) if isinstance(text, str) else text
    return import_services.import_create(actor=actor, entity=entity, file_name=name, chunks=[data],
                                         encoding=chosen)


def run(job: ImportJob) -> ImportJob:
    """The worker's part, in this process."""
    result = import_services.run_job(job.pk)
    assert result is not None
    return result


def check_and_run(actor: User, job: ImportJob) -> ImportJob:
    job = import_services.import_check(actor=actor, job_id=job.pk)
    import_services.import_queue(actor=actor, job_id=job.pk)
    return run(job)


def issues(job: ImportJob, kind: str | None = None) -> list[tuple[int, str, str]]:
    qs = ImportIssue.objects.filter(job=job)
    if kind:
        qs = qs.filter(kind=kind)
    return [(i.row, i.field, i.message) for i in qs.order_by("row", "id")]


# ---------------------------------------------------------------------------- reading


def test_gbk_csv_is_detected_and_mapped(world: World) -> None:
    text = (f"{HEADER},不认识的列\r\n"
            f"华南电子有限公司,{USCC_2},13800138000,广东深圳,,省级,重点;新,老客户,x\r\n")
    job = upload(world.hq_admin, text, encoding="gbk")
    assert job.encoding == "gb18030"
    assert job.file_format == "csv"
    assert job.mapping == {"客户名称": "name", "统一社会信用代码": "uscc", "电话": "phones",
                           "地区": "region", "行业": "industry", "客户等级": "tier",
                           "标签": "tags", "备注": "notes", "不认识的列": ""}
    job = check_and_run(world.hq_admin, job)
    assert job.state == ImportJob.State.DONE, job.error
    customer = Customer.objects.get(name="华南电子有限公司")
    assert customer.region == "440300"
    assert customer.tier == "province"
    assert customer.uscc == USCC_2
    assert customer.phones == [{"number": "13800138000", "kind": "mobile", "ext": ""}]
    assert sorted(customer.tags.values_list("name", flat=True)) == ["新", "重点"]
    assert customer.code == f"C{customer.pk:08d}"
    assert customer.hierarchy_path == f"/{customer.pk}/"
    assert customer.owner == world.hq_admin and customer.org_unit == world.hq
    assert customer.search_text and customer.code.lower() in customer.search_text
    assert StatusChange.objects.filter(customer=customer, to_status="potential").exists()


def test_bom_semicolons_and_english_headers(world: World) -> None:
    text = ("\ufeffName;Phones;Kind;Status\n"
            "杭州云服务有限公司;0571-88886666/13900001234;Enterprise;Loyal\n")
    job = upload(world.hq_admin, text)
    assert job.encoding == "utf-8-sig"
    assert job.headers == ["Name", "Phones", "Kind", "Status"]
    job = check_and_run(world.hq_admin, job)
    customer = Customer.objects.get(name="杭州云服务有限公司")
    assert [p["number"] for p in customer.phones] == ["057188886666", "13900001234"]
    assert customer.status == "loyal"


def test_tab_delimited_utf8_and_encoding_override(world: World) -> None:
    job = upload(world.hq_admin, "名称\t手机\n甲公司\t13500001111\n", encoding="gbk",
                 chosen="GBK")
    assert job.encoding == "gb18030"
    assert job.mapping == {"名称": "name", "手机": "phones"}
    job = check_and_run(world.hq_admin, job)
    assert job.counts["created"] == 1
    with pytest.raises(ValidationFailed) as exc:
        upload(world.hq_admin, "名称\n甲\n", chosen="klingon")
    assert "encoding" in exc.value.fields


def test_xlsx_numbers_and_dates(world: World, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "生日", "所属客户", "职务", "主要联系人"])
    sheet.append(["赵六", 13812345670, __import__("datetime").datetime(1985, 3, 4), None,
                  "经理", None])
    sheet.append(["钱七", 13812345671.0, "1990/1/2", None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    job = upload(world.hq_admin, buffer.getvalue(), name="contacts.xlsx", entity="contacts")
    assert job.file_format == "xlsx"
    assert job.mapping["手机"] == "phones" and job.mapping["生日"] == "birthday"
    job = check_and_run(world.hq_admin, job)
    assert job.state == ImportJob.State.DONE, job.error
    zhao = Contact.objects.get(name="赵六")
    assert zhao.phones[0]["number"] == "13812345670"
    assert str(zhao.birthday) == "1985-03-04"
    assert Contact.objects.get(name="钱七").phones[0]["number"] == "13812345671"
    assert import_files.cell_text(1.38e10) == "13800000000"
    assert import_files.cell_text(2.5) == "2.5"



@pytest.fixture
def english() -> Iterator[None]:
    """Messages and headers in English (the default language is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield

@pytest.mark.parametrize(("name", "data", "message"), [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", ".xlsx or CSV"),
    ("doc.pdf", b"%PDF-1.4", "CSV or XLSX"),
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n\nx\n", "first row"),
])
def test_unreadable_files_are_refused_and_not_kept(english: None, world: World, name: str,
                                                   data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        upload(world.hq_admin, data, name=name)
    assert message in str(exc.value.message)
    assert not ImportJob.objects.exists()
    assert not list(import_files.import_dir().iterdir())


def test_size_limit(world: World, settings: Any) -> None:
    settings.KEHU_IMPORT_MAX_BYTES = 100
    with pytest.raises(ValidationFailed):
        upload(world.hq_admin, "名称\n" + "甲公司\n" * 50)
    assert not list(import_files.import_dir().iterdir())


# ---------------------------------------------------------------------------- rows


def test_dry_run_reports_row_errors_and_writes_nothing(world: World) -> None:
    before = Customer.objects.count()
    text = (f"{HEADER}\n"
            "好公司,,13800000001,,,,,\n"
            f",{USCC_2},,,,,,\n"                          # row 3: no name
            "坏号码公司,,12345,,,,,\n"                     # row 4: bad phone
            "坏代码公司,91350100M000100Y4X,,火星,,,,\n"     # row 5: bad code and region
            "\n"
            "另一家公司,,,,,金牌,,\n")                      # row 7: bad tier
    job = upload(world.hq_admin, text)
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    assert job.state == ImportJob.State.CHECKED
    assert job.counts == {"rows": 5, "accepted": 1, "errors": 4, "duplicates": 0,
                          "created": 1, "updated": 0, "skipped": 0}
    found = issues(job, "error")
    assert [(row, field) for row, field, _m in found] == [
        (3, "name"), (4, "phones"), (5, "uscc"), (5, "region"), (7, "tier")]
    assert Customer.objects.count() == before
    assert job.total_rows == 5


def test_duplicates_existing_and_in_file(world: World, book: Book) -> None:
    text = ("客户名称,统一社会信用代码,电话,身份证号,客户类型,备注\n"
            f"中国电信集团,{USCC},,,,信用代码相同\n"              # 2: uscc → book.hq
            "白云机场,,13812345678,,,电话相同\n"                  # 3: phone → book.rep
            "广州地铁集团股份有限公司,,,,,名称相同\n"              # 4: name key → book.city_a1
            "李四,,,11010519491231002X,个人,身份证相同\n"          # 5: id → book.person
            "新公司甲,,13000000001,,,\n"                           # 6: new
            "新公司甲有限公司,,,,,文件内重复\n"                   # 7: same name as row 6
            "杭州阿里巴巴网络技术有限公司,,,,,看不见的\n")        # 8: prov_b's, not visible
    actor = world.city_a1_manager
    creates_before = AuditEvent.objects.filter(action="customer.create").count()
    job = upload(actor, text)
    job = import_services.import_check(actor=actor, job_id=job.pk)
    dups = {row: (field, msg) for row, field, msg in issues(job, "duplicate")}
    # city_a1_manager sees the customers of City A1 only: hq's uscc match is invisible.
    assert sorted(dups) == [3, 4, 5, 7]
    assert dups[3][0] == "phones" and "广州市白云机场股份有限公司" in dups[3][1]
    assert dups[4][0] == "name"
    assert dups[5][0] == "id_number"
    assert dups[7][0] == "name" and "6" in dups[7][1]
    assert job.counts["duplicates"] == 4
    assert job.counts["skipped"] == 4 and job.counts["created"] == 3

    import_services.import_set_duplicates(actor=actor, job_id=job.pk, default="skip",
                                          rows={"3": "update", "4": "create"})
    job = import_services.import_check(actor=actor, job_id=job.pk)
    assert (job.counts["updated"], job.counts["created"], job.counts["skipped"]) == (1, 4, 2)
    import_services.import_queue(actor=actor, job_id=job.pk)
    job = run(job)
    assert job.state == ImportJob.State.DONE, job.error
    book.rep.refresh_from_db()
    assert book.rep.notes == "电话相同" and book.rep.name == "广州市白云机场股份有限公司"
    assert book.rep.version == 2
    assert Customer.objects.filter(name="广州地铁集团股份有限公司").exists()
    assert Customer.objects.filter(name="新公司甲").exists()
    assert not Customer.objects.filter(name="新公司甲有限公司").exists()
    assert not Customer.objects.filter(name="李四").exists()
    # The invisible one is created anew (documented): the match is not revealed.
    assert Customer.objects.filter(name="杭州阿里巴巴网络技术有限公司").count() == 2
    event = AuditEvent.objects.get(action="import.run", object_id=str(job.pk))
    assert event.changes["created"] == [None, 4]
    assert AuditEvent.objects.filter(action="customer.create").count() == creates_before


def test_update_import_audits_each_changed_customer(world: World, book: Book) -> None:
    # Every write is audited: an update import writes one event per customer it changed,
    # with the masked diff the single-record update writes; an unchanged one gets none.
    actor = world.hq_admin
    text = ("客户名称,电话,标签\n"
            "广州地铁集团有限公司,13922223333,地铁\n"
            "广东移动通信有限责任公司,020-83335678,\n"
            "杭州阿里巴巴网络技术有限公司,,\n")
    updates = AuditEvent.objects.filter(action="customer.update")
    before = updates.count()
    job = upload(actor, text)
    import_services.import_set_duplicates(actor=actor, job_id=job.pk, default="update")
    job = check_and_run(actor, job)
    assert job.state == ImportJob.State.DONE, job.error
    assert job.counts["updated"] == 3
    events = {e.object_id: e for e in updates.order_by("id")[before:]}
    assert set(events) == {str(book.city_a1.pk), str(book.prov_a.pk)}
    metro = events[str(book.city_a1.pk)]
    assert metro.actor == actor and metro.object_type == "customer"
    assert [[p["number"] for p in side] for side in metro.changes["phones"]] == [
        ["139****1111"], ["139****3333"]]
    assert metro.changes["tags"] == [[], ["地铁"]]
    assert metro.changes["import"] == [None, job.pk]
    assert "13922223333" not in str(metro.changes)
    assert "020-83335678" not in str(events[str(book.prov_a.pk)].changes)
    assert "83335678" not in str(events[str(book.prov_a.pk)].changes)


def test_update_refused_when_not_changeable(world: World, book: Book) -> None:
    # The analyst sees every customer but may not change them (nor create: no import).
    text = f"客户名称,统一社会信用代码\n中国电信集团,{USCC}\n"
    actor = world.prov_a_manager
    job = upload(actor, "客户名称,电话\n白云,13812345678\n")
    import_services.import_set_duplicates(actor=actor, job_id=job.pk, default="update")
    job = import_services.import_check(actor=actor, job_id=job.pk)
    assert job.counts["updated"] == 1
    job = upload(actor, text)
    import_services.import_set_duplicates(actor=actor, job_id=job.pk, default="update")
    job = import_services.import_check(actor=actor, job_id=job.pk)
    # hq's customer is not visible to the province manager: no match, would be created.
    assert job.counts["duplicates"] == 0 and job.counts["created"] == 1


def test_run_writes_everything_or_nothing(world: World, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setattr(import_processor, "BATCH", 2)
    rows = "".join(f"公司{i:02d},1380000{i:04d}\n" for i in range(8))
    job = upload(world.hq_admin, "名称,电话\n" + rows)
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    assert job.counts["accepted"] == 8
    # The file turns unreadable after row 6 between the check and the run.
    path = import_files.stored_path(job)
    path.write_bytes(("名称,电话\n" + rows[: rows.index("公司05")]).encode() + b"\xff\xfe\n")
    before = Customer.objects.count()
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    job = run(job)
    assert job.state == ImportJob.State.FAILED
    assert "utf-8" in job.error
    assert Customer.objects.count() == before
    assert not Tag.objects.filter(tenant=world.tenant).exists()


def test_state_machine_refuses_second_run(world: World) -> None:
    job = upload(world.hq_admin, "名称\n甲公司\n")
    with pytest.raises(Conflict):
        import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    job = check_and_run(world.hq_admin, job)
    assert job.state == ImportJob.State.DONE
    with pytest.raises(Conflict):
        import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    with pytest.raises(Conflict):
        import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    assert import_services.run_job(job.pk) is None  # a second delivery of the task
    assert Customer.objects.filter(name="甲公司").count() == 1


def test_progress_is_read_from_the_file_while_running(world: World) -> None:
    job = upload(world.hq_admin, "名称\n" + "".join(f"公司{i}\n" for i in range(10)))
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    # What the worker does between batches, seen by another process through the file.
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)
    job.refresh_from_db()
    import_files.write_progress(job, 4)
    assert import_files.live_progress(job) == 4 and import_files.progress_percent(job) == 40
    client = Client()
    client.force_login(world.hq_admin)
    body = client.get(f"/api/v1/imports/{job.pk}").json()
    assert (body["state"], body["processed_rows"], body["progress"]) == ("running", 4, 40)
    page = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert 'value="40"' in page.content.decode() and "HX-Refresh" not in page.headers


def test_failed_check_leaves_the_job_uploaded(world: World) -> None:
    job = upload(world.hq_admin, "名称\n甲公司\n乙公司\n")
    import_files.stored_path(job).write_bytes(b"\xe5\x90\x8d\xe7\xa7\xb0\n\xff\xfe\n")
    with pytest.raises(ValidationFailed, match="utf-8"):
        import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.UPLOADED and not job.issues.exists()


def test_mapping_edit_and_validation(world: World) -> None:
    job = upload(world.hq_admin, "公司,联系方式,备注\n甲公司,13800000000,x\n")
    assert job.mapping == {"公司": "", "联系方式": "", "备注": "notes"}
    with pytest.raises(ValidationFailed):
        import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    with pytest.raises(ValidationFailed) as exc:
        import_services.import_set_mapping(actor=world.hq_admin, job_id=job.pk,
                                           mapping={"公司": "name", "联系方式": "name"})
    assert "联系方式" in exc.value.fields
    with pytest.raises(ValidationFailed):
        import_services.import_set_mapping(actor=world.hq_admin, job_id=job.pk,
                                           mapping={"公司": "password"})
    job = import_services.import_set_mapping(
        actor=world.hq_admin, job_id=job.pk,
        mapping={"公司": "name", "联系方式": "phones", "备注": ""})
    job = check_and_run(world.hq_admin, job)
    customer = Customer.objects.get(name="甲公司")
    assert customer.phones[0]["number"] == "13800000000" and customer.notes == ""


def test_owner_column_and_rep_scope(world: World) -> None:
    text = "名称,客户经理\n甲公司,rep_a1@huaxia.test\n乙公司,广州经理\n丙公司,\n"
    job = upload(world.city_a1_manager, text)
    job = check_and_run(world.city_a1_manager, job)
    assert job.counts["created"] == 3
    assert Customer.objects.get(name="甲公司").owner == world.city_a1_rep
    assert Customer.objects.get(name="乙公司").owner == world.city_a1_manager

    rep_job = upload(world.city_a1_rep, "名称,客户经理\n丁公司,广州经理\n戊公司,李客户经理\n")
    rep_job = import_services.import_check(actor=world.city_a1_rep, job_id=rep_job.pk)
    assert [(r, f) for r, f, _m in issues(rep_job, "error")] == [(2, "owner")]
    rep_job = check_and_run(world.city_a1_rep, rep_job)
    assert Customer.objects.get(name="戊公司").owner == world.city_a1_rep
    assert not Customer.objects.filter(name="丁公司").exists()


def test_contacts_link_to_customers(world: World, book: Book) -> None:
    text = ("姓名,手机,邮箱,所属客户,职务,决策角色,主要联系人,性别\n"
            f"陈一,13600000001,chen@example.com,{book.rep.code},总经理,决策者,是,男\n"
            "周二,13600000002,,广州市白云机场股份有限公司,,influencer,,女\n"
            "吴三,13600000003,,不存在的公司,,,,\n"
            "王经理,13611112222,,,,,,\n")
    actor = world.city_a1_rep
    job = upload(actor, text, entity="contacts")
    job = import_services.import_check(actor=actor, job_id=job.pk)
    assert [(r, f) for r, f, _m in issues(job, "error")] == [(4, "customer")]
    assert [(r, f) for r, f, _m in issues(job, "duplicate")] == [(5, "phones")]
    import_services.import_queue(actor=actor, job_id=job.pk)
    job = run(job)
    assert job.state == ImportJob.State.DONE, job.error
    chen = Contact.objects.get(name="陈一")
    link = CustomerContact.objects.get(contact=chen)
    assert (link.customer_id, link.title, link.decision_role, link.is_primary) == (
        book.rep.pk, "总经理", "decision_maker", True)
    assert chen.gender == "male" and chen.owner == book.rep.owner
    assert not CustomerContact.objects.get(contact=book.rep_contact).is_primary
    assert CustomerContact.objects.get(contact__name="周二").decision_role == "influencer"
    assert not Contact.objects.filter(name="吴三").exists()
    assert Contact.objects.filter(name="王经理").count() == 1


# ---------------------------------------------------------------------------- access


def test_access(world: World) -> None:
    job = upload(world.city_a1_rep, "名称\n甲公司\n")
    # Visible up the tree, not to a peer branch nor another tenant.
    assert import_selectors.import_get(actor=world.city_a1_manager, job_id=job.pk) == job
    for outsider in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            import_selectors.import_get(actor=outsider, job_id=job.pk)
    # Only the uploader changes, checks or runs it.
    for other in (world.city_a1_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            import_services.import_check(actor=other, job_id=job.pk)
        with pytest.raises(NotFound):
            import_services.import_set_mapping(actor=other, job_id=job.pk, mapping={"名称": ""})
    job.refresh_from_db()
    assert job.state == ImportJob.State.UPLOADED and job.mapping == {"名称": "name"}
    with pytest.raises(Forbidden):
        upload(world.analyst, "名称\n甲公司\n")
    assert ImportJob.objects.count() == 1


# ---------------------------------------------------------------------------- report


def test_report_csv(english: None, world: World, book: Book) -> None:
    text = ("客户名称,电话,身份证号,客户类型\n"
            "=HYPERLINK(\"x\"),12345,,\n"
            "白云机场,13812345678,,\n"
            "王五,,110105194912310021,个人\n"
            "好公司,,,\n")
    job = upload(world.city_a1_rep, text)
    job = check_and_run(world.city_a1_rep, job)
    body = "".join(import_reports.report_csv(job, reveal=True))
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:2] == ["Row", "客户名称"]
    assert [r[0] for r in rows[1:]] == ["2", "3", "4"]
    assert rows[1][1] == "'=HYPERLINK(\"x\")"
    assert "skipped" in rows[2][-1]
    masked = "".join(import_reports.report_csv(job, reveal=False))
    assert "110105194912310021" in body and "110105194912310021" not in masked
    assert spreadsheets.safe_cell("＝1+1") == "'＝1+1" and spreadsheets.safe_cell("-2") == "'-2"


def test_report_neutralises_header_cells(english: None, world: World, book: Book) -> None:
    # A column named like a formula: the report's header cell is text too (issue 11, item 7).
    text = ("客户名称,电话,=HYPERLINK(\"http://evil.example\";\"x\")\n"
            "白云机场,13812345678,a\n"
            "好公司,,b\n")
    job = upload(world.city_a1_rep, text)
    job = check_and_run(world.city_a1_rep, job)
    body = "".join(import_reports.report_csv(job, reveal=True))
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert len(rows) > 1
    assert rows[0][-2] == "'=HYPERLINK(\"http://evil.example\";\"x\")"
    assert not any(cell[:1] in spreadsheets.FORMULA_TRIGGERS for row in rows for cell in row)


# ---------------------------------------------------------------------------- API


def api(client: Client, method: str, path: str, **kwargs: Any) -> Any:
    response = getattr(client, method)("/api/v1/imports" + path, **kwargs)
    return response.status_code, (response.json() if response["Content-Type"].startswith(
        "application/json") else response)


def test_api_flow(english: None, world: World, book: Book, immediate: None) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    text = "公司,联系方式,备注\n甲公司,13800000000,=1+2\n,13800000001,\n".encode("gbk")
    status, job = api(client, "post", "", data={
        "file": SimpleUploadedFile("客户.csv", text), "entity": "customers"})
    assert status == 201, job
    assert job["encoding"] == "gb18030" and job["mapping"]["联系方式"] == ""
    assert any(f["key"] == "phones" and f["label"] for f in job["fields"])
    job_id = job["id"]
    assert api(client, "post", f"/{job_id}/run")[0] == 409
    status, job = api(client, "post", f"/{job_id}/mapping", data={
        "mapping": {"公司": "name", "联系方式": "phones"}}, content_type="application/json")
    assert status == 200 and job["state"] == "uploaded"
    status, job = api(client, "post", f"/{job_id}/check")
    # Queued for the worker (which, here, runs at once): 202 and the job's state.
    assert status == 202 and job["state"] == "checked" and job["counts"]["errors"] == 1
    status, page = api(client, "get", f"/{job_id}/issues", data={"kind": "error"})
    assert page["count"] == 1 and page["items"][0]["row"] == 3
    status, job = api(client, "post", f"/{job_id}/duplicates",
                      data={"default": "create", "rows": {"2": "skip"}},
                      content_type="application/json")
    assert status == 200 and job["duplicate_actions"] == {"2": "skip"}
    status, job = api(client, "post", f"/{job_id}/duplicates", data={"default": "maybe"},
                      content_type="application/json")
    assert status == 422
    status, job = api(client, "post", f"/{job_id}/run")
    assert status == 202, job
    status, job = api(client, "get", f"/{job_id}")
    assert job["state"] == "done" and job["progress"] == 100 and job["counts"]["created"] == 1
    assert api(client, "post", f"/{job_id}/run")[0] == 409
    status, response = api(client, "get", f"/{job_id}/report")
    assert status == 200
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff") and ",3," not in content.split("\n")[0]
    status, page = api(client, "get", "")
    assert [item["id"] for item in page["items"]] == [job_id]

    other = Client()
    other.force_login(world.other_tenant_admin)
    for method, path in (("get", f"/{job_id}"), ("get", f"/{job_id}/issues"),
                         ("get", f"/{job_id}/report"), ("post", f"/{job_id}/check"),
                         ("post", f"/{job_id}/run")):
        assert api(other, method, path)[0] == 404
    assert api(other, "get", "")[1]["count"] == 0


def test_api_upload_refusals(world: World) -> None:
    client = Client()
    client.force_login(world.analyst)
    status, body = api(client, "post", "", data={
        "file": SimpleUploadedFile("a.csv", b"name\nx\n"), "entity": "customers"})
    assert status == 403
    client.force_login(world.hq_admin)
    status, body = api(client, "post", "", data={
        "file": SimpleUploadedFile("a.xls", b"\xd0\xcf\x11\xe0xxxx"), "entity": "customers"})
    assert status == 422 and "xlsx" in body["error"]["message"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("codec", ["rot13", "zlib", "base64", "hex", "bz2", "uu", "idna",
                                   "utf-32", "klingon"])
def test_only_the_supported_encodings_are_accepted(world: World, codec: str) -> None:
    client = Client()
    client.force_login(world.hq_admin)
    status, body = api(client, "post", "", data={
        "file": SimpleUploadedFile("a.csv", b"name\nx\n"), "entity": "customers",
        "encoding": codec})
    assert status == 422 and "encoding" in body["error"]["fields"], body
    with pytest.raises(ValidationFailed) as exc:
        upload(world.hq_admin, "名称\n甲\n", chosen=codec)
    assert "encoding" in exc.value.fields
    response = client.post("/imports/", {
        "entity": "customers", "encoding": codec,
        "file": SimpleUploadedFile("a.csv", b"name\nx\n")})
    assert response.status_code in (200, 422) and "encoding" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_supported_encodings_read_and_match_the_spec(world: World) -> None:
    from kehu.customers.forms.imports import ENCODINGS
    from kehu.customers.schemas.imports import Encoding

    assert set(typing.get_args(Encoding)) == {"", *import_files.ENCODING_CHOICES}
    assert {value for value, _label in ENCODINGS} == set(typing.get_args(Encoding)) - {
        "gb18030"}
    for codec, name in (("big5", "big5"), ("utf-16", "utf-16"), ("gb18030", "gbk")):
        job = upload(world.hq_admin, "名稱,手機\n甲公司,13500001111\n", encoding=codec,
                     chosen=name)
        assert import_files.read_headers(import_files.Source(
            import_files.stored_path(job), "csv", job.encoding)) == ["名稱", "手機"]
    spec = Client()
    spec.force_login(world.hq_admin)
    schema = spec.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    assert "utf-16" in json.dumps(body) or "utf-16" in json.dumps(schema["components"])


# ---------------------------------------------------------------------------- CLI


def test_cli_dry_run_and_import(english: None, world: World, book: Book, tmp_path: Path) -> None:
    path = tmp_path / "客户.csv"
    path.write_bytes("公司,联系方式,备注\n甲公司,13800000000,x\n乙公司,123,\n".encode("gbk"))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "customers", str(path), stdout=out)  # several admins
    call_command("import", "customers", str(path), "--as", "hq_admin@huaxia.test",
                 "--map", "公司=name", "--map", "联系方式=phones", "--dry-run", stdout=out)
    report = out.getvalue()
    assert "联系方式 → phones" in report
    assert "Row 3 error [phones]" in report
    assert not Customer.objects.filter(name="甲公司").exists()
    out = io.StringIO()
    call_command("import", "customers", str(path), "--as", "hq_admin@huaxia.test",
                 "--map", "公司=name", "--map", "联系方式=phones", stdout=out)
    assert "Created: 1" in out.getvalue()
    assert Customer.objects.get(name="甲公司").owner == world.hq_admin

    bad = tmp_path / "bad.csv"
    bad.write_text("公司\n\n", encoding="utf-8")
    with pytest.raises(CommandError, match="No row"):
        call_command("import", "customers", str(bad), "--as", "hq_admin@huaxia.test",
                     "--map", "公司=name", stdout=io.StringIO())
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0....")
    with pytest.raises(CommandError, match="xlsx"):
        call_command("import", "customers", str(old), "--as", "hq_admin@huaxia.test",
                     stdout=io.StringIO())


# ---------------------------------------------------------------------------- pages


def test_wizard_pages(world: World, immediate: None) -> None:
    client = Client()
    client.force_login(world.city_a1_rep)
    response = client.get("/imports/")
    assert response.status_code == 200
    assert "No imports yet" in response.content.decode() or "暂无" in response.content.decode()
    response = client.post("/imports/", {
        "entity": "customers", "encoding": "",
        "file": SimpleUploadedFile("客户.csv", "公司,联系方式\n甲公司,13800000000\n,1\n"
                                   .encode("gbk"))})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "联系方式" in page and 'name="map-0"' in page
    response = client.post(f"/imports/{job.pk}/mapping/", {"map-0": "name", "map-1": "phones"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED and job.counts["errors"] == 1
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Row 3" in page or "第 3 行" in page
    response = client.post(f"/imports/{job.pk}/run/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    progress = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress.status_code == 200 and progress.headers.get("HX-Refresh") == "true"
    report = client.get(f"/imports/{job.pk}/report/")
    assert report.status_code == 200
    assert report.getvalue().startswith("\ufeff".encode())
    other = Client()
    other.force_login(world.prov_b_manager)
    assert other.get(f"/imports/{job.pk}/").status_code == 404
    assert other.post(f"/imports/{job.pk}/run/").status_code == 404
    # The analyst sees imports (tenant-wide view) but may not upload or run one.
    analyst = Client()
    analyst.force_login(world.analyst)
    listing = analyst.get("/imports/").content.decode()
    assert "客户.csv" in listing and 'data-testid="import-upload"' not in listing
    refused = analyst.post("/imports/", {"entity": "customers", "file": SimpleUploadedFile(
        "b.csv", b"name\nx\n")})
    assert refused.status_code == 403
    assert analyst.post(f"/imports/{job.pk}/run/").status_code == 403
    assert ImportJob.objects.count() == 1


# ---------------------------------------------------------------------------- volume


def test_hundred_thousand_rows(world: World, tmp_path: Path, settings: Any) -> None:
    """100,000 rows import in bounded memory: rows are streamed, only keys are kept."""
    n = 100_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["客户名称", "手机", "地区", "客户等级", "标签"])
        for i in range(n):
            writer.writerow([f"测试客户{i:06d}", f"139{i:08d}", "广东深圳", "普通",
                             "批量" if i % 2 else ""])
        writer.writerow(["", "123", "", "", ""])  # one refused row
    actor = world.hq_admin
    started = time.monotonic()
    tracemalloc.start()
    try:
        job = import_services.import_create_from_path(actor=actor, entity="customers", path=path)
        job = import_services.import_check(actor=actor, job_id=job.pk)
        assert job.counts["rows"] == n + 1 and job.counts["errors"] == 1
        import_services.import_queue(actor=actor, job_id=job.pk)
        result = import_services.run_job(job.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result is not None and result.state == ImportJob.State.DONE, result and result.error
    assert result.counts["created"] == n
    assert Customer.objects.filter(tenant=world.tenant).count() == n
    assert Customer.objects.filter(tenant=world.tenant, code="").count() == 0
    assert StatusChange.objects.filter(tenant=world.tenant).count() == n
    assert Tag.objects.get(tenant=world.tenant, name="批量").customers.count() == n // 2
    assert peak < 200 * 1024 * 1024, peak
    print(f"100k rows: {time.monotonic() - started:.0f}s, peak {peak / 1e6:.0f} MB")


def test_api_idempotency_keys(world: World, immediate: None) -> None:
    client = Client()
    client.force_login(world.hq_admin)
    data = {"file": SimpleUploadedFile("a.csv", "名称\n甲公司\n".encode()), "entity": "customers"}
    first = client.post("/api/v1/imports", data=data, HTTP_IDEMPOTENCY_KEY="up-1")
    assert first.status_code == 201, first.content
    data["file"] = SimpleUploadedFile("a.csv", "名称\n甲公司\n".encode())
    again = client.post("/api/v1/imports", data=data, HTTP_IDEMPOTENCY_KEY="up-1")
    assert again.json()["id"] == first.json()["id"] and ImportJob.objects.count() == 1
    job_id = first.json()["id"]
    assert client.post(f"/api/v1/imports/{job_id}/check").status_code == 202
    # A file past Django's in-memory upload limit (2.5 MB) works with a key too, and the
    # same key with a different file is refused.
    big = "名称,电话\n" + "".join(f"大客户{i}有限公司,\n" for i in range(120_000))
    assert len(big.encode()) > 2_621_440
    r = client.post("/api/v1/imports", data={
        "file": SimpleUploadedFile("big.csv", big.encode()), "entity": "customers"},
        HTTP_IDEMPOTENCY_KEY="up-big")
    assert r.status_code == 201, r.content[:300]
    r2 = client.post("/api/v1/imports", data={
        "file": SimpleUploadedFile("big.csv", big.encode() + b"x,\n"), "entity": "customers"},
        HTTP_IDEMPOTENCY_KEY="up-big")
    assert r2.status_code == 422 and ImportJob.objects.count() == 2
    run1 = client.post(f"/api/v1/imports/{job_id}/run", HTTP_IDEMPOTENCY_KEY="run-1")
    run2 = client.post(f"/api/v1/imports/{job_id}/run", HTTP_IDEMPOTENCY_KEY="run-1")
    assert (run1.status_code, run2.status_code) == (202, 202)
    assert run2.headers["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(name="甲公司").count() == 1


def test_a_queued_import_says_when_no_worker_runs(world: World, monkeypatch: Any) -> None:
    from django.test import Client

    from kehu.core import worker

    monkeypatch.setattr(HUEY, "immediate", False)
    HUEY.storage.pop_data(worker.HEARTBEAT_KEY)
    job = upload(world.hq_admin, "名称\n甲公司\n")
    import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    import_services.import_queue(actor=world.hq_admin, job_id=job.pk)
    client = Client()
    client.force_login(world.hq_admin)
    assert 'data-testid="worker-missing"' in client.get(f"/imports/{job.pk}/").content.decode()
    worker.beat()  # a consumer started: the job will run, no warning
    assert "worker-missing" not in client.get(f"/imports/{job.pk}/").content.decode()
    assert "worker-missing" not in client.get(f"/imports/{job.pk}/progress/").content.decode()


# ---------------------------------------------------------------------------- hostile XLSX


def forged_xlsx(path: Path, header: list[str], rows: int, *, extra: bytes = b"") -> Path:
    """A small workbook whose sheet claims <dimension ref="A1:XFD1048576">."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for i in range(rows):
        sheet.append([f"公司{i}", f"1380000{i:04d}"])
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"',
                              data)
                assert b"XFD1048576" in data
            out.writestr(info, data)
        if extra:
            out.writestr("xl/media/padding.bin", extra)
    return path


def test_forged_dimension_reads_only_the_stored_cells(world: World, tmp_path: Path) -> None:
    path = forged_xlsx(tmp_path / "客户.xlsx", ["公司", "联系方式"], 2000)
    started = time.monotonic()
    job = upload(world.hq_admin, path.read_bytes(), name="客户.xlsx")
    assert job.headers == ["公司", "联系方式"]
    source = import_files.Source(import_files.stored_path(job), "xlsx", "")
    assert max(len(row) for row in source.rows()) == 2
    job = import_services.import_set_mapping(actor=world.hq_admin, job_id=job.pk,
                                             mapping={"公司": "name", "联系方式": "phones"})
    job = import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    assert job.counts["rows"] == 2000
    # Padded to the 16,384 columns it claims, the same file took minutes.
    assert time.monotonic() - started < 30


def test_xlsx_that_unpacks_too_large_is_refused_at_upload(
        english: None, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_XLSX_UNPACKED", 1024 * 1024)
    path = forged_xlsx(tmp_path / "bomb.xlsx", ["公司", "联系方式"], 1,
                       extra=b"\0" * (2 * 1024 * 1024))
    assert path.stat().st_size < 100 * 1024
    with pytest.raises(ValidationFailed) as exc:
        upload(world.hq_admin, path.read_bytes(), name="bomb.xlsx")
    assert "unpacks to more than 1 MB" in str(exc.value.fields["file"])
    assert not ImportJob.objects.exists()


def test_rows_over_the_cap_are_refused_with_a_message(
        english: None, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_processor, "MAX_ROWS", 5)
    job = upload(world.hq_admin, "公司,联系方式\n" + "".join(
        f"公司{i},1380000{i:04d}\n" for i in range(6)))
    job = import_services.import_set_mapping(actor=world.hq_admin, job_id=job.pk,
                                             mapping={"公司": "name", "联系方式": "phones"})
    with pytest.raises(ValidationFailed) as exc:
        import_services.import_check(actor=world.hq_admin, job_id=job.pk)
    assert "At most 5 rows" in str(exc.value)
    assert not Customer.objects.filter(name__startswith="公司").exists()

