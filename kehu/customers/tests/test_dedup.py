"""The duplicate finder and the merge: what is found for whom, what a merge moves (all
of it), what it keeps, who may merge, and the API doors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core.exceptions import Forbidden, NotFound, StaleVersion, ValidationFailed
from kehu.core.models import AuditEvent, Role, User
from kehu.core.tests.test_api import api_as, assert_error
from kehu.customers import normalize
from kehu.customers.models import (
    Alias,
    Contact,
    Customer,
    CustomerContact,
    ExternalId,
    Relationship,
    StatusChange,
    Transfer,
)
from kehu.customers.selectors import customers as customer_selectors
from kehu.customers.selectors import duplicates as duplicate_selectors
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import merge as merge_services
from kehu.customers.services import relationships as relationship_services
from kehu.customers.services import transfers as transfer_services
from kehu.customers.testing import ID_NUMBER, USCC

pytestmark = pytest.mark.django_db


def pairs_of(actor: User) -> dict[frozenset[int], duplicate_selectors.Candidate]:
    return {frozenset((c.a_id, c.b_id)): c
            for c in duplicate_selectors.find_candidates(actor=actor)}


def rows_of(*objs: Model) -> list[dict[str, Any] | None]:
    return [type(o)._default_manager.filter(pk=o.pk).values().first() for o in objs]


def subtree_admin(world: Any) -> User:
    """A user holding customers.admin over province A only (a custom role)."""
    role = Role.objects.create(tenant=world.tenant, name="广东数据管理员", data_scope="subtree",
                               permissions=["customers.*", "contacts.*"])
    user = world.prov_a_manager
    user.roles.set([role])
    return User.objects.get(pk=user.pk)


# ---------------------------------------------------------------------------- finder


def test_finds_same_credit_code_id_number_phone_and_similar_names(world, book):
    admin = world.hq_admin
    create = customer_services.customer_create
    same_uscc = create(actor=admin, name="福州某某科技有限公司", uscc=USCC)
    twin = create(actor=admin, name="张三", kind="individual", id_number=ID_NUMBER)
    same_phone = create(actor=admin, name="杭州另一家公司", phones=["0571-85022088"])
    similar = create(actor=admin, name="广州白云机场股份有限公司")
    found = pairs_of(admin)
    assert found[frozenset((book.hq.pk, same_uscc.pk))].reasons == ("uscc",)
    # Same ID number and the same name: both reasons, higher certainty.
    assert found[frozenset((book.person.pk, twin.pk))].reasons == ("id_number", "name")
    assert found[frozenset((book.person.pk, twin.pk))].score == 100
    assert found[frozenset((book.prov_b.pk, same_phone.pk))].reasons == ("phone",)
    name_pair = found[frozenset((book.rep.pk, similar.pk))]
    assert name_pair.reasons == ("name",)
    assert duplicate_selectors.NAME_THRESHOLD <= name_pair.score < 100
    assert name_pair.reason_labels == [str(duplicate_selectors.REASONS["name"])]
    # Different companies of one group are not duplicates.
    assert frozenset((book.hq.pk, book.prov_a.pk)) not in found
    # Most certain first.
    scores = [c.score for c in duplicate_selectors.find_candidates(actor=admin)]
    assert scores == sorted(scores, reverse=True)


def test_finder_sees_only_visible_unmerged_customers(world, book):
    hq_copy = customer_services.customer_create(actor=world.hq_admin, name="中国电信股份有限公司",
                                                uscc=USCC)
    rep_copy = customer_services.customer_create(actor=world.city_a1_rep,
                                                 name="广州市白云机场有限公司")
    other = customer_services.customer_create(actor=world.other_tenant_admin,
                                              name="广州市白云机场公司")
    admin = subtree_admin(world)
    found = pairs_of(admin)
    assert set(found) == {frozenset((book.rep.pk, rep_copy.pk))}
    assert frozenset((book.hq.pk, hq_copy.pk)) in pairs_of(world.hq_admin)
    assert all(other.pk not in pair for pair in pairs_of(world.hq_admin))
    assert frozenset((book.rep.pk, rep_copy.pk)) not in pairs_of(world.other_tenant_admin)
    merge_services.customer_merge(actor=world.hq_admin, survivor_id=book.rep.pk,
                                  loser_id=rep_copy.pk)
    assert pairs_of(admin) == {}


def test_finder_needs_the_admin_right(world, book):
    with pytest.raises(Forbidden):
        duplicate_selectors.find_candidates(actor=world.prov_a_manager)
    with pytest.raises(Forbidden):
        duplicate_selectors.find_candidates(actor=world.analyst)


def test_large_name_blocks_are_split_and_still_compared(world):
    names = [f"测试{i:03d}号有限公司" for i in range(duplicate_selectors.BLOCK_MAX + 50)]
    names += ["测试数据科技甲有限公司", "测试数据科技乙有限公司"]
    Customer.objects.bulk_create(
        Customer(tenant=world.tenant, org_unit=world.hq, owner=world.hq_admin, name=name,
                 name_key=normalize.name_key(name)) for name in names)
    ids = dict(Customer.objects.filter(tenant=world.tenant).values_list("name", "pk"))
    found = pairs_of(world.hq_admin)
    assert frozenset((ids["测试数据科技甲有限公司"], ids["测试数据科技乙有限公司"])) in found
    # Numbered companies are not one another's duplicates.
    assert frozenset((ids["测试001号有限公司"], ids["测试002号有限公司"])) not in found


def test_a_switchboard_number_pairs_each_customer_with_the_first_only(world):
    phone = [{"number": "02088886666", "kind": "landline", "ext": ""}]
    Customer.objects.bulk_create(
        Customer(tenant=world.tenant, org_unit=world.hq, name=f"客户{i}", name_key=f"k{i}x{i}",
                 phones=phone, phone_digits="02088886666")
        for i in range(duplicate_selectors.STAR_GROUP + 5))
    found = duplicate_selectors.find_candidates(actor=world.hq_admin)
    assert len(found) == duplicate_selectors.STAR_GROUP + 4
    assert len({c.a_id for c in found}) == 1


def test_duplicate_page_loads_pairs(world, book):
    copy = customer_services.customer_create(actor=world.hq_admin, name="广州市白云机场有限公司")
    total, pairs = duplicate_selectors.duplicate_page(actor=world.hq_admin, limit=1, offset=0)
    assert total == 1
    assert (pairs[0].a, pairs[0].b) == (book.rep, copy)
    assert pairs[0].a.org_unit == world.city_a1  # loaded with what the pages show
    assert duplicate_selectors.duplicate_page(actor=world.hq_admin, limit=1, offset=1) == (1, [])


# ---------------------------------------------------------------------------- merge


def build_merge_case(world: Any, book: Any) -> dict[str, Any]:
    """A loser with something of every kind attached, a survivor with some overlap."""
    admin = world.hq_admin
    create = customer_services.customer_create
    survivor = create(actor=admin, name="华南物流股份有限公司", phones=["13500001111"],
                      tags=["重点"], region="440100", owner_id=world.city_a1_rep.pk)
    loser = create(actor=admin, name="华南物流有限公司", short_name="华南物流",
                   phones=["13500001111", "13500002222"], emails=["info@hnwl.cn"],
                   industry="G", tags=["物流", "重点"], notes="老客户，2015 年签约",
                   addresses=["广州市黄埔区港湾路 1 号"], owner_id=world.city_a1_rep.pk,
                   uscc=USCC)
    older = create(actor=admin, name="华南物流广州有限公司", owner_id=world.city_a1_rep.pk)
    merge_services.customer_merge(actor=admin, survivor_id=loser.pk, loser_id=older.pk)
    child = create(actor=admin, name="华南物流东莞分公司", parent_id=loser.pk)
    grandchild = create(actor=admin, name="华南物流东莞仓库", parent_id=child.pk)
    shared = contact_services.contact_create(actor=admin, name="陈主任", customer_id=survivor.pk,
                                             link={"is_primary": True})
    contact_services.contact_link(actor=admin, contact_id=shared.pk, customer_id=loser.pk,
                                  title="物流总监")
    own = contact_services.contact_create(actor=admin, name="林会计", customer_id=loser.pk,
                                          link={"is_primary": True, "title": "会计"})
    x = book.prov_a
    relationship_services.relationship_add(actor=admin, source_id=loser.pk, target_id=x.pk,
                                           kind="partner")
    relationship_services.relationship_add(actor=admin, source_id=survivor.pk, target_id=x.pk,
                                           kind="partner")
    relationship_services.relationship_add(actor=admin, source_id=x.pk, target_id=loser.pk,
                                           kind="supplier")
    relationship_services.relationship_add(actor=admin, source_id=survivor.pk, target_id=loser.pk,
                                           kind="other")
    relationship_services.external_id_add(actor=admin, customer_id=loser.pk, system="billing",
                                          external_id="B-0001")
    customer_services.customer_set_status(actor=admin, customer_id=loser.pk, status="customer")
    transfer_services.customer_transfer(actor=admin, customer_ids=[loser.pk], reason="区域调整",
                                        owner_id=world.city_a1_manager.pk)
    # Other apps' records on the customer move too (the merge knows none of them).
    from kehu.activities.services import followups, interactions, tasks
    from kehu.documents import services as documents
    from kehu.documents.testing import SAMPLE_PDF

    interactions.interaction_create(actor=admin, customer_id=loser.pk, kind="call",
                                    subject="合并前的通话")
    followups.followup_create(actor=admin, customer_id=loser.pk, subject="合并前的计划",
                              due_at=timezone.now() + dt.timedelta(days=1))
    tasks.task_create(actor=admin, title="合并前的任务", customer_id=loser.pk)
    documents.document_upload(actor=admin, file_name="合同.pdf", chunks=[SAMPLE_PDF],
                              customer_id=loser.pk)
    return {"survivor": Customer.objects.get(pk=survivor.pk),
            "loser": Customer.objects.get(pk=loser.pk), "older": older, "child": child,
            "grandchild": grandchild, "shared": shared, "own": own, "x": x}


def pointing_at(customer: Customer) -> dict[str, int]:
    """Rows of every model that point at ``customer`` (the generic check)."""
    counts = {}
    for rel in Customer._meta.related_objects:
        manager: Any = rel.related_model._base_manager
        counts[rel.related_model._meta.label + "." + rel.field.name] = manager.filter(
            **{rel.field.name: customer}).count()
    through: Any = Customer.tags.through
    counts["tags"] = through.objects.filter(customer=customer).count()
    return counts


def test_merge_moves_everything_and_keeps_the_loser_as_a_tombstone(world, book):
    case = build_merge_case(world, book)
    survivor, loser = case["survivor"], case["loser"]
    before = pointing_at(loser)
    assert all(before.values()), before  # something of every kind is attached
    # Its own two status changes and the one of the customer merged into it earlier.
    assert before["customers.StatusChange.customer"] == 3
    assert before["customers.Transfer.customer"] == 1
    assert before["customers.Alias.customer"] >= 1  # from the earlier merge

    result = merge_services.customer_merge(actor=world.hq_admin, survivor_id=survivor.pk,
                                           loser_id=loser.pk,
                                           expected_versions={survivor.pk: survivor.version,
                                                              loser.pk: loser.version})

    # Nothing of any kind points at the loser any more (whatever app a model is from).
    assert pointing_at(loser) == dict.fromkeys(before, 0)
    loser.refresh_from_db()
    assert loser.merged_into_id == survivor.pk
    assert loser.parent_id is None
    # Contacts: the shared person once (the duplicate link dropped), the other moved;
    # the survivor's primary contact stays the only primary.
    links = {link.contact_id: link for link in CustomerContact.objects.filter(customer=survivor)}
    assert set(links) == {case["shared"].pk, case["own"].pk}
    assert [pk for pk, link in links.items() if link.is_primary] == [case["shared"].pk]
    # Relationships: moved, the duplicate dropped, the one between the two removed.
    rels = set(Relationship.objects.filter(source=survivor).values_list("target_id", "kind"))
    assert rels == {(case["x"].pk, "partner")}
    assert set(Relationship.objects.filter(target=survivor)
               .values_list("source_id", "kind")) == {(case["x"].pk, "supplier")}
    assert not Relationship.objects.filter(source=survivor, target=survivor).exists()
    # Hierarchy: the subsidiary and its own subsidiary now sit under the survivor.
    child = Customer.objects.get(pk=case["child"].pk)
    grandchild = Customer.objects.get(pk=case["grandchild"].pk)
    assert child.parent_id == survivor.pk
    assert child.hierarchy_path == f"{survivor.hierarchy_path}{child.pk}/"
    assert grandchild.hierarchy_path == f"{child.hierarchy_path}{grandchild.pk}/"
    # History, external ids and tags.
    assert StatusChange.objects.filter(customer=survivor).count() == 4
    assert Transfer.objects.filter(customer=survivor).count() == 1
    assert ExternalId.objects.get(system="billing", external_id="B-0001").customer_id == \
        survivor.pk
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["物流", "重点"]
    # An earlier tombstone now redirects straight to the survivor.
    assert Customer.objects.get(pk=case["older"].pk).merged_into_id == survivor.pk
    # Identifiers kept as aliases; empty fields filled; lists united.
    aliases = set(Alias.objects.filter(customer=survivor).values_list("kind", "value"))
    # (The credit code and short name became the survivor's own: no alias needed.)
    assert aliases == {("name", "华南物流有限公司"), ("code", loser.code),
                       ("phone", "13500001111"), ("phone", "13500002222"),
                       ("name", "华南物流广州有限公司"), ("code", case["older"].code)}
    assert result.short_name == "华南物流" and result.industry == "G" and result.uscc == USCC
    assert [p["number"] for p in result.phones] == ["13500001111", "13500002222"]
    assert result.emails == ["info@hnwl.cn"]
    assert result.addresses[0]["text"] == "广州市黄埔区港湾路 1 号"
    assert "2015" in result.notes
    assert result.version == survivor.version + 1
    # Search columns and quality follow: the old name finds the survivor.
    found = customer_selectors.customer_list(actor=world.hq_admin,
                                             filters=customer_selectors.CustomerFilters(q="华南物流有限公司"))
    assert list(found.values_list("pk", flat=True)) == [survivor.pk]
    assert result.quality_score > survivor.quality_score
    # Audited on both, with what moved.
    events = AuditEvent.objects.filter(action="customer.merge").order_by("-pk")[:2]
    on_loser, on_survivor = list(events)
    assert on_survivor.object_id == str(survivor.pk)
    assert on_survivor.changes["merged"] == [None, loser.pk]
    assert on_survivor.changes["moved"]["customers.CustomerContact"] == 1
    assert on_survivor.changes["dropped"]["customers.CustomerContact"] == 1
    assert on_survivor.changes["moved"]["customers.Customer.parent"] == 1
    assert "13500002222" not in str(on_survivor.changes)  # phones masked in the diff
    assert on_loser.object_id == str(loser.pk)
    assert on_loser.changes["merged_into"] == [None, survivor.pk]


def test_survivor_joins_the_losers_group_and_a_descendant_loser_is_allowed(world, book):
    admin = world.hq_admin
    group = customer_services.customer_create(actor=admin, name="某集团")
    loser = customer_services.customer_create(actor=admin, name="某集团华南公司",
                                              parent_id=group.pk)
    survivor = customer_services.customer_create(actor=admin, name="某集团华南有限公司")
    merge_services.customer_merge(actor=admin, survivor_id=survivor.pk, loser_id=loser.pk)
    survivor.refresh_from_db()
    assert survivor.parent_id == group.pk
    assert survivor.hierarchy_path == f"/{group.pk}/{survivor.pk}/"
    # The group absorbing its own member: the member's subsidiaries move up to it.
    sub = customer_services.customer_create(actor=admin, name="某集团华南东莞",
                                            parent_id=survivor.pk)
    merge_services.customer_merge(actor=admin, survivor_id=group.pk, loser_id=survivor.pk)
    sub.refresh_from_db()
    assert sub.parent_id == group.pk
    assert sub.hierarchy_path == f"/{group.pk}/{sub.pk}/"


def test_merge_refusals_change_nothing(world, book):
    admin = world.hq_admin
    group = customer_services.customer_create(actor=admin, name="某集团")
    member = customer_services.customer_create(actor=admin, name="某集团成员", parent_id=group.pk)
    tombstone = customer_services.customer_create(actor=admin, name="已合并公司")
    merge_services.customer_merge(actor=admin, survivor_id=book.hq.pk, loser_id=tombstone.pk)
    watched = [book.hq, book.prov_a, book.prov_b, book.other_tenant, group, member, tombstone]
    before = rows_of(*watched)
    events = AuditEvent.objects.filter(action="customer.merge").count()

    with pytest.raises(ValidationFailed) as exc:  # the loser is above the survivor
        merge_services.customer_merge(actor=admin, survivor_id=member.pk, loser_id=group.pk)
    assert "loser_id" in exc.value.fields
    with pytest.raises(ValidationFailed):
        merge_services.customer_merge(actor=admin, survivor_id=book.hq.pk, loser_id=book.hq.pk)
    with pytest.raises(ValidationFailed) as exc:
        merge_services.customer_merge(actor=admin, survivor_id=book.prov_a.pk,
                                      loser_id=tombstone.pk)
    assert "loser_id" in exc.value.fields
    with pytest.raises(NotFound):  # another tenant's customer
        merge_services.customer_merge(actor=admin, survivor_id=book.hq.pk,
                                      loser_id=book.other_tenant.pk)
    with pytest.raises(NotFound):
        merge_services.customer_merge(actor=world.other_tenant_admin, survivor_id=book.hq.pk,
                                      loser_id=book.prov_a.pk)
    with pytest.raises(Forbidden):  # a province manager may change but not merge
        merge_services.customer_merge(actor=world.prov_a_manager, survivor_id=book.prov_a.pk,
                                      loser_id=book.city_a1.pk)
    with pytest.raises(StaleVersion):
        merge_services.customer_merge(actor=admin, survivor_id=book.prov_a.pk,
                                      loser_id=book.prov_b.pk,
                                      expected_versions={book.prov_b.pk: book.prov_b.version + 5})
    with pytest.raises(NotFound):  # an admin of province A cannot reach province B
        merge_services.customer_merge(actor=subtree_admin(world), survivor_id=book.prov_a.pk,
                                      loser_id=book.prov_b.pk)
    assert rows_of(*watched) == before
    assert AuditEvent.objects.filter(action="customer.merge").count() == events


def test_merge_preview_counts_without_writing(world, book):
    case = build_merge_case(world, book)
    before = rows_of(case["survivor"], case["loser"])
    preview = merge_services.merge_preview(actor=world.hq_admin, survivor_id=case["survivor"].pk,
                                           loser_id=case["loser"].pk)
    assert preview["moves"][str(CustomerContact._meta.verbose_name_plural)] == 2
    assert preview["moves"][str(Customer.tags.field.verbose_name)] == 2
    assert preview["moves"][_("subsidiaries")] == 1
    assert preview["moves"][str(Relationship._meta.verbose_name_plural)] == 3
    assert rows_of(case["survivor"], case["loser"]) == before
    assert Contact.objects.filter(name__in=["陈主任", "林会计"]).count() == 2


# ---------------------------------------------------------------------------- API


def test_merge_api(world, book):
    copy = customer_services.customer_create(actor=world.city_a1_rep, name="广州市白云机场有限公司")
    relationship_services.external_id_add(actor=world.hq_admin, customer_id=copy.pk, system="crm",
                                          external_id="X1")
    rep = api_as(world.city_a1_rep)
    assert_error(rep.post("/customers/merge", {"survivor_id": book.rep.pk,
                                               "loser_id": copy.pk}), 403, "permission_denied")
    admin = api_as(world.hq_admin)
    r = admin.post("/customers/merge", {"survivor_id": book.rep.pk, "loser_id": copy.pk,
                                        "survivor_version": book.rep.version,
                                        "loser_version": copy.version + 9})
    assert_error(r, 412, "precondition_failed")
    r = admin.post("/customers/merge", {"survivor_id": book.rep.pk, "loser_id": copy.pk})
    assert r.status == 200, r
    assert r.data["id"] == book.rep.pk
    assert r.headers["ETag"] == f'"{r.data["version"]}"'
    assert r.data["phones"][0]["number"] == "138****5678"
    # Old links and external ids lead to the survivor; the loser's own page is gone.
    r = admin.get("/customers/lookup", system="crm", external_id="X1")
    assert r.data["id"] == book.rep.pk
    assert admin.get(f"/customers/{copy.pk}").status == 404
    r = admin.post("/customers/merge", {"survivor_id": book.rep.pk, "loser_id": copy.pk})
    assert_error(r, 422, "validation_error")
    other = api_as(world.other_tenant_admin)
    r = other.post("/customers/merge", {"survivor_id": book.rep.pk,
                                        "loser_id": book.person.pk})
    assert_error(r, 404, "not_found")
    r = admin.post("/customers/merge", {"survivor_id": book.rep.pk, "loser_id": 0})
    assert_error(r, 422, "validation_error")


def test_duplicates_api(world, book):
    customer_services.customer_create(actor=world.hq_admin, name="张三", kind="individual",
                                      id_number=ID_NUMBER, phones=["13700001234"])
    r = api_as(world.hq_admin).get("/customers/duplicates", limit=5)
    assert r.status == 200, r
    item = r.data["items"][0]
    assert set(item["reasons"]) == {"id_number", "phone", "name"}
    assert item["score"] == 100
    assert item["a"]["id_number"] == "110***********002X"
    assert item["a"]["phones"] == ["137****1234"]
    assert ID_NUMBER not in str(r.data) and "13700001234" not in str(r.data)
    assert r.data["count"] >= 1
    assert_error(api_as(world.prov_a_manager).get("/customers/duplicates"), 403,
                 "permission_denied")
