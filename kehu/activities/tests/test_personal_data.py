"""Personal-data requests (PIPL Art. 44–47): the export holds every kind of data about the
person; erasure leaves no personal value in the rows, the search or the stored files while
the business records and a masked audit trail stay; both need their own permission; the
retention rule's dry run lists what the real run deletes, and nothing else."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from kehu.activities.models import Interaction
from kehu.core import audit
from kehu.core.exceptions import Forbidden, NotFound, StaleVersion, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.core.testing import World
from kehu.customers.models import Contact, Customer
from kehu.customers.selectors.search import search
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import privacy
from kehu.customers.services.customers import customer_update
from kehu.customers.testing import ID_NUMBER, Book
from kehu.documents import storage
from kehu.documents.models import Document
from kehu.documents.services import document_upload
from kehu.documents.testing import SAMPLE_PDF

pytestmark = pytest.mark.django_db

PERSONAL = ("张三", "13700001234", ID_NUMBER, "体育西路", "zhangsan@example.com", "李四",
            "13955556666", "lisi_wx")


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path


@pytest.fixture
def person(world: World, book: Book) -> dict[str, Any]:
    """张三, an individual customer, with everything Kehu can hold about a person."""
    rep = world.city_a1_rep
    customer = customer_update(actor=rep, customer_id=book.person.pk,
                               emails=["zhangsan@example.com"],
                               consent={"sms": True}, notes="张三喜欢早上联系")
    contact = contact_services.contact_create(
        actor=rep, name="李四", customer_id=customer.pk, phones=["13955556666"],
        wechat="lisi_wx", link={"title": "配偶"})
    interaction = Interaction.objects.create(
        tenant=world.tenant, org_unit=world.city_a1, owner=rep, kind="call",
        channel="phone", customer=customer, subject="张三咨询宽带续费",
        content="张三说 13700001234 晚上可接")
    interaction.contacts.add(contact)
    document = document_upload(actor=rep, file_name="张三身份证.pdf", chunks=[SAMPLE_PDF],
                               customer_id=customer.pk, description="张三的材料")
    return {"customer": Customer.objects.get(pk=customer.pk), "contact": contact,
            "interaction": interaction, "document": document}


def read_zip(data: bytes) -> tuple[dict[str, Any], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return json.loads(archive.read("personal-data.json")), archive


def test_export_holds_each_kind_of_data(world: World, person: dict[str, Any]) -> None:
    customer = person["customer"]
    name, data = privacy.personal_data_export(
        actor=world.hq_admin, subject_type="customer", record_id=customer.pk,
        reason="本人依法申请查阅（工单 2031-88）")
    assert name == f"personal-data-customer-{customer.pk}.zip"
    content, archive = read_zip(data)
    assert content["record"]["name"] == "张三"
    assert content["record"]["id_number"] == ID_NUMBER  # in full: it is the person's own
    assert content["record"]["phones"][0]["number"].endswith("13700001234") or \
        "13700001234" in json.dumps(content["record"]["phones"])
    assert [c["name"] for c in content["contacts"]] == ["李四"]
    assert [i["subject"] for i in content["interactions"]] == ["张三咨询宽带续费"]
    assert content["consents"] == {"sms": True}
    assert [d["file_name"] for d in content["documents"]] == ["张三身份证.pdf"]
    assert archive.read(content["documents"][0]["file"]) == SAMPLE_PDF
    assert {"customer.create", "customer.update"} <= {a["action"] for a in content["audit"]}
    sheets = load_workbook(io.BytesIO(archive.read("personal-data.xlsx"))).sheetnames
    assert {"record", "contacts", "interactions", "documents", "consents", "audit"} <= set(
        sheets)
    event = AuditEvent.objects.filter(action="privacy.export").get()
    assert event.object_id == str(customer.pk)
    assert event.changes["reason"][1] == "本人依法申请查阅（工单 2031-88）"


def test_export_of_a_contact(world: World, person: dict[str, Any]) -> None:
    _name, data = privacy.personal_data_export(
        actor=world.hq_admin, subject_type="contact", record_id=person["contact"].pk,
        reason="本人申请")
    content, _archive = read_zip(data)
    assert content["record"]["wechat"] == "lisi_wx"
    assert [c["customer"] for c in content["customers"]] == ["张三"]
    assert [i["subject"] for i in content["interactions"]] == ["张三咨询宽带续费"]


def _all_values(model: Any, **filters: Any) -> str:
    return json.dumps(list(model.objects.filter(**filters).values()), ensure_ascii=False,
                      default=str)


def test_erasure_leaves_no_personal_value_and_keeps_masked_records(
        world: World, person: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    customer, contact = person["customer"], person["contact"]
    file_path = storage.stored_path(world.tenant.pk, person["document"].storage_name)
    assert file_path.exists()
    with django_capture_on_commit_callbacks(execute=True):  # files go once committed
        privacy.personal_data_erase(actor=world.hq_admin, subject_type="customer",
                                    record_id=customer.pk, reason="本人要求删除",
                                    expected_version=customer.version)
    privacy.personal_data_erase(actor=world.hq_admin, subject_type="contact",
                                record_id=contact.pk, reason="本人要求删除",
                                expected_version=Contact.objects.get(pk=contact.pk).version)

    rows = (_all_values(Customer, pk=customer.pk) + _all_values(Contact, pk=contact.pk)
            + _all_values(Interaction, customer_id=customer.pk)
            + _all_values(AuditEvent, tenant=world.tenant))
    for value in PERSONAL:
        assert value not in rows, value
    if connection.vendor == "sqlite":  # the FTS5 indexes themselves, not only the columns
        with connection.cursor() as cursor:
            for table in ("customers_customer", "customers_contact"):
                for fts, token in ((f"{table}_trgm", "13700001234"), (f"{table}_trgm", "lisi_wx"),
                                   (f"{table}_trgm", "13955556666"), (f"{table}_grams", "张三"),
                                   (f"{table}_grams", "李四")):
                    cursor.execute(f"SELECT count(*) FROM {fts} WHERE {fts} MATCH %s",  # noqa: S608
                                   [f'"{token}"'])
                    assert cursor.fetchone()[0] == 0, (fts, token)
    for query in ("张三", "13700001234", "李四", "lisi_wx", "1370000"):
        found = search(world.hq_admin, query)
        assert found["customers"] == [] and found["contacts"] == [], query

    # The business records stay: the customer (id, code, owner, status), the interaction.
    kept = Customer.objects.get(pk=customer.pk)
    assert kept.name == f"已删除个人 #{customer.pk}" and kept.owner_id == customer.owner_id
    assert kept.code == customer.code and kept.status == customer.status
    assert Interaction.objects.get(pk=person["interaction"].pk).kind == "call"
    # Stored files are gone, rows and bytes.
    assert not Document.objects.filter(pk=person["document"].pk).exists()
    assert not file_path.exists()
    # The audit trail stays, masked: who did what and when.
    created = AuditEvent.objects.get(action="customer.create", object_id=str(customer.pk))
    assert created.masked_at is not None and created.object_repr == kept.name
    assert created.actor_id == world.city_a1_rep.pk
    erased = AuditEvent.objects.get(action="privacy.erase", object_type="customer")
    assert erased.changes["reason"][1] == "本人要求删除"
    assert erased.actor_id == world.hq_admin.pk


def test_audit_rows_stay_append_only_apart_from_masking(world: World, book: Book) -> None:
    from django.db import DatabaseError, transaction

    event = AuditEvent.objects.filter(object_id=str(book.person.pk)).first()
    assert event is not None
    # The database's own guard (the ORM refuses before it gets there).
    for sql in ("UPDATE core_auditevent SET action = 'customer.delete' WHERE id = %s",
                "UPDATE core_auditevent SET object_repr = 'x' WHERE id = %s",  # no stamp
                "UPDATE core_auditevent SET action = 'x', masked_at = object_id WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])
    masked = AuditEvent.objects.filter(pk=event.pk).mask(
        object_repr="#1", changes={}, masked_at=timezone.now())
    assert masked == 1
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET object_repr = 'y', masked_at = %s "
                    "WHERE id = %s", [timezone.now(), event.pk])  # masked once only


def test_without_the_permission_nothing_happens(world: World, person: dict[str, Any]) -> None:
    customer = person["customer"]
    before = _all_values(Customer, pk=customer.pk)
    rep = world.city_a1_rep  # owns the customer, may change it, but has no privacy.*
    with pytest.raises(Forbidden):
        privacy.personal_data_erase(actor=rep, subject_type="customer", record_id=customer.pk,
                                    reason="想删", expected_version=None)
    with pytest.raises(Forbidden):
        privacy.personal_data_export(actor=rep, subject_type="customer",
                                     record_id=customer.pk, reason="想看")
    assert _all_values(Customer, pk=customer.pk) == before
    assert Document.objects.filter(pk=person["document"].pk).exists()
    assert not AuditEvent.objects.filter(action__startswith="privacy.").exists()
    audit.flush_denials()  # queued while the (test's) transaction was open
    assert AuditEvent.objects.filter(action="permission_denied", actor=rep,
                                     changes__permission="privacy.erase").exists()


def test_refusals(world: World, book: Book, person: dict[str, Any]) -> None:
    admin = world.hq_admin
    with pytest.raises(ValidationFailed):  # an organisation is not a person
        privacy.personal_data_export(actor=admin, subject_type="customer",
                                     record_id=book.rep.pk, reason="x")
    with pytest.raises(ValidationFailed):  # a reason is required
        privacy.personal_data_erase(actor=admin, subject_type="customer",
                                    record_id=book.person.pk, reason="  ",
                                    expected_version=None)
    with pytest.raises(StaleVersion):
        privacy.personal_data_erase(actor=admin, subject_type="customer",
                                    record_id=book.person.pk, reason="本人要求",
                                    expected_version=1)
    with pytest.raises(NotFound):  # another tenant's person
        privacy.personal_data_export(actor=world.other_tenant_admin, subject_type="customer",
                                     record_id=book.person.pk, reason="x")
    assert Customer.objects.get(pk=book.person.pk).name == "张三"


def test_retention_dry_run_lists_and_the_real_run_deletes_only_what_is_due(
        world: World, book: Book, person: dict[str, Any]) -> None:
    now = timezone.now()
    years_ago = now - dt.timedelta(days=365 * 3)
    churned = person["customer"]  # churned 3 years ago, with an old and a recent interaction
    Customer.objects.filter(pk=churned.pk).update(status="churned", status_changed_at=years_ago)
    old = person["interaction"]
    Interaction.objects.filter(pk=old.pk).update(occurred_at=years_ago)
    recent = Interaction.objects.create(
        tenant=world.tenant, org_unit=world.city_a1, owner=world.city_a1_rep, kind="call",
        channel="phone", customer=churned, subject="近期回访", occurred_at=now)
    # Not due: an organisation churned long ago, and an individual still a customer.
    company = Interaction.objects.create(
        tenant=world.tenant, org_unit=world.city_a1, owner=world.city_a1_rep, kind="call",
        channel="phone", customer=book.rep, subject="企业旧记录", occurred_at=years_ago)
    Customer.objects.filter(pk=book.rep.pk).update(status="churned",
                                                   status_changed_at=years_ago)

    with pytest.raises(Forbidden):
        privacy.retention_rule_set(actor=world.city_a1_rep, kind="churned_individual_interactions",
                                   years=2)
    with pytest.raises(ValidationFailed):
        privacy.retention_rule_set(actor=world.hq_admin, kind="churned_individual_interactions",
                                   years=0)
    rule = privacy.retention_rule_set(actor=world.hq_admin,
                                      kind="churned_individual_interactions", years=2)
    assert rule is not None

    report = privacy.retention_run(rule, now=now, dry_run=True)
    assert report["customers"] == {str(churned.pk): 1} and report["total"] == 1
    assert Interaction.objects.filter(pk=old.pk).exists()  # a dry run deletes nothing
    # The real run waits a day after the report, then deletes what it listed.
    assert privacy.retention_run(rule, now=now, dry_run=False)["deleted"] == 0
    assert Interaction.objects.filter(pk=old.pk).exists()
    assert privacy.retention_run_all(now + dt.timedelta(days=1, minutes=1)) == 1
    assert not Interaction.objects.filter(pk=old.pk).exists()
    assert Interaction.objects.filter(pk__in=[recent.pk, company.pk]).count() == 2
    assert Customer.objects.filter(pk=churned.pk).exists()  # the business record stays
    run = AuditEvent.objects.get(action="retention.run")
    assert run.changes["deleted"][1] == 1
    rule.refresh_from_db()
    assert rule.last_deleted == 1 and rule.report["total"] == 0  # reported again


def test_api_export_and_erase(world: World, person: dict[str, Any]) -> None:
    from django.test import Client

    from kehu.core.tests.test_api import api_as, etag, token_for

    customer = person["customer"]
    raw = Client().post(f"/api/v1/customers/{customer.pk}/personal-data/export",
                        data=json.dumps({"reason": "本人申请"}), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token_for(world.hq_admin)}")
    assert raw.status_code == 200 and raw["Content-Type"] == "application/zip"
    content, _archive = read_zip(raw.content)
    assert content["record"]["name"] == "张三"

    admin = api_as(world.hq_admin)
    url = f"/customers/{customer.pk}/personal-data/erase"
    assert admin.post(url, {"reason": "本人要求删除"}).status == 428
    assert admin.post(url, {"reason": "本人要求删除"}, if_match='"1"').status == 412
    assert admin.post(url, {"reason": ""}, if_match=etag(customer)).status == 422
    denied = api_as(world.city_a1_rep).post(url, {"reason": "想删"}, if_match=etag(customer))
    assert denied.status == 403
    assert Customer.objects.get(pk=customer.pk).name == "张三"
    done = admin.post(url, {"reason": "本人要求删除"}, if_match=etag(customer))
    assert done.status == 200 and done.data["name"] == f"已删除个人 #{customer.pk}"
    assert done.headers["ETag"] == f'"{done.data["version"]}"'
    contact = person["contact"]
    erased = admin.post(f"/contacts/{contact.pk}/personal-data/erase", {"reason": "本人要求"},
                        if_match=etag(contact))
    assert erased.status == 200 and erased.data["type"] == "contact"


def test_pages(world: World, book: Book, person: dict[str, Any]) -> None:
    from django.test import Client

    customer = person["customer"]
    admin = Client()
    admin.force_login(world.hq_admin)
    detail = admin.get(f"/customers/{customer.pk}/").content.decode()
    assert f'href="/customers/{customer.pk}/personal-data/"' in detail
    assert "personal-data" not in admin.get(f"/customers/{book.rep.pk}/").content.decode()
    assert f"/contacts/{person['contact'].pk}/personal-data/" in admin.get(
        f"/contacts/{person['contact'].pk}/").content.decode()
    url = f"/customers/{customer.pk}/personal-data/"
    assert admin.get(url).status_code == 200
    archive = admin.post(url, {"action": "export", "export-reason": "本人申请"})
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    assert read_zip(archive.content)[0]["record"]["name"] == "张三"
    refused = admin.post(url, {"action": "erase", "erase-reason": "本人要求",
                               "erase-version": customer.version})  # not confirmed
    assert refused.status_code == 422
    assert Customer.objects.get(pk=customer.pk).name == "张三"

    rep = Client()
    rep.force_login(world.city_a1_rep)
    assert "personal-data" not in rep.get(f"/customers/{customer.pk}/").content.decode()
    assert rep.get(url).status_code == 403
    assert rep.post(url, {"action": "erase", "erase-reason": "x", "erase-version": 1,
                          "erase-confirm": "on"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).name == "张三"

    done = admin.post(url, {"action": "erase", "erase-reason": "本人要求",
                            "erase-version": Customer.objects.get(pk=customer.pk).version,
                            "erase-confirm": "on"})
    assert done.status_code == 302 and done["Location"] == f"/customers/{customer.pk}/"
    assert Customer.objects.get(pk=customer.pk).name == f"已删除个人 #{customer.pk}"
