"""Exports of customers and contacts: who may export what, masking in every cell,
formula neutralisation, file formats, streaming and the audit trail."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from kehu.core.models import AuditEvent, User
from kehu.core.tests.test_api import token_for
from kehu.core.tests.test_views import client_for
from kehu.customers.models import Customer
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.services import common as common_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import exports
from kehu.customers.testing import ID_NUMBER

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/exports"


def post_export(user: User, body: dict[str, Any], client: Client | None = None) -> Any:
    client = client or Client()
    return client.post(EXPORTS, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")


def content(response: Any) -> bytes:
    # Reading to the end closes the response, as a WSGI server does (the test client
    # wraps the stream for that): the temporary XLSX file is deleted then.
    return b"".join(response.streaming_content)


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    raw = content(response)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.content
    book = load_workbook(io.BytesIO(content(response)))
    return [[cell.value for cell in row] for sheet in book.worksheets
            for row in sheet.iter_rows()]


def names_in(rows: list[list[Any]]) -> set[str]:
    return {row[1] for row in rows[1:]}


def customer_header() -> list[str]:
    with translation.override("zh-hans"):
        return [str(label) for label, _value in exports.CUSTOMER_COLUMNS]


def export_events(action: str = "customer.export") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# ---------------------------------------------------------------------------- visibility


@pytest.mark.parametrize(("persona", "expected"), [
    ("hq_admin", {"hq", "prov_a", "city_a1", "rep", "prov_b", "person"}),
    ("analyst", {"hq", "prov_a", "city_a1", "rep", "prov_b", "person"}),
    ("prov_a_manager", {"prov_a", "city_a1", "rep", "person"}),
    ("city_a1_manager", {"city_a1", "rep", "person"}),
    ("prov_b_manager", {"prov_b"}),
    ("other_tenant_admin", {"other_tenant"}),
])
def test_each_persona_exports_exactly_what_they_may(world, book, persona, expected):
    actor = getattr(world, persona)
    rows = csv_rows(post_export(actor, {"entity": "customers", "format": "csv"}))
    assert rows[0] == customer_header()
    assert names_in(rows) == {getattr(book, key).name for key in expected}
    event = export_events()[-1]
    assert event.actor == actor
    assert event.changes["rows"] == len(expected)
    assert event.changes["format"] == "csv"


@pytest.mark.parametrize("entity", ["customers", "contacts"])
def test_account_manager_without_export_gets_403_and_an_audited_denial(world, book, entity):
    response = post_export(world.city_a1_rep, {"entity": entity, "format": "csv"})
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["code"] == "permission_denied"
    denial = AuditEvent.objects.get(action="permission_denied", actor=world.city_a1_rep)
    assert denial.changes == {"permission": f"{entity}.export"}
    assert not AuditEvent.objects.filter(action__endswith=".export").exists()


def test_export_page_refuses_without_permission_and_audits(world, book):
    response = client_for(world.city_a1_rep).get(reverse("customer_export"))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="permission_denied", actor=world.city_a1_rep,
                                     changes__permission="customers.export").exists()
    assert not export_events()


def test_filters_apply_and_are_audited(world, book):
    rows = csv_rows(post_export(world.hq_admin, {
        "entity": "customers", "filters": {"region": "440000", "q": "13812345678"}}))
    assert names_in(rows) == {book.rep.name}
    event = export_events()[-1]
    # The search text is a phone number: the audit log keeps it masked.
    assert event.changes["filters"] == {"region": "440000", "q": "138****5678",
                                        "ordering": "-created"}
    assert event.changes["rows"] == 1


@pytest.mark.parametrize("entity", ["customers", "contacts"])
def test_filters_aimed_at_another_tenant_export_nothing_of_it(world, book, entity):
    intruder = world.other_tenant_admin
    if entity == "customers":
        cases = [{"owner_id": world.city_a1_rep.pk}, {"org_unit_id": world.prov_a.pk},
                 {"parent_id": book.hq.pk}, {"q": "白云"}, {"q": ID_NUMBER}]
    else:
        cases = [{"customer_id": book.rep.pk}, {"q": "王经理"}]
    for filters in cases:
        rows = csv_rows(post_export(intruder, {"entity": entity, "filters": filters}))
        assert rows[1:] == [], filters
        assert export_events(f"{entity[:-1]}.export")[-1].changes["rows"] == 0


def test_unknown_or_bad_filters_are_refused_and_nothing_is_exported(world, book):
    response = post_export(world.hq_admin, {"entity": "customers",
                                            "filters": {"owner": 1, "quality_below": 500}})
    assert response.status_code == 422
    fields = json.loads(response.content)["error"]["fields"]
    assert set(fields) == {"filters.owner", "filters.quality_below"}
    response = post_export(world.hq_admin, {"entity": "customers", "format": "pdf"})
    assert response.status_code == 422
    assert not export_events()


def test_merged_customers_are_not_exported(world, book):
    from kehu.customers.services import merge as merge_services

    merge_services.customer_merge(actor=world.hq_admin, survivor_id=book.city_a1.pk,
                                  loser_id=book.rep.pk)
    rows = csv_rows(post_export(world.hq_admin, {"entity": "customers"}))
    assert book.rep.name not in names_in(rows)


# ---------------------------------------------------------------------------- masking


def all_cells(rows: list[list[Any]]) -> str:
    return "\n".join(str(cell) for row in rows for cell in row if cell is not None)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_every_sensitive_cell_is_masked(world, book, file_format):
    response = post_export(world.hq_admin, {"entity": "customers", "format": file_format})
    rows = csv_rows(response) if file_format == "csv" else xlsx_rows(response)
    text = all_cells(rows)
    for clear in (ID_NUMBER, "13700001234", "广州市天河区体育西路1号", "13812345678",
                  "01058501234", "057185022088", "13900001111"):
        assert clear not in text
    person = next(row for row in rows if row[1] == book.person.name)
    header = rows[0]
    assert person[header.index(customer_header()[5])] == "110***********002X"
    assert person[header.index(customer_header()[12])] == "137****1234"
    assert person[header.index(customer_header()[15])] == "广州市天***"


def test_contacts_export_masks_phones_and_follows_visibility(world, book):
    rows = csv_rows(post_export(world.city_a1_manager, {"entity": "contacts"}))
    assert [row[0] for row in rows[1:]] == ["王经理"]
    assert "13611112222" not in all_cells(rows)
    assert "136****2222" in all_cells(rows)
    assert "白云机场" in all_cells(rows)  # the customer the person works for
    assert export_events("contact.export")[-1].changes["rows"] == 1
    rows = csv_rows(post_export(world.prov_b_manager, {"entity": "contacts"}))
    assert rows[1:] == []


def test_reveal_needs_the_right_and_a_reason_and_is_audited(world, book):
    # An analyst may export but not reveal: refused, nothing exported.
    response = post_export(world.analyst, {"entity": "customers",
                                           "reveal_reason": "对账需要完整号码"})
    assert response.status_code == 403
    assert not export_events()
    response = post_export(world.prov_a_manager, {"entity": "customers", "reveal_reason": "x"})
    assert response.status_code == 422
    assert "reveal_reason" in json.loads(response.content)["error"]["fields"]
    assert not export_events()

    rows = csv_rows(post_export(world.prov_a_manager, {
        "entity": "customers", "reveal_reason": "与公安系统核对身份"}))
    text = all_cells(rows)
    assert ID_NUMBER in text and "13700001234" in text and "广州市天河区体育西路1号" in text
    event = export_events()[-1]
    assert event.changes["reason"] == "与公安系统核对身份"
    assert event.changes["revealed"] == ["id_number", "phones", "emails", "addresses"]


def test_reveal_covers_only_rows_in_the_reveal_scope(world, book):
    from kehu.core.models import Role

    # A custom role: export over the whole company, reveal only over one's own records.
    role = Role.objects.create(tenant=world.tenant, name="导出专员", data_scope="own",
                               permissions=["customers.view", "customers.export",
                                            "customers.reveal_pii"])
    exporter = world.city_a1_rep
    exporter.roles.set([role])
    tenant_role = Role.objects.create(tenant=world.tenant, name="全公司导出",
                                      data_scope="tenant",
                                      permissions=["customers.view", "customers.export"])
    exporter.roles.add(tenant_role)
    rows = csv_rows(post_export(exporter, {"entity": "customers", "reveal_reason": "核对资料"}))
    text = all_cells(rows)
    assert "13700001234" in text  # own customer: revealed
    assert "13900001111" not in text and "139****1111" in text  # another's: still masked


# ---------------------------------------------------------------------------- formulas


FORMULAS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "＝1+2", "＋1", "－1", "＠x"]


def formula_customers(world: Any) -> list[Customer]:
    made = []
    for i, text in enumerate(FORMULAS):
        customer = customer_services.customer_create(actor=world.hq_admin, name=f"公式公司{i}")
        # Stored as legacy data may hold them (the services fold full-width forms).
        Customer.objects.filter(pk=customer.pk).update(short_name=text)
        made.append(customer)
    return made


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_formula_cells_are_neutralised(world, file_format):
    formula_customers(world)
    customer = Customer.objects.get(name="公式公司0")
    customer.tags.set(common_services.tags_for(world.hq_admin, ["@tag"]))
    response = post_export(world.hq_admin, {"entity": "customers", "format": file_format,
                                            "filters": {"q": "公式公司"}})
    rows = csv_rows(response) if file_format == "csv" else xlsx_rows(response)
    short = customer_header().index(customer_header()[2])
    shorts = sorted(row[short] for row in rows[1:])
    expected = ["'" + text for text in FORMULAS]
    if file_format == "xlsx":  # XML reads a carriage return back as a line feed
        expected = [text.replace("\r", "\n") for text in expected]
    assert shorts == sorted(expected)
    tags = [row[16] for row in rows[1:] if row[16]]
    assert tags == ["'@tag"]
    for row in rows:
        for cell in row:
            if isinstance(cell, str) and cell:
                assert cell[0] not in "=+-@\t\r＝＋－＠", row


def test_xlsx_cells_are_text_not_formulas(world):
    formula_customers(world)
    response = post_export(world.hq_admin, {"entity": "customers", "format": "xlsx"})
    book = load_workbook(io.BytesIO(content(response)))
    for row in book.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_safe_cell_leaves_ordinary_values_alone():
    from kehu.core.spreadsheets import safe_cell

    assert safe_cell("13812345678") == "13812345678"
    assert safe_cell("+442071234567") == "'+442071234567"
    assert safe_cell("中国=电信") == "中国=电信"
    assert safe_cell(None) == ""
    assert safe_cell(87) == "87"


# ---------------------------------------------------------------------------- files


def test_csv_is_streamed_with_a_dated_utf8_file_name(world, book):
    response = post_export(world.hq_admin, {"entity": "customers", "format": "csv"})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="kehu-customers-')
    assert "filename*=UTF-8''" in disposition
    assert response["X-Export-Rows"] == "6"
    content(response)


def test_xlsx_goes_through_a_temporary_file_that_is_deleted(world, book):
    folder = Path(settings.DATA_DIR) / "exports"
    before = set(folder.glob("*")) if folder.exists() else set()
    response = post_export(world.prov_a_manager, {"entity": "customers", "format": "xlsx"})
    assert response.streaming
    assert response["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    assert ".xlsx" in response["Content-Disposition"]
    rows = xlsx_rows(response)  # reads everything and closes the response
    assert names_in(rows) == {book.prov_a.name, book.city_a1.name, book.rep.name,
                              book.person.name}
    assert rows[0] == customer_header()
    assert set(folder.glob("*")) == before


def test_xlsx_rolls_over_to_a_new_sheet(world, book, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_ROWS_PER_SHEET", 4)
    response = post_export(world.hq_admin, {"entity": "customers", "format": "xlsx"})
    workbook = load_workbook(io.BytesIO(content(response)))
    assert [sheet.max_row for sheet in workbook.worksheets] == [5, 3]  # header + rows


def test_a_large_export_is_read_in_chunks(world, django_assert_max_num_queries):
    # More rows than one chunk: all arrive, and the query count does not grow per row.
    Customer.objects.bulk_create(
        Customer(tenant=world.tenant, org_unit=world.hq, owner=world.hq_admin,
                 name=f"批量客户{i}", code=f"B{i:06d}", phones=[
                     {"number": f"139{i:08d}", "kind": "mobile", "ext": ""}])
        for i in range(exports.CHUNK_SIZE + 150))
    export = exports.customer_export(actor=world.hq_admin, file_format="csv")
    with django_assert_max_num_queries(10):
        lines = list(exports.csv_chunks(export))
    assert len(lines) == exports.CHUNK_SIZE + 150 + 1
    assert not any("13900000001" in line for line in lines)


def test_export_page_uses_the_list_filters(world, book):
    client = client_for(world.prov_a_manager)
    response = client.get(reverse("customer_export") + "?region=440100&format=xlsx")
    assert names_in(xlsx_rows(response)) == {book.city_a1.name, book.rep.name}
    response = client.get(reverse("customer_export") + "?format=doc")
    assert response.status_code == 422
    assert "csv" in response.content.decode()
    response = client_for(world.city_a1_manager).get(
        reverse("contact_export") + f"?customer_id={book.rep.pk}")
    assert [row[0] for row in csv_rows(response)[1:]] == ["王经理"]


def test_service_filters_are_the_list_filters(world, book):
    filters = customer_selectors.CustomerFilters(kind="individual")
    export = exports.customer_export(actor=world.hq_admin, filters=filters)
    assert export.rows == 1
    assert [line[1] for line in export.lines] == [book.person.name]
