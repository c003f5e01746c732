"""Search: Chinese substrings, pinyin, phones, codes; visibility and masking; indexes."""

from __future__ import annotations

import pytest
from django.db import connection

from kehu.core.tests.test_api import ApiClient, token_for
from kehu.customers.models import Customer
from kehu.customers.selectors import search
from kehu.customers.services import customers as customer_services
from kehu.customers.testing import ID_NUMBER, USCC

pytestmark = pytest.mark.django_db


def names(actor, q):
    return [c.name for c in search.customers(actor, q)]


@pytest.mark.parametrize("query", [
    "电信", "电", "中国电信", "中国电信股份有限公司", "zgdx", "ZGDX", "zhongguodianxin",
    "zhongguo", USCC, USCC.lower(), "5850", "58501234", "010-5850 1234",
    "+86 10 5850 1234", "中国 电信", "电信股份",
])
def test_finds_china_telecom(world, book, query):
    assert "中国电信股份有限公司" in names(world.hq_admin, query)


def test_customer_code_finds_exactly_and_ranks_first(world, book):
    assert names(world.hq_admin, book.rep.code)[0] == book.rep.name
    assert names(world.hq_admin, book.rep.code.lower())[0] == book.rep.name
    # A piece of a code finds it too (ids, hence codes, differ from run to run).
    assert book.hq.name in names(world.hq_admin, book.hq.code[-5:])


def test_phone_in_any_format_and_last_digits(world, book):
    for query in ("13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678", "5678",
                  "2345678"):
        assert book.rep.name in names(world.hq_admin, query), query


def test_exact_name_ranks_before_longer_names(world, book):
    customer_services.customer_create(actor=world.hq_admin, name="电信")
    assert names(world.hq_admin, "电信")[0] == "电信"


def test_results_restricted_to_what_the_user_may_see(world, book):
    assert names(world.city_a1_rep, "有限") == ["广州市白云机场股份有限公司"]
    assert set(names(world.prov_a_manager, "有限")) == {
        "广东移动通信有限责任公司", "广州地铁集团有限公司", "广州市白云机场股份有限公司"}
    assert names(world.prov_b_manager, "白云") == []
    assert names(world.other_tenant_admin, "中国电信") == ["中国电信远方分公司"]


def test_full_id_number_finds_only_for_those_who_may_see(world, book):
    assert names(world.city_a1_rep, ID_NUMBER) == ["张三"]
    assert names(world.hq_admin, ID_NUMBER.lower()) == ["张三"]
    # A peer branch gets the same empty answer as for a number nobody has.
    assert names(world.prov_b_manager, ID_NUMBER) == []
    assert names(world.prov_b_manager, "110105194912310037") == []


def test_one_ascii_character_is_not_a_search(world, book):
    assert names(world.hq_admin, "a") == []
    assert names(world.hq_admin, "") == []


def test_contacts_found_by_name_pinyin_and_phone(world, book):
    for query in ("王经理", "王", "wjl", "wangjingli", "13611112222", "2222"):
        assert [c.name for c in search.contacts(world.city_a1_rep, query)] == ["王经理"], query
    assert list(search.contacts(world.prov_b_manager, "王经理")) == []


def test_search_follows_updates_and_merged_names(world, book):
    customer_services.customer_update(actor=world.hq_admin, customer_id=book.hq.pk,
                                      name="天翼云科技")
    assert names(world.hq_admin, "天翼") == ["天翼云科技"]
    assert "天翼云科技" not in names(world.hq_admin, "中国电信股份")


def test_api_masks_phones_in_results(world, book):
    client = ApiClient(token_for(world.city_a1_rep))
    r = client.get("/search?q=白云")
    assert r.status == 200
    hit = r.data["customers"][0]
    assert hit["phone"] == "138****5678"
    assert b"13812345678" not in r.raw.content
    r = client.get("/search?q=王经理")
    assert r.data["contacts"][0]["phone"] == "136****2222"


def _plan(sql: str, params: tuple) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # tiny tables: ask what *can* be used
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
            return plan
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("query", ["电", "电信", "中国电信", "zgdx", "5678"])
def test_every_query_kind_is_served_by_an_index(world, book, query):
    """The match condition itself can be answered from the search index (on tiny test
    tables the planner may still prefer other indexes for the full query)."""
    parsed = search.parse(query)
    condition = search.condition(Customer, parsed)
    qs = Customer.objects.filter(condition).order_by().values("pk")
    sql, params = qs.query.sql_with_params()
    plan = _plan(sql, params)
    if connection.vendor == "postgresql":
        index = "customers_customer_grams" if len(query) < 3 else "customers_customer_trgm"
        assert index in plan, plan
    else:
        table = "customers_customer_grams" if len(query) < 3 else "customers_customer_trgm"
        assert f"SCAN {table} VIRTUAL TABLE" in plan, plan


def test_sqlite_index_triggers_survive_migrations():
    """Rebuilding a table in a later SQLite migration drops its triggers: this fails then,
    and the migration must recreate them (see customers/migrations/0002)."""
    if connection.vendor != "sqlite":
        pytest.skip("FTS5 triggers are SQLite's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                       "AND name LIKE 'customers_%'")
        triggers = {row[0] for row in cursor.fetchall()}
    expected = {f"customers_{model}_{suffix}_{event}" for model in ("customer", "contact")
                for suffix in ("trgm", "grams") for event in ("ai", "ad", "au")}
    assert expected <= triggers


def test_database_check_accepts_utf8_ctypes_only():
    from kehu.customers.checks import check_search_database, ctype_is_utf8

    assert ctype_is_utf8("C.UTF-8") and ctype_is_utf8("zh_CN.utf8") and ctype_is_utf8("en_US.UTF-8")
    assert not ctype_is_utf8("C") and not ctype_is_utf8("POSIX") and not ctype_is_utf8("zh_CN.GBK")
    # The database the suite runs on was created right: the check passes.
    assert check_search_database(databases=["default"]) == []


CONTROL_QUERIES = ["\x00\x00\x00", "\x00", "电\x00信", "\x01\x02\x03\x1f\x7f", "中国\u200b电信",
                   "\ud800电信", '"""', "电信\" OR \"", "NEAR(电信", "*", "^电信", "电信:*",
                   "\t\n\r"]


@pytest.mark.parametrize("query", CONTROL_QUERIES)
def test_any_text_is_a_valid_search(world, book, query):
    """NUL and control characters are no query syntax for either engine (issue 11, 14)."""
    found = names(world.hq_admin, query)
    if query in ("电\x00信", "中国\u200b电信", "\ud800电信"):
        assert "中国电信股份有限公司" in found
    list(search.contacts(world.hq_admin, query))


def test_api_and_pages_search_any_text(world, book):
    from django.test import Client

    r = ApiClient(token_for(world.hq_admin)).get("/search", q="\x00\x00\x00")
    assert r.status == 200, r
    r = ApiClient(token_for(world.hq_admin)).get("/search", q="\x00电信\x00")
    assert r.status == 200 and any(h["name"] == "中国电信股份有限公司"
                                   for h in r.data["customers"]), r
    client = Client()
    client.force_login(world.hq_admin)
    for url in ("/search/", "/search/live/", "/customers/", "/contacts/"):
        assert client.get(url, {"q": "\x00\x00\x00"}).status_code in (200, 400), url
