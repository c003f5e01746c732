"""Customer and contact services: validation, ownership, hierarchy, status, transfer."""

from __future__ import annotations

import pytest

from kehu.core import crypto
from kehu.core.exceptions import NotFound, ValidationFailed
from kehu.core.models import AuditEvent
from kehu.customers.models import Customer, StatusChange, Transfer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import transfers as transfer_services
from kehu.customers.testing import ID_NUMBER, USCC

pytestmark = pytest.mark.django_db


def test_create_normalises_and_generates_code(world):
    customer = customer_services.customer_create(
        actor=world.city_a1_rep, name=" 广州  白云机场 ", uscc=USCC.lower(),
        phones=["+86 138-1234-5678", "020-88886666转123"], emails=["A@B.CN"],
        website="example.cn", industry="I", region="440100", tags=["重点", "机场"])
    assert customer.name == "广州 白云机场"
    assert customer.uscc == USCC
    assert customer.code == f"C{customer.pk:08d}"
    assert customer.phones == [
        {"number": "13812345678", "kind": "mobile", "ext": ""},
        {"number": "02088886666", "kind": "landline", "ext": "123"},
    ]
    assert customer.emails == ["a@b.cn"]
    assert customer.website == "https://example.cn"
    assert customer.owner == world.city_a1_rep
    assert customer.org_unit == world.city_a1
    assert customer.hierarchy_path == f"/{customer.pk}/"
    assert sorted(t.name for t in customer.tags.all()) == ["机场", "重点"]
    assert StatusChange.objects.filter(customer=customer, to_status="potential").count() == 1
    assert AuditEvent.objects.filter(action="customer.create", object_id=str(customer.pk)).exists()


def test_all_field_errors_reported_at_once_and_nothing_written(world):
    before = Customer.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        customer_services.customer_create(actor=world.hq_admin, name="", uscc="91350100M000100Y44",
                                          phones=["12345"], emails=["nope"], region="火星")
    assert set(exc.value.fields) == {"name", "uscc", "phones", "emails", "region"}
    assert Customer.objects.count() == before


def test_id_number_encrypted_at_rest_and_masked(world):
    person = customer_services.customer_create(actor=world.hq_admin, name="张三", kind="individual",
                                               id_number="110105491231002")  # 15 digits
    stored = Customer.objects.filter(pk=person.pk).values_list(
        "id_number_encrypted", "id_number_hash", "id_number_masked").get()
    clear = crypto.decrypt(stored[0])
    assert len(clear) == 18 and clear.startswith("110105")
    assert clear not in stored[0] and clear != stored[1]
    assert stored[2] == clear[:3] + "*" * 11 + clear[-4:]


def test_identifier_kind_rules(world):
    with pytest.raises(ValidationFailed) as exc:
        customer_services.customer_create(actor=world.hq_admin, name="某公司", id_number=ID_NUMBER)
    assert "id_number" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        customer_services.customer_create(actor=world.hq_admin, name="李四", kind="individual",
                                          uscc=USCC)
    assert "uscc" in exc.value.fields


def test_hierarchy_refuses_cycles_and_moves_subtrees(world, book):
    child = customer_services.customer_create(actor=world.hq_admin, name="子公司",
                                              parent_id=book.hq.pk)
    grandchild = customer_services.customer_create(actor=world.hq_admin, name="孙公司",
                                                   parent_id=child.pk)
    assert grandchild.hierarchy_path == f"/{book.hq.pk}/{child.pk}/{grandchild.pk}/"
    with pytest.raises(ValidationFailed):
        customer_services.customer_update(actor=world.hq_admin, customer_id=book.hq.pk,
                                          parent_id=grandchild.pk)
    customer_services.customer_update(actor=world.hq_admin, customer_id=child.pk,
                                      parent_id=book.prov_b.pk)
    grandchild.refresh_from_db()
    assert grandchild.hierarchy_path == f"/{book.prov_b.pk}/{child.pk}/{grandchild.pk}/"


