"""Search that is right as well as fast (issue 12): phone digits rank phones ending with
them first, code prefixes rank codes starting with them first, every hit says why it
matched (masked values stay masked) and how many matched, capped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kehu.core.testing import World
from kehu.core.tests.test_api import ApiClient, token_for
from kehu.customers.models import Customer
from kehu.customers.selectors import search
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.testing import ID_NUMBER, USCC, Book

pytestmark = pytest.mark.django_db


def _create(world: World, name: str, **fields: Any) -> Customer:
    return customer_services.customer_create(actor=world.hq_admin, name=name, **fields)


@pytest.fixture
def digits(world: World, book: Book) -> dict[str, Customer]:
    """Codes holding 4591 (even ending with it), two phones ending with it, one phone
    holding it in the middle, a code starting with 6005 and one holding it."""
    made = {f"code{n}": _create(world, f"码{n}", code=f"K{n}0094591") for n in range(6)}
    made["ends_short"] = _create(world, "尾号甲", phones=["13912344591"])
    made["ends_long"] = _create(world, "尾号乙有限公司", phones=["0571-85024591", "13800001111"])
    made["middle"] = _create(world, "中间丙", phones=["13945910000"])
    made["code_starts"] = _create(world, "前缀丁", code="6005XY")
    made["code_holds"] = _create(world, "包含戊", code="XY6005")
    made["code_holds_short"] = _create(world, "己", code="Z300")
    made["code_starts_300"] = _create(world, "前缀庚有限公司", code="300AB")
    return made


def ids(actor, q: str, limit: int = 20) -> list[int]:
    return [c.pk for c in search.customers(actor, q, limit)]


def test_phone_digits_rank_phones_ending_with_them_first(world, digits):
    # Six codes hold (or end with) 4591; the phones ending with it come first anyway,
    # shorter names first, then the phone holding it, and only then the codes.
    found = ids(world.hq_admin, "4591")
    assert found[:3] == [digits["ends_short"].pk, digits["ends_long"].pk, digits["middle"].pk]
    assert set(found[3:]) == {digits[f"code{n}"].pk for n in range(6)}
    # With room for two, both are phones ending with the digits.
    assert ids(world.hq_admin, "4591", limit=2) == [digits["ends_short"].pk,
                                                      digits["ends_long"].pk]
    # Seven digits, in any format, and a second phone of the customer count too.
    assert ids(world.hq_admin, "234-4591")[0] == digits["ends_short"].pk
    assert ids(world.hq_admin, "1111")[:2] == [digits["ends_long"].pk, book_city_a1(world)]


def book_city_a1(world: World) -> int:
    return Customer.objects.get(tenant=world.tenant, name="广州地铁集团有限公司").pk


def test_contacts_rank_phones_ending_with_the_digits_first(world, book):
    create = contact_services.contact_create
    middle = create(actor=world.hq_admin, name="中间联系人", phones=["13545910000"])
    ends = create(actor=world.hq_admin, name="尾号联系人甲乙", phones=["13512344591"])
    found = [c.pk for c in search.contacts(world.hq_admin, "4591")]
    assert found == [ends.pk, middle.pk]


def test_code_prefix_ranks_before_codes_holding_it(world, digits):
    found = ids(world.hq_admin, "6005")
    assert found.index(digits["code_starts"].pk) < found.index(digits["code_holds"].pk)
    # Three digits are not a phone query; the shorter name does not win either.
    found = ids(world.hq_admin, "300")
    assert found.index(digits["code_starts_300"].pk) < found.index(digits["code_holds_short"].pk)
    # The exact code, case aside, is first of all.
    assert ids(world.hq_admin, "6005xy")[0] == digits["code_starts"].pk
    assert ids(world.hq_admin, "xy6005")[0] == digits["code_holds"].pk


def test_pinyin_initials_starting_with_the_query_rank_first(world, book):
    late = _create(world, "金色阳光中国电信代理", short_name="金色阳光")  # initials jsygzgdx
    assert ids(world.hq_admin, "zgdx")[0] == book.hq.pk
    assert late.pk in ids(world.hq_admin, "zgdx")


def _match(hits, pk):
    return next(h.match for h in hits if h.pk == pk)


def test_hits_say_why_they_matched_and_phones_stay_masked(world, book, digits):
    found = search.search(world.hq_admin, "4591")
    hits = found["customers"]
    ends = _match(hits, digits["ends_short"].pk)
    assert (ends.field, ends.how) == ("phone", "ends")
    assert ends.html == "139****<mark>4591</mark>"
    # A phone holding the digits where the mask hides them: nothing marked, as marking
    # a visible digit would tell where in the hidden part the rest lies.
    middle = _match(hits, digits["middle"].pk)
    assert (middle.field, middle.how, middle.html) == ("phone", "contains", "139****0000")
    code = _match(hits, digits["code0"].pk)
    assert (code.field, code.how, code.html) == ("code", "contains", "K0009<mark>4591</mark>")
    # Seven digits: only the four visible ones are marked.
    seven = search.search(world.hq_admin, "2344591")["customers"][0].match
    assert seven.html == "139****<mark>4591</mark>" and seven.how == "ends"
    # The whole number: the visible head and tail are marked, the hidden middle is not.
    whole = _match(search.search(world.hq_admin, "13912344591")["customers"],
                   digits["ends_short"].pk)
    assert whole.html == "<mark>139</mark>****<mark>4591</mark>"
    # Three digits wholly in the visible head are marked there.
    head = _match(search.search(world.hq_admin, "139")["customers"], digits["middle"].pk)
    assert (head.field, head.how, head.html) == ("phone", "contains", "<mark>139</mark>****0000")
    for hit in hits:
        assert "1391234" not in hit.match.html and "94591" not in hit.match.html


def test_match_of_names_codes_pinyin_and_id_numbers(world, book):
    def why(actor, q, pk):
        return _match(search.search(actor, q)["customers"], pk)

    name = why(world.hq_admin, "电信", book.hq.pk)
    assert (name.field, name.how, name.html) == (
        "name", "contains", "中国<mark>电信</mark>股份有限公司")
    assert why(world.hq_admin, "中国 电信", book.hq.pk).html == \
        "<mark>中国电信</mark>股份有限公司"
    pinyin = why(world.hq_admin, "zgdx", book.hq.pk)
    assert (pinyin.field, pinyin.how, pinyin.html) == (
        "pinyin", "starts", "<mark>zgdx</mark>gfyxgs")
    uscc = why(world.hq_admin, USCC.lower(), book.hq.pk)
    assert (uscc.field, uscc.how, uscc.html) == ("uscc", "exact", f"<mark>{USCC}</mark>")
    by_id = why(world.city_a1_rep, ID_NUMBER, book.person.pk)
    assert (by_id.field, by_id.html) == ("id_number", book.person.id_number_masked)
    assert ID_NUMBER not in by_id.html
    odd = _create(world, "甲<乙>&丙科技")
    assert why(world.hq_admin, "<乙>&", odd.pk).html == "甲<mark>&lt;乙&gt;&amp;</mark>丙科技"


def test_contact_matches_mask_phone_and_email(world, book):
    contact_services.contact_update(actor=world.city_a1_rep, contact_id=book.rep_contact.pk,
                                    email="wang.jingli@example.com")
    found = search.search(world.city_a1_rep, "2222")["contacts"]
    assert found[0].match.html == "136****<mark>2222</mark>"
    by_email = search.search(world.city_a1_rep, "jingli@")["contacts"][0].match
    assert (by_email.field, by_email.html) == ("email", "wa***@example.com")


def test_counts_are_capped_and_scoped(world, book):
    found = search.search(world.prov_a_manager, "有限", limit=1)
    assert len(found["customers"]) == 1
    assert (found["customers_count"], found["customers_count_capped"]) == (3, False)
    assert search.count(Customer, world.prov_a_manager, "有限", cap=2) == (2, True)
    assert search.count(Customer, world.city_a1_rep, "有限") == (1, False)
    assert search.count(Customer, world.prov_b_manager, "白云") == (0, False)
    # Another tenant's 中国电信 is never counted.
    assert search.search(world.hq_admin, "中国电信")["customers_count"] == 1
    assert search.search(world.other_tenant_admin, "中国电信")["customers_count"] == 1


def test_api_returns_matches_and_counts(world, book, digits):
    client = ApiClient(token_for(world.hq_admin))
    r = client.get("/search?q=4591&limit=2")
    assert r.status == 200
    assert [h["id"] for h in r.data["customers"]] == [digits["ends_short"].pk,
                                                      digits["ends_long"].pk]
    assert r.data["customers"][0]["match"] == {
        "field": "phone", "label": "电话", "how": "ends",
        "how_label": "结尾与所搜数字相同", "html": "139****<mark>4591</mark>"}
    assert (r.data["customers_count"], r.data["customers_count_capped"]) == (9, False)
    assert (r.data["contacts_count"], r.data["contacts_count_capped"]) == (0, False)
    assert b"13912344591" not in r.raw.content and b"85024591" not in r.raw.content
    # The city rep sees none of these (the HQ's), and is told so.
    r = ApiClient(token_for(world.city_a1_rep)).get("/search?q=4591")
    assert r.data["customers"] == [] and r.data["customers_count"] == 0


def test_search_page_shows_why_and_how_many(world, book, digits, client):
    client.force_login(world.hq_admin)
    body = client.get(reverse("search"), {"q": "4591"}).content.decode()
    assert re.search(r'data-testid="search-customers-count">9<', body)
    assert "139****<mark>4591</mark>" in body
    assert "13912344591" not in body and "85024591" not in body
    live = client.get(reverse("search_live"), {"q": "4591"}).content.decode()
    assert "139****<mark>4591</mark>" in live and "search-customers-count" not in live


def test_query_count_does_not_grow_with_the_hits(world, digits, client):
    """Hits load the columns they show in one query: no lazy load per hit (API, page)."""
    api = ApiClient(token_for(world.hq_admin))
    client.force_login(world.hq_admin)

    def queries(fetch) -> int:
        with CaptureQueriesContext(connection) as captured:
            fetch()
        return len(captured)

    api.get("/search?q=warm")  # the first request reads the token and roles once
    many = queries(lambda: api.get("/search?q=4591"))  # nine customers
    one = queries(lambda: api.get("/search?q=尾号甲"))
    assert many == one
    many = queries(lambda: client.get(reverse("search"), {"q": "4591"}))
    assert many == queries(lambda: client.get(reverse("search"), {"q": "尾号甲"}))
