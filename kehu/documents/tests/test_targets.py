"""Attachment targets: any registered record carries files, visibility follows it; the
generic ``target_type`` + ``target_id`` doors; what other apps read (counts, the delete
guard) and the merge hook."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.tests.test_api import API, api_as, token_for
from kehu.documents import registry, selectors, services
from kehu.documents.models import Document
from kehu.documents.testing import SAMPLE_PDF

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def task_target(monkeypatch: pytest.MonkeyPatch) -> str:
    """Tasks registered as an attachment target for the test only (as an app would in
    its AppConfig.ready)."""
    from kehu.activities.models import Task

    monkeypatch.setattr(registry, "TARGETS", dict(registry.TARGETS))
    registry.register_attachment_target("tests.task", Task, label="task")
    return "tests.task"


def _named(content: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_a_model_registered_from_outside_carries_files(world, book, engagement, rf,
                                                       task_target):
    task = engagement.task  # the rep's task, in city A1
    doc = services.document_upload(actor=world.city_a1_manager, file_name="报价.pdf",
                                   chunks=[SAMPLE_PDF], target_type=task_target,
                                   target_id=task.pk)
    assert (doc.target_type, doc.target_id) == (task_target, task.pk)
    assert doc.target == task
    # Visibility follows the task: the rep (its assignee) sees the manager's file.
    expected = {world.city_a1_rep: True, world.city_a1_manager: True,
                world.prov_a_manager: True, world.hq_admin: True,
                world.prov_b_manager: False, world.other_tenant_admin: False}
    for persona, shown in expected.items():
        visible = Document.objects.visible_to(persona).filter(pk=doc.pk).exists()
        assert visible is shown, persona
        listed = selectors.document_list(actor=persona, target_type=task_target,
                                         target_id=task.pk)
        assert [d.pk for d in listed] == ([doc.pk] if shown else []), persona
        if not shown:
            with pytest.raises(NotFound):
                services.document_download(actor=persona, document_id=doc.pk)
    # The task given to someone else: the rep no longer sees its file.
    type(task).objects.filter(pk=task.pk).update(owner=world.city_a1_manager)
    assert not Document.objects.visible_to(world.city_a1_rep).filter(pk=doc.pk).exists()
    type(task).objects.filter(pk=task.pk).update(owner=world.city_a1_rep)
    # Its short name works too (``task_id=``), and the tag renders on a task.
    assert [d.pk for d in selectors.document_list(actor=world.city_a1_rep,
                                                  task_id=task.pk)] == [doc.pk]
    request = rf.get("/tasks/")
    request.user = world.city_a1_rep
    html = Template("{% load documents %}{% attachments obj %}").render(
        Context({"obj": task, "request": request}))
    assert "报价.pdf" in html and 'name="task"' in html


def test_upload_needs_a_visible_record_of_the_registered_type(world, book, engagement,
                                                              task_target):
    task = engagement.task
    before = Document.objects.count()
    for persona in (world.prov_b_manager, world.other_tenant_admin):
        with pytest.raises(ValidationFailed) as info:
            services.document_upload(actor=persona, file_name="a.pdf", chunks=[SAMPLE_PDF],
                                     target_type=task_target, target_id=task.pk)
        assert "target_id" in info.value.fields
    with pytest.raises(ValidationFailed) as info:
        services.document_upload(actor=world.hq_admin, file_name="a.pdf",
                                 chunks=[SAMPLE_PDF], target_type="nowhere.thing",
                                 target_id=task.pk)
    assert "target_type" in info.value.fields
    # Exactly one target: a generic one and a named one together are refused.
    with pytest.raises(ValidationFailed) as info:
        services.document_upload(actor=world.hq_admin, file_name="a.pdf",
                                 chunks=[SAMPLE_PDF], target_type=task_target,
                                 target_id=task.pk, customer_id=book.rep.pk)
    assert "parent" in info.value.fields
    with pytest.raises(TypeError):
        services.document_upload(actor=world.hq_admin, file_name="a.pdf",
                                 chunks=[SAMPLE_PDF], nothing_id=1)
    assert Document.objects.count() == before


def test_generic_target_through_the_api_and_the_page(world, book, data_dir):
    auth = {"Authorization": f"Bearer {token_for(world.city_a1_rep)}"}
    r = Client().post(f"{API}/documents", {
        "file": _named(SAMPLE_PDF, "通用.pdf"), "target_type": "customers.customer",
        "target_id": book.rep.pk}, headers=auth)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["target_type"] == "customers.customer" and body["target_id"] == book.rep.pk
    assert body["customer_id"] == book.rep.pk and body["contact_id"] is None
    listing = api_as(world.city_a1_rep).get(
        "/documents", target_type="customers.customer", target_id=book.rep.pk).data
    assert [d["id"] for d in listing["items"]] == [body["id"]]
    assert api_as(world.city_a1_rep).get(
        "/documents", target_type="customers.contact", target_id=book.rep.pk
    ).data["items"] == []
    client = Client()
    client.force_login(world.city_a1_rep)
    page = client.get(reverse("document_upload"),
                      {"target_type": "customers.contact", "target_id": book.rep_contact.pk})
    assert page.status_code == 200 and 'value="customers.contact"' in page.content.decode()
    r = client.post(reverse("document_upload"), {
        "file": _named(SAMPLE_PDF, "名片.pdf"), "target_type": "customers.contact",
        "target_id": book.rep_contact.pk})
    assert r.status_code == 302
    assert Document.objects.filter(file_name="名片.pdf", target_type="customers.contact",
                                   target_id=book.rep_contact.pk).exists()
    r = client.post(reverse("document_upload"), {
        "file": _named(SAMPLE_PDF, "x.pdf"), "target_type": "customers.contact",
        "target_id": book.prov_b.pk})
    assert r.status_code == 422 and not Document.objects.filter(file_name="x.pdf").exists()


def test_interaction_files_count_on_the_timeline_and_block_its_delete(
        world, book, engagement, django_capture_on_commit_callbacks):
    from kehu.activities.selectors.interactions import customer_timeline
    from kehu.activities.services.interactions import interaction_delete

    interaction = engagement.interaction
    for name in ("纪要.pdf", "附件.pdf"):
        services.document_upload(actor=world.city_a1_rep, file_name=name,
                                 chunks=[SAMPLE_PDF], interaction_id=interaction.pk)
    items = customer_timeline(actor=world.city_a1_rep, customer=book.rep)["items"]
    assert [i["document_count"] for i in items if i["id"] == interaction.pk] == [2]
    assert selectors.counts_for(actor=world.city_a1_rep, target_type="activities.interaction",
                                ids=[interaction.pk]) == {interaction.pk: 2}
    assert selectors.counts_for(actor=world.prov_b_manager,
                                target_type="activities.interaction",
                                ids=[interaction.pk]) == {}
    # The interaction's files show on its customer's panel.
    panel = selectors.panel_for(world.city_a1_rep, book.rep)
    assert {"纪要.pdf", "附件.pdf", "方案.pdf"} == {d["file_name"] for d in panel["items"]}
    with pytest.raises(Conflict):
        interaction_delete(actor=world.city_a1_manager, interaction_id=interaction.pk)
    for doc in Document.objects.filter(target_type="activities.interaction"):
        with django_capture_on_commit_callbacks(execute=True):
            services.document_delete(actor=world.city_a1_manager, document_id=doc.pk)
    interaction_delete(actor=world.city_a1_manager, interaction_id=interaction.pk)


def test_retarget_moves_one_records_files_within_its_tenant(world, book, engagement):
    moved = services.document_upload(actor=world.hq_admin, file_name="并购.pdf",
                                     chunks=[SAMPLE_PDF], customer_id=book.city_a1.pk)
    count = services.documents_retarget(tenant_id=world.tenant.pk,
                                        target_type="customers.customer",
                                        from_id=book.city_a1.pk, to_id=book.rep.pk)
    assert count == 1
    moved.refresh_from_db()
    assert (moved.target_type, moved.target_id) == ("customers.customer", book.rep.pk)
    # Another tenant's id or another type moves nothing.
    assert services.documents_retarget(tenant_id=world.other_tenant.pk,
                                       target_type="customers.customer",
                                       from_id=book.rep.pk, to_id=book.hq.pk) == 0
    assert services.documents_retarget(tenant_id=world.tenant.pk,
                                       target_type="customers.contact",
                                       from_id=book.rep.pk, to_id=book.hq.pk) == 0
    assert Document.objects.filter(target_type="customers.customer",
                                   target_id=book.rep.pk).count() == 2
