"""Documents: storage limits, visibility per persona, download headers, API and pages."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from kehu.core.exceptions import Forbidden, NotFound, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.tests.test_api import API, api_as, assert_error, token_for
from kehu.documents import services, storage
from kehu.documents.models import Document
from kehu.documents.testing import SAMPLE_PDF

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


def ooxml(prefix: str = "word/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{prefix}document.xml", "<x/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def files_in(data_dir: Path) -> list[Path]:
    folder = data_dir / "documents"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def rep_upload(world: Any, book: Any, name: str = "方案.pdf",
               content: bytes = SAMPLE_PDF) -> Document:
    return services.document_upload(actor=world.city_a1_rep, file_name=name,
                                    chunks=[content], customer_id=book.rep.pk)


# ---------------------------------------------------------------------------- storage


def test_upload_stores_under_a_generated_name_with_its_hash(world, book, data_dir):
    doc = rep_upload(world, book, "白云机场扩容方案（第二版）.pdf")
    assert doc.file_name == "白云机场扩容方案（第二版）.pdf"
    assert doc.content_type == "application/pdf"
    assert doc.size == len(SAMPLE_PDF)
    assert doc.sha256 == hashlib.sha256(SAMPLE_PDF).hexdigest()
    assert doc.owner_id == world.city_a1_rep.pk
    assert doc.org_unit_id == world.city_a1.pk
    path = data_dir / "documents" / str(world.tenant.pk) / doc.storage_name
    assert path.read_bytes() == SAMPLE_PDF
    assert len(doc.storage_name) == 32 and "方案" not in doc.storage_name
    assert files_in(data_dir) == [path]
    event = AuditEvent.objects.get(action="document.upload", object_id=str(doc.pk))
    assert "PDF-1.4" not in str(event.changes)


def test_upload_streams_chunks(world, book, data_dir):
    chunks = [b"%PDF-1.7\n", b"x" * 100_000, b"\n%%EOF"]
    doc = services.document_upload(actor=world.city_a1_rep, file_name="big.pdf",
                                   chunks=iter(chunks), customer_id=book.rep.pk)
    assert doc.size == sum(map(len, chunks))
    assert doc.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_too_large_is_refused_and_nothing_is_left(world, book, data_dir, settings):
    settings.KEHU_DOCUMENT_MAX_MB = 1
    seen: list[int] = []

    def chunks():
        yield b"%PDF-1.4\n"
        for i in range(10):
            seen.append(i)
            yield b"x" * (300 * 1024)

    with pytest.raises(ValidationFailed) as info:
        services.document_upload(actor=world.city_a1_rep, file_name="大.pdf", chunks=chunks(),
                                 customer_id=book.rep.pk)
    assert "1 MB" in str(info.value.fields["file"][0])
    assert len(seen) < 5  # stopped as soon as the limit passed, not at the end
    assert files_in(data_dir) == []
    assert not Document.objects.exists()


@pytest.mark.parametrize(("name", "content"), [
    ("病毒.exe", b"MZ\x90\x00"),
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
    ("archive.rar", b"Rar!\x1a\x07\x00"),
    ("noext", SAMPLE_PDF),
    ("photo.png", b"<html><body>not an image</body></html>"),
    ("photo.png", JPEG),
    ("scan.pdf", PNG),
    ("report.docx", b"PK\x03\x04" + b"\x00" * 30),
    ("report.docx", ooxml("xl/")),
    ("old.doc", b"plain text pretending"),
    ("notes.txt", b"<!DOCTYPE html><html></html>"),
    ("notes.txt", b"\xff\xfe\x00\x00binary\x00\x00"),
    ("empty.pdf", b""),
])
def test_wrong_type_or_mismatched_content_is_refused(world, book, data_dir, name, content):
    with pytest.raises(ValidationFailed) as info:
        rep_upload(world, book, name, content)
    assert info.value.fields["file"]
    assert files_in(data_dir) == []
    assert not Document.objects.exists()


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("照片.PNG", PNG, "image/png"),
    ("photo.jpeg", JPEG, "image/jpeg"),
    ("anim.gif", b"GIF89a" + b"\x00" * 10, "image/gif"),
    ("pic.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    ("合同.docx", ooxml("word/"), storage.OOXML[".docx"][0]),
    ("报价.xlsx", ooxml("xl/"), storage.OOXML[".xlsx"][0]),
    ("old.xls", storage.OLE + b"\x00" * 20, "application/vnd.ms-excel"),
    ("名单.csv", "姓名,电话\n王经理,13611112222\n".encode(), "text/csv"),
    ("名单.txt", "客户说明".encode("gb18030"), "text/plain"),
])
def test_allowed_types_get_the_servers_content_type(world, book, name, content, kind):
    assert rep_upload(world, book, name, content).content_type == kind


def test_refusal_messages_in_chinese_and_english(world, book):
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        rep_upload(world, book, "x.png", b"<html>")
    assert "does not match" in str(info.value.fields["file"][0])
    with translation.override("en"), pytest.raises(ValidationFailed) as info:
        rep_upload(world, book, "x.exe", b"MZ")
    assert "harmful" in str(info.value.fields["file"][0])


def test_exactly_one_visible_parent(world, book, engagement, data_dir):
    rep = world.city_a1_rep
    before = Document.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.document_upload(actor=rep, file_name="a.pdf", chunks=[SAMPLE_PDF])
    assert "parent" in info.value.fields
    with pytest.raises(ValidationFailed):
        services.document_upload(actor=rep, file_name="a.pdf", chunks=[SAMPLE_PDF],
                                 customer_id=book.rep.pk, contact_id=book.rep_contact.pk)
    # A customer of another branch or another tenant: refused, nothing stored.
    for customer in (book.prov_b, book.other_tenant):
        with pytest.raises(ValidationFailed) as info:
            services.document_upload(actor=rep, file_name="a.pdf", chunks=[SAMPLE_PDF],
                                     customer_id=customer.pk)
        assert "customer_id" in info.value.fields
    with pytest.raises(ValidationFailed):
        services.document_upload(actor=world.prov_b_manager, file_name="a.pdf",
                                 chunks=[SAMPLE_PDF], interaction_id=engagement.interaction.pk)
    assert Document.objects.count() == before
    assert len(files_in(data_dir)) == before
    # Contacts and interactions the rep sees are fine.
    on_contact = services.document_upload(actor=rep, file_name="名片.png", chunks=[PNG],
                                          contact_id=book.rep_contact.pk)
    on_interaction = services.document_upload(actor=rep, file_name="纪要.pdf",
                                              chunks=[SAMPLE_PDF],
                                              interaction_id=engagement.interaction.pk)
    assert (on_contact.target_type, on_contact.target_id) == ("customers.contact",
                                                              book.rep_contact.pk)
    assert (on_interaction.target_type, on_interaction.target_id) == (
        "activities.interaction", engagement.interaction.pk)


# ---------------------------------------------------------------------------- visibility


def test_visibility_per_persona(world, book):
    doc = rep_upload(world, book)
    mine = services.document_upload(actor=world.prov_b_manager, file_name="b.pdf",
                                    chunks=[SAMPLE_PDF], customer_id=book.prov_b.pk)
    expected = {
        world.city_a1_rep: {doc.pk}, world.city_a1_manager: {doc.pk},
        world.prov_a_manager: {doc.pk}, world.hq_admin: {doc.pk, mine.pk},
        world.prov_b_manager: {mine.pk}, world.other_tenant_admin: set(),
    }
    for persona, ids in expected.items():
        seen = {d["id"] for d in api_as(persona).get("/documents").data["items"]}
        assert seen == ids, persona
    for persona in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            services.document_download(actor=persona, document_id=doc.pk)
        assert_error(api_as(persona).get(f"/documents/{doc.pk}/download"), 404, "not_found")
        assert_error(api_as(persona).get(f"/documents/{doc.pk}"), 404, "not_found")


def test_document_follows_its_customer(world, book):
    """A manager's upload on the rep's customer is visible to the rep (through the
    customer), though the rep does not own it."""
    doc = services.document_upload(actor=world.city_a1_manager, file_name="经理.pdf",
                                   chunks=[SAMPLE_PDF], customer_id=book.rep.pk)
    assert services.document_get(actor=world.city_a1_rep, document_id=doc.pk) == doc


def test_denied_delete_changes_nothing(world, book, data_dir):
    doc = services.document_upload(actor=world.city_a1_manager, file_name="经理.pdf",
                                   chunks=[SAMPLE_PDF], customer_id=book.rep.pk)
    path = storage.stored_path(doc.tenant_id, doc.storage_name)
    # The rep sees it (their customer) but neither uploaded it nor manages.
    with pytest.raises(Forbidden):
        services.document_delete(actor=world.city_a1_rep, document_id=doc.pk)
    for persona in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(NotFound):
            services.document_delete(actor=persona, document_id=doc.pk)
        r = api_as(persona).delete(f"/documents/{doc.pk}", If_Match='"1"')
        assert_error(r, 404, "not_found")
    r = api_as(world.city_a1_rep).delete(f"/documents/{doc.pk}", If_Match='"1"')
    assert_error(r, 403, "permission_denied")
    assert Document.objects.filter(pk=doc.pk).exists()
    assert path.exists()
    assert not AuditEvent.objects.filter(action="document.delete").exists()


def test_delete_by_owner_and_by_manager_removes_the_file(
        world, book, django_capture_on_commit_callbacks):
    own = rep_upload(world, book)
    other = rep_upload(world, book, "第二.pdf")
    paths = [storage.stored_path(d.tenant_id, d.storage_name) for d in (own, other)]
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(actor=world.city_a1_rep, document_id=own.pk,
                                 expected_version=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(actor=world.city_a1_manager, document_id=other.pk)
    assert not Document.objects.exists()
    assert not paths[0].exists() and not paths[1].exists()
    assert AuditEvent.objects.filter(action="document.delete").count() == 2


# ---------------------------------------------------------------------------- API


def test_api_upload_list_get_download_delete(world, book, data_dir):
    client = Client()
    token = token_for(world.city_a1_rep)
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post(f"{API}/documents", {
        "file": _named(io.BytesIO(SAMPLE_PDF), "白云方案.pdf"), "customer_id": book.rep.pk,
        "description": "第一版"}, headers=auth)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["file_name"] == "白云方案.pdf" and body["content_type"] == "application/pdf"
    assert r["ETag"] == '"1"'
    doc_id = body["id"]
    listing = api_as(world.city_a1_rep).get("/documents", customer_id=book.rep.pk).data
    assert [d["id"] for d in listing["items"]] == [doc_id]
    assert api_as(world.city_a1_rep).get("/documents", contact_id=book.rep_contact.pk
                                         ).data["items"] == []
    r = client.get(f"{API}/documents/{doc_id}/download", headers=auth)
    assert r.status_code == 200
    assert b"".join(cast(Any, r).streaming_content) == SAMPLE_PDF
    assert r["Content-Type"] == "application/pdf"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"] == "sandbox"
    assert "no-store" in r["Cache-Control"]
    disposition = r["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=utf-8''%E7%99%BD%E4%BA%91%E6%96%B9%E6%A1%88.pdf" in disposition
    assert AuditEvent.objects.filter(action="document.download",
                                     object_id=str(doc_id)).count() == 1
    # Delete needs If-Match.
    assert_error(api_as(world.city_a1_rep).delete(f"/documents/{doc_id}"), 428,
                 "precondition_required")
    assert_error(api_as(world.city_a1_rep).delete(f"/documents/{doc_id}", If_Match='"7"'),
                 412, "precondition_failed")
    assert api_as(world.city_a1_rep).delete(f"/documents/{doc_id}",
                                            If_Match='"1"').status == 204
    assert not Document.objects.exists()


def test_api_upload_errors(world, book, data_dir):
    client = Client()
    auth = {"Authorization": f"Bearer {token_for(world.city_a1_rep)}",
            "Accept-Language": "en"}
    r = client.post(f"{API}/documents", {"file": _named(io.BytesIO(b"<html>"), "x.png"),
                                         "customer_id": book.rep.pk}, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["fields"]["file"]
    r = client.post(f"{API}/documents", {"file": _named(io.BytesIO(SAMPLE_PDF), "x.pdf")},
                    headers=auth)
    assert r.status_code == 422 and "parent" in r.json()["error"]["fields"]
    r = client.post(f"{API}/documents", {"file": _named(io.BytesIO(SAMPLE_PDF), "x.pdf"),
                                         "customer_id": book.prov_b.pk}, headers=auth)
    assert r.status_code == 422 and "customer_id" in r.json()["error"]["fields"]
    assert files_in(data_dir) == [] and not Document.objects.exists()


def test_api_list_queries_stay_flat(world, book):
    client = api_as(world.city_a1_manager)

    def count() -> int:
        client.get("/auth/me")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/documents").status == 200
        return len(ctx.captured_queries)

    rep_upload(world, book)
    before = count()
    for i in range(6):
        rep_upload(world, book, f"文件{i}.png", PNG)
    assert count() == before


def _named(handle: io.BytesIO, name: str) -> io.BytesIO:
    handle.name = name
    return handle


# ---------------------------------------------------------------------------- pages


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_download_and_preview_pages(world, book):
    pdf = rep_upload(world, book, "方案.pdf")
    png = rep_upload(world, book, "照片.png", PNG)
    client = signed_in(world.city_a1_rep)
    r = client.get(reverse("document_download", args=[pdf.pk]))
    assert r.status_code == 200 and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith("attachment")
    r = client.get(reverse("document_preview", args=[png.pk]))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("inline")
    assert r["Content-Type"] == "image/png" and r["Content-Security-Policy"] == "sandbox"
    assert client.get(reverse("document_preview", args=[pdf.pk])).status_code == 404
    outsider = signed_in(world.prov_b_manager)
    for name in ("document_download", "document_preview"):
        assert outsider.get(reverse(name, args=[png.pk])).status_code == 404
    assert signed_in(world.other_tenant_admin).get(
        reverse("document_download", args=[pdf.pk])).status_code == 404


def test_customer_panel_lists_and_uploads(world, book, data_dir):
    rep_upload(world, book, "照片.png", PNG)
    client = signed_in(world.city_a1_rep)
    page = client.get(reverse("customer_detail", args=[book.rep.pk]))
    html = page.content.decode()
    assert 'data-testid="panel-documents"' in html
    assert "照片.png" in html and 'data-testid="document-thumb"' in html
    assert 'enctype="multipart/form-data"' in html
    back = reverse("customer_detail", args=[book.rep.pk])
    r = client.post(reverse("document_upload"), {
        "file": _named(io.BytesIO(SAMPLE_PDF), "报价单.pdf"), "customer": book.rep.pk,
        "next": back})
    assert r.status_code == 302 and r["Location"] == back
    assert Document.objects.filter(file_name="报价单.pdf", target_type="customers.customer",
                                   target_id=book.rep.pk).exists()
    # A refused upload comes back on the upload page with the reason next to the file.
    with translation.override("en"):
        r = client.post(reverse("document_upload"), {
            "file": _named(io.BytesIO(b"MZ"), "x.exe"), "customer": book.rep.pk,
            "next": back}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422
    assert "harmful" in r.content.decode() or "程序" in r.content.decode()
    data = api_as(world.city_a1_rep).get(f"/customers/{book.rep.pk}/view").data
    assert {d["file_name"] for d in data["panels"]["documents"]["items"]} == {
        "照片.png", "报价单.pdf"}


def test_customer_view_queries_flat_with_documents(world, book):
    client = api_as(world.city_a1_manager)

    def count() -> int:
        client.get("/auth/me")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/customers/{book.rep.pk}/view").status == 200
        return len(ctx.captured_queries)

    rep_upload(world, book)
    before = count()
    for i in range(5):
        rep_upload(world, book, f"f{i}.pdf")
        services.document_upload(actor=world.city_a1_manager, file_name=f"m{i}.png",
                                 chunks=[PNG], customer_id=book.rep.pk)
    assert count() == before


def test_contact_page_shows_attachments(world, book):
    doc = services.document_upload(actor=world.city_a1_rep, file_name="名片.png",
                                   chunks=[PNG], contact_id=book.rep_contact.pk)
    html = signed_in(world.city_a1_rep).get(
        reverse("contact_detail", args=[book.rep_contact.pk])).content.decode()
    assert 'data-testid="attachments"' in html and doc.file_name in html
    assert reverse("document_download", args=[doc.pk]) in html


def test_delete_page_action(world, book, django_capture_on_commit_callbacks):
    doc = rep_upload(world, book)
    back = reverse("customer_detail", args=[book.rep.pk])
    # prov_b_manager: 404 and nothing changes.
    r = signed_in(world.prov_b_manager).post(reverse("document_delete", args=[doc.pk]),
                                             {"next": back, "expected_version": 1})
    assert r.status_code == 404 and Document.objects.filter(pk=doc.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = signed_in(world.city_a1_rep).post(reverse("document_delete", args=[doc.pk]),
                                              {"next": back, "expected_version": 1})
    assert r.status_code == 302 and not Document.objects.filter(pk=doc.pk).exists()


def test_merge_moves_documents(world, book):
    from kehu.customers.services import merge as merge_services

    doc = services.document_upload(actor=world.hq_admin, file_name="并购.pdf",
                                   chunks=[SAMPLE_PDF], customer_id=book.city_a1.pk)
    preview = merge_services.merge_preview(actor=world.hq_admin, survivor_id=book.rep.pk,
                                           loser_id=book.city_a1.pk)
    assert preview["moves"][gettext("documents")] == 1
    merge_services.customer_merge(actor=world.hq_admin, survivor_id=book.rep.pk,
                                  loser_id=book.city_a1.pk)
    doc.refresh_from_db()
    assert (doc.target_type, doc.target_id) == ("customers.customer", book.rep.pk)


def test_other_tenant_cannot_upload_onto_or_read_our_records(world, book, engagement,
                                                             data_dir):
    before = sorted(files_in(data_dir))
    count = Document.objects.count()
    client = Client()
    auth = {"Authorization": f"Bearer {token_for(world.other_tenant_admin)}"}
    for field, pk in (("customer_id", book.rep.pk), ("contact_id", book.rep_contact.pk),
                      ("interaction_id", engagement.interaction.pk)):
        r = client.post(f"{API}/documents", {
            "file": _named(io.BytesIO(SAMPLE_PDF), "x.pdf"), field: pk}, headers=auth)
        assert r.status_code == 422 and field in r.json()["error"]["fields"]
    assert Document.objects.count() == count
    assert sorted(files_in(data_dir)) == before
    r = client.get(f"{API}/documents/{engagement.document.pk}/download", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_attachments_tag_on_an_interaction(world, book, engagement, rf):
    from django.template import Context, Template

    doc = services.document_upload(actor=world.city_a1_rep, file_name="纪要.pdf",
                                   chunks=[SAMPLE_PDF], interaction_id=engagement.interaction.pk)
    template = Template("{% load documents %}{% attachments obj %}")
    request = rf.get("/interactions/1/")
    for persona, shown in ((world.city_a1_rep, True), (world.city_a1_manager, True),
                           (world.prov_b_manager, False)):
        request.user = persona
        html = template.render(Context({"obj": engagement.interaction, "request": request}))
        assert (doc.file_name in html) is shown, persona
        assert 'name="interaction"' in html  # the upload form aims at the interaction


def test_upload_page_shows_the_limits(world, book, settings):
    settings.KEHU_DOCUMENT_MAX_MB = 7
    client = signed_in(world.city_a1_rep)
    with translation.override("en"):
        r = client.get(reverse("document_upload"), {"customer": book.rep.pk},
                       HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert r.status_code == 200 and "7 MB" in html and "pdf" in html
    assert f'value="{book.rep.pk}"' in html
    # An unsafe "next" is ignored: back to the home page.
    r = client.post(reverse("document_upload"), {
        "file": _named(io.BytesIO(SAMPLE_PDF), "a.pdf"), "customer": book.rep.pk,
        "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == reverse("home")