def test_status_history_kept(world, book):
    customer_services.customer_set_status(actor=world.city_a1_rep, customer_id=book.rep.pk,
                                          status="customer")
    customer_services.customer_set_status(actor=world.city_a1_rep, customer_id=book.rep.pk,
                                          status="loyal")
    history = list(StatusChange.objects.filter(customer=book.rep)
                   .order_by("id").values_list("from_status", "to_status"))
    assert history == [("", "potential"), ("potential", "customer"), ("customer", "loyal")]
    with pytest.raises(ValidationFailed):
        customer_services.customer_set_status(actor=world.city_a1_rep, customer_id=book.rep.pk,
                                              status="blacklisted")


def test_rep_cannot_change_anothers_customer_and_nothing_changes(world, book):
    before = Customer.objects.get(pk=book.city_a1.pk)
    with pytest.raises(NotFound):
        customer_services.customer_update(actor=world.city_a1_rep, customer_id=book.city_a1.pk,
                                          name="改名")
    after = Customer.objects.get(pk=book.city_a1.pk)
    assert (after.name, after.version) == (before.name, before.version)


def test_transfer_keeps_history_visible_to_new_owner(world, book):
    contact = book.rep_contact
    transfer_services.customer_transfer(actor=world.city_a1_manager, customer_ids=[book.rep.pk],
                                        owner_id=world.city_a1_manager.pk, reason="人员调整")
    rep_customer = Customer.objects.get(pk=book.rep.pk)
    assert rep_customer.owner == world.city_a1_manager
    transfer = Transfer.objects.get(customer=book.rep)
    assert (transfer.from_owner, transfer.to_owner, transfer.reason) == (
        world.city_a1_rep, world.city_a1_manager, "人员调整")
    from kehu.customers.models import Contact
    assert Contact.objects.visible_to(world.city_a1_manager).filter(pk=contact.pk).exists()
    assert AuditEvent.objects.filter(action="customer.transfer",
                                     object_id=str(book.rep.pk)).exists()


def test_transfer_skips_customers_the_actor_may_not_change(world, book):
    done = transfer_services.customer_transfer(actor=world.prov_b_manager,
                                               customer_ids=[book.rep.pk, book.prov_b.pk],
                                               owner_id=world.prov_b_manager.pk, reason="调整")
    assert [c.pk for c in done] == [book.prov_b.pk]
    assert Customer.objects.get(pk=book.rep.pk).owner == world.city_a1_rep


def test_reveal_needs_permission_and_reason_and_is_audited(world, book):
    from kehu.core.exceptions import Forbidden

    with pytest.raises(Forbidden):
        customer_services.customer_reveal(actor=world.city_a1_rep, customer_id=book.person.pk,
                                          field="id_number", reason="核实身份")
    with pytest.raises(ValidationFailed):
        customer_services.customer_reveal(actor=world.city_a1_manager, customer_id=book.person.pk,
                                          field="id_number", reason="")
    value = customer_services.customer_reveal(actor=world.city_a1_manager,
                                              customer_id=book.person.pk, field="id_number",
                                              reason="核实身份")
    assert value == ID_NUMBER
    event = AuditEvent.objects.get(action="customer.reveal")
    assert event.changes["reason"] == [None, "核实身份"]
    assert ID_NUMBER not in str(event.changes)


def test_contact_visible_through_its_customer(world, book):
    from kehu.customers.models import Contact

    for user, sees in ((world.city_a1_rep, True), (world.city_a1_manager, True),
                       (world.prov_a_manager, True), (world.prov_b_manager, False),
                       (world.other_tenant_admin, False)):
        assert Contact.objects.visible_to(user).filter(pk=book.rep_contact.pk).exists() == sees


def test_quality_score_rises_with_completeness(world):
    bare = customer_services.customer_create(actor=world.hq_admin, name="某公司")
    full = customer_services.customer_create(
        actor=world.hq_admin, name="某某科技有限公司", short_name="某某", uscc=USCC,
        phones=["13812345678"], emails=["a@b.cn"], industry="63", region="440100",
        size="large", addresses=["广州"])
    assert bare.quality_score < full.quality_score < 100
    contact_services.contact_create(actor=world.hq_admin, name="联系人", customer_id=full.pk)
    full.refresh_from_db()
    assert full.quality_score == 100
