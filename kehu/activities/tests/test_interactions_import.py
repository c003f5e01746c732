"""Bulk import of interactions: encodings, formats, all-or-nothing, row-level errors."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kehu.activities.models import Interaction
from kehu.activities.services.interaction_imports import MAX_ROWS, import_interactions
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import token_for

pytestmark = pytest.mark.django_db


def run(actor: Any, text: str, *, encoding: str = "utf-8", name: str = "跟进.csv",
        dry_run: bool = False) -> Any:
    return import_interactions(actor=actor, file_name=name, chunks=[text.encode(encoding)],
                               dry_run=dry_run)


def test_gbk_csv_with_chinese_headers(world, book):
    text = ("客户编码,类型,时间,主题,内容,渠道,方向,时长,结果,下一步\n"
            f"{book.rep.code},拜访,2026-03-01 14:30,上门拜访,讨论扩容,面对面,呼出,45,"
            "有意向,发报价\n"
            f"{book.person.code},电话,2026/03/02,电话回访,,,,,,\n")
    result = run(world.city_a1_rep, text, encoding="gbk")
    assert result.errors == [] and result.imported == 2
    first = Interaction.objects.get(subject="上门拜访")
    assert (first.kind, first.channel, first.duration_minutes, first.customer_id) == (
        "visit", "face_to_face", 45, book.rep.pk)
    assert timezone.localtime(first.occurred_at).strftime("%Y-%m-%d %H:%M") == \
        "2026-03-01 14:30"
    assert AuditEvent.objects.filter(action="interaction.import").count() == 1
    assert not AuditEvent.objects.filter(action="interaction.create").exists()


def test_bom_csv_with_english_headers_and_names(world, book):
    text = ("\ufeffCustomer name,Type,Time,Subject\n"
            f"{book.rep.name},email,2026-03-01T08:00:00,Quote sent\n")
    result = run(world.city_a1_rep, text)
    assert result.imported == 1 and Interaction.objects.get().kind == "email"


def test_a_bad_row_imports_nothing_and_lists_every_problem(world, book):
    text = ("客户编码,类型,时间,主题\n"
            f"{book.rep.code},拜访,2026-03-01 14:30,好的一行\n"
            f"{book.prov_b.code},拜访,2026-03-01 14:30,看不到的客户\n"
            f"{book.rep.code},传真,昨天,\n")
    result = run(world.city_a1_rep, text)
    assert result.imported == 0 and Interaction.objects.count() == 0
    problems = {(e.row, e.column) for e in result.errors}
    assert (3, "Customer code") in problems or (3, "客户编码") in problems
    assert {row for row, _col in problems} == {3, 4}
    assert len([e for e in result.errors if e.row == 4]) == 3  # type, time, subject
    assert not AuditEvent.objects.filter(action="interaction.import").exists()


def test_dry_run_and_xlsx(world, book):
    from openpyxl import Workbook

    book_ = Workbook()
    sheet = book_.active
    assert sheet is not None
    sheet.append(["客户编码", "类型", "时间", "主题"])
    sheet.append([book.rep.code, "会议", timezone.now().replace(tzinfo=None, microsecond=0),
                  "季度会议"])
    buffer = io.BytesIO()
    book_.save(buffer)
    result = import_interactions(actor=world.city_a1_rep, file_name="跟进.xlsx",
                                 chunks=[buffer.getvalue()], dry_run=True)
    assert result.errors == [] and result.total_rows == 1 and result.imported == 0
    assert Interaction.objects.count() == 0
    result = import_interactions(actor=world.city_a1_rep, file_name="跟进.xlsx",
                                 chunks=[buffer.getvalue()])
    assert result.imported == 1 and Interaction.objects.get().kind == "meeting"


def test_unreadable_files_and_limits(world, book):
    with pytest.raises(ValidationFailed) as exc:
        run(world.city_a1_rep, "客户编码,主题\nC1,x\n")
    assert "file" in exc.value.fields  # missing type and time columns
    with pytest.raises(ValidationFailed):
        run(world.city_a1_rep, "")
    with pytest.raises(ValidationFailed):
        import_interactions(actor=world.city_a1_rep, file_name="a.xls",
                            chunks=[b"\xd0\xcf\x11\xe0rest"])
    rows = "".join(f"{book.rep.code},电话,2026-03-01,x\n" for _n in range(MAX_ROWS + 1))
    with pytest.raises(ValidationFailed):
        run(world.city_a1_rep, "客户编码,类型,时间,主题\n" + rows)
    assert Interaction.objects.count() == 0


def test_other_tenants_customers_are_not_found(world, book):
    text = f"客户编码,类型,时间,主题\n{book.rep.code},电话,2026-03-01,入侵\n"
    result = run(world.other_tenant_admin, text)
    assert result.imported == 0 and result.errors
    assert Interaction.objects.count() == 0


def test_api_import(world, book, client):
    token = token_for(world.city_a1_rep)
    text = f"客户编码,类型,时间,主题\n{book.rep.code},电话,2026-03-01,电话回访\n"
    upload = SimpleUploadedFile("跟进.csv", text.encode("gbk"), content_type="text/csv")
    r = client.post("/api/v1/interactions/import", {"file": upload, "dry_run": "true"},
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200, r.content
    assert r.json() == {"dry_run": True, "total_rows": 1, "imported": 0, "errors": []}
    upload = SimpleUploadedFile("跟进.csv", (text + f"{book.rep.code},传真,2026-03-01,x\n")
                                .encode("gbk"), content_type="text/csv")
    r = client.post("/api/v1/interactions/import", {"file": upload},
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r.json()["imported"] == 0
    assert r.json()["errors"][0]["row"] == 3
    upload = SimpleUploadedFile("跟进.csv", text.encode("gbk"), content_type="text/csv")
    r = client.post("/api/v1/interactions/import", {"file": upload},
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.json()["imported"] == 1 and Interaction.objects.count() == 1


def test_import_page(world, book, client):
    client.force_login(world.city_a1_rep)
    assert client.get("/interactions/import/").status_code == 200
    text = f"客户编码,类型,时间,主题\n{book.rep.code},传真,2026-03-01,x\n"
    upload = SimpleUploadedFile("跟进.csv", text.encode("gbk"), content_type="text/csv")
    r = client.post("/interactions/import/", {"file": upload})
    assert r.status_code == 422
    assert "传真" in r.content.decode() and Interaction.objects.count() == 0


def test_forged_xlsx_without_the_columns_is_refused_from_its_header(world, book, tmp_path):
    from kehu.customers.tests.test_imports import forged_xlsx

    path = forged_xlsx(tmp_path / "跟进.xlsx", ["客户", "备注"], 20000)
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as exc:
        import_interactions(actor=world.hq_admin, file_name="跟进.xlsx",
                            chunks=[path.read_bytes()])
    assert "、" in str(exc.value.fields["file"])  # "Missing columns: …、…"
    assert time.monotonic() - started < 5
    assert not Interaction.objects.exists()
