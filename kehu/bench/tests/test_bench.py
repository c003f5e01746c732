"""The benchmark code at a tiny scale: the generator writes valid, deterministic,
correctly derived data; every workload runs and produces figures and a ratio. Timings
are never asserted (these machines are noisy)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F

from kehu.activities.models import Interaction, InteractionContact, InteractionKind
from kehu.bench import generator, report, workloads
from kehu.bench.generator import SCALES, BenchWorld
from kehu.bench.management.commands import bench
from kehu.core import crypto, identifiers, pii
from kehu.core.models import OrgUnit, User
from kehu.customers import normalize
from kehu.customers.models import Contact, Customer, CustomerContact, StatusChange
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

TINY = SCALES["tiny"]
CONTENT = ("name", "short_name", "kind", "uscc", "id_number_hash", "industry", "region",
           "size", "phones", "emails", "addresses", "tier", "vip_grade", "status",
           "quality_score", "search_grams", "name_key")


@pytest.fixture
def bench_world(db: Any) -> BenchWorld:
    return generator.generate(TINY, seed=7, say=lambda _text: None)


def _content(tenant_id: int) -> list[tuple[Any, ...]]:
    return list(Customer.objects.filter(tenant_id=tenant_id).order_by("id")
                .values_list(*CONTENT))


def test_same_seed_same_rows_other_seed_other_rows(bench_world: BenchWorld) -> None:
    again = generator.generate(TINY, seed=7, tenant_name="基准测试二", say=lambda _t: None)
    other = generator.generate(TINY, seed=8, tenant_name="基准测试三", say=lambda _t: None)
    first = _content(bench_world.tenant_id)
    assert len(first) == TINY.customers
    assert first == _content(again.tenant_id)
    assert first != _content(other.tenant_id)
    contacts = [list(Contact.objects.filter(tenant_id=w.tenant_id).order_by("id")
                     .values_list("name", "phones", "email", "birthday"))
                for w in (bench_world, again)]
    assert contacts[0] == contacts[1]
    assert bench_world.counts["customers"] == again.counts["customers"] == TINY.customers


def test_identifiers_phones_and_derived_columns_are_valid(bench_world: BenchWorld) -> None:
    customers = list(Customer.objects.filter(tenant_id=bench_world.tenant_id))
    linked = set(CustomerContact.objects.values_list("customer_id", flat=True))
    codes = [c.uscc for c in customers if c.uscc]
    individuals = [c for c in customers if c.id_number_hash]
    assert codes and individuals
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert identifiers.normalize_uscc(code) == code
    for customer in individuals:
        number = crypto.decrypt(customer.id_number_encrypted)
        assert customer.kind == "individual"
        assert identifiers.normalize_id_number(number) == number
        assert customer.id_number_hash == crypto.blind_hash(number)
        assert customer.id_number_masked == pii.mask_id_number(number)
    for customer in customers:
        assert customer.code == f"C{customer.pk:08d}"
        for phone in customer.phones:
            raw = phone["number"] + (f" 转{phone['ext']}" if phone["ext"] else "")
            assert normalize.parse_phone(raw) == phone
        stored = [getattr(customer, f) for f in ("search_text", "search_grams", "name_key",
                                                 "phone_digits", "quality_score")]
        # The product's own derivation gives exactly what the generator wrote.
        customer_services.refresh_derived(customer, has_contact=customer.pk in linked)
        assert stored == [getattr(customer, f) for f in ("search_text", "search_grams",
                                                         "name_key", "phone_digits",
                                                         "quality_score")]
    for contact in Contact.objects.filter(tenant_id=bench_world.tenant_id)[:200]:
        kept = (contact.search_text, contact.search_grams, contact.phone_digits)
        contact_services.refresh_contact(contact)
        assert kept == (contact.search_text, contact.search_grams, contact.phone_digits)
    assert StatusChange.objects.filter(tenant_id=bench_world.tenant_id).count() == \
        len(customers)


def test_org_tree_hierarchy_and_contacts(bench_world: BenchWorld) -> None:
    units = {u.pk: u for u in OrgUnit.objects.filter(tenant_id=bench_world.tenant_id)}
    kinds = [u.kind for u in units.values()]
    assert kinds.count("group") == 1 and kinds.count("province") == TINY.provinces
    for unit in units.values():
        if unit.parent_id:
            parent = units[unit.parent_id]
            assert unit.path == f"{parent.path}{unit.pk}/"
            assert unit.depth == parent.depth + 1
    customers = {c.pk: c for c in Customer.objects.filter(tenant_id=bench_world.tenant_id)}
    children = [c for c in customers.values() if c.parent_id]
    assert children, "some customers are groups with subsidiaries"
    for customer in customers.values():
        expected = (customers[customer.parent_id].hierarchy_path if customer.parent_id
                    else "/") + f"{customer.pk}/"
        assert customer.hierarchy_path == expected
        assert customer.org_unit_id in units
    assert any(c.tier == "group" for c in customers.values())
    primaries = CustomerContact.objects.filter(customer__tenant_id=bench_world.tenant_id,
                                               is_primary=True)
    assert primaries.count() == len({link.customer_id for link in primaries})
    # The world can be found again by a later `kehu bench run`.
    loaded = BenchWorld.load(bench_world.tenant_name)
    assert loaded.admin_id == bench_world.admin_id
    assert sorted(t.unit_id for t in loaded.teams) == sorted(t.unit_id for t in
                                                             bench_world.teams)


def test_province_persona_sees_its_province_only(bench_world: BenchWorld) -> None:
    unit, manager = workloads.busiest_province(bench_world)
    visible = set(Customer.objects.visible_to(manager).values_list("pk", flat=True))
    inside = set(Customer.objects.filter(tenant_id=bench_world.tenant_id,
                                         org_unit__path__startswith=unit.path)
                 .values_list("pk", flat=True))
    assert visible == inside
    assert 0 < len(visible) < TINY.customers
    # Search as that persona never returns another province's customer.
    queries = workloads.search_queries(manager, 3, random.Random(1))
    for q in queries["chinese_2"]:
        found = {c.pk for c in workloads.search.customers(manager, q)}
        assert found and found <= inside


def test_search_puts_the_expected_records_first(bench_world: BenchWorld) -> None:
    """The relevance check's ground truth, query by query: phone digits bring the phones
    ending with them, code and number prefixes the codes starting with them, Chinese the
    names holding it — all of them in the first 20 (or the first 20 of them)."""
    _unit, manager = workloads.busiest_province(bench_world)
    everyone = workloads.candidates(manager)
    for kind, queries in workloads.search_queries(manager, 6, random.Random(2)).items():
        for q in queries:
            wanted = workloads.expected(kind, q, everyone)
            assert wanted, (kind, q)
            found = [c.pk for c in workloads.search.customers(manager, q)]
            got, could = workloads.relevance(found, wanted)
            assert got == could, (kind, q, found, sorted(wanted))
            sql, params = workloads.floor_search_sql(manager, q)
            assert workloads._raw(sql, params) == found, (kind, q)


def test_interactions_spread_with_one_heavy_customer(bench_world: BenchWorld) -> None:
    tenant = bench_world.tenant_id
    per_customer = Interaction.objects.filter(tenant_id=tenant).values("customer_id") \
        .annotate(n=Count("id")).order_by("-n")
    heaviest = per_customer[0]
    assert heaviest["n"] == generator.HEAVY_INTERACTIONS
    assert per_customer[1]["n"] <= round(TINY.interactions_per_customer * 2)
    assert bench_world.counts["interactions"] == Interaction.objects.filter(
        tenant_id=tenant).count()
    for interaction in Interaction.objects.filter(tenant_id=tenant).select_related(
            "customer")[:200]:
        # Placed with the customer's owner and unit, and never in the future of EPOCH.
        assert interaction.owner_id == interaction.customer.owner_id
        assert interaction.org_unit_id == interaction.customer.org_unit_id
        assert interaction.occurred_at < generator.EPOCH
        assert interaction.kind in InteractionKind.values
    linked = InteractionContact.objects.filter(interaction__tenant_id=tenant)
    assert linked.exists()
    assert not linked.exclude(tenant_id=tenant).exists()
    assert not linked.exclude(contact__customer_links__customer_id=F(
        "interaction__customer_id")).exists()
    # A province persona sees the interactions of its province's customers only.
    unit, manager = workloads.busiest_province(bench_world)
    visible = Interaction.objects.visible_to(manager)
    assert visible.exists()
    assert not visible.exclude(customer__org_unit__path__startswith=unit.path).exists()


@pytest.fixture
def bench_urls(settings: Any) -> None:
    # The bench server's URLconf: Kehu's URLs plus the bare floor view.
    settings.ROOT_URLCONF = "kehu.bench.urls"


@pytest.mark.django_db(transaction=True)
def test_every_workload_runs_and_reports(live_server: Any, bench_urls: None,
                                         tmp_path: Path) -> None:
    world = generator.generate(TINY, seed=3, say=lambda _text: None)
    port = int(live_server.url.rsplit(":", 1)[1])
    results = workloads.run_all(world, TINY, port=port, say=lambda _text: None)
    by_name = {r["workload"]: r for r in results}
    assert set(by_name) == {"search", "unified_view", "list_api", "list_api_http", "mixed",
                            "import"}

    search = by_name["search"]
    assert {c["case"] for c in search["cases"]} == {
        "chinese_1", "chinese_2", "chinese_3plus", "pinyin_initials", "phone_4", "phone_7",
        "credit_code", "code_prefix", "number_prefix"}
    for case in search["cases"]:
        assert case["median_ms"] > 0 and case["floor_median_ms"] > 0
        assert case["ratio"] is not None
        assert case["same_result_as_floor"], case
        assert case["avg_results"] > 0, case
        assert case["relevance"] == 1.0, case
        assert case["floor_sql"].startswith("SELECT c.id FROM customers_customer c"), case

    view = by_name["unified_view"]
    assert all(c["queries"] > 0 for c in view["cases"])
    heavy = view["cases"][0]
    assert heavy["interactions"] == generator.HEAVY_INTERACTIONS
    assert heavy["timeline_panel"] and heavy["timeline_items_returned"] > 0
    assert view["query_count_independent_of_size"]

    listing = by_name["list_api"]
    assert listing["same_rows_as_floor"] and listing["ratio"] is not None
    assert listing["unfiltered"]["count"] == TINY.customers
    assert not listing["unfiltered"]["count_capped"]

    http = by_name["list_api_http"]
    assert http["api"]["requests"] > 0 and http["bare"]["requests"] > 0
    assert http["api"]["errors"] == http["bare"]["errors"] == 0
    assert http["ratio"] is not None

    mixed = by_name["mixed"]
    assert mixed["requests"] > 0
    assert mixed["errors"] == 0, mixed["error_samples"]

    imported = by_name["import"]
    assert imported["state"] == "done", imported["error"]
    assert imported["counts"]["rows"] == workloads.BUDGETS["tiny"].import_rows
    assert imported["rows_per_s"] > 0 and imported["floor_rows_per_s"] > 0
    # The import and its floor are rolled back: the data stays as generated.
    assert Customer.objects.filter(tenant_id=world.tenant_id).count() == TINY.customers

    doc = report.document(scale="tiny", seed=3, generated=world.counts, results=results)
    json_path, md_path = report.write(doc, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8"))["machine"]["vendor"] == \
        connection.vendor
    text = md_path.read_text(encoding="utf-8")
    assert "## Targets" in text and "| search chinese_1: p95 < 50 ms |" in text
    assert "| relevance (expected in top 20) |" in text and "### Floor queries" in text
    assert {t["met"] for t in doc["targets"]} <= {True, False}


def test_bench_users_cannot_sign_in_except_the_admin(bench_world: BenchWorld) -> None:
    users = User.objects.filter(tenant_id=bench_world.tenant_id)
    admin = users.get(pk=bench_world.admin_id)
    assert admin.check_password(generator.BENCH_PASSWORD)
    assert not any(u.has_usable_password() for u in users.exclude(pk=admin.pk))


def test_bench_database_is_never_the_configured_one(monkeypatch: Any, settings: Any,
                                                    tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5433/kehu?sslmode=require")
    assert bench.bench_database_url() == \
        "postgres://u:p@db.example:5433/kehu_bench?sslmode=require"
    monkeypatch.delenv("DATABASE_URL")
    assert bench.bench_database_url() == f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    # The child gets the same request, with an absolute output folder.
    assert bench.child_arguments({"action": "run", "scale": "S", "seed": 2, "only": "search",
                                  "output": "bench/results"}) == [
        "run", "--scale", "S", "--seed", "2", "--output",
        str(Path("bench/results").resolve()), "--only", "search"]


def test_production_settings_do_not_install_the_bench(settings: Any) -> None:
    from kehu.bench import settings as bench_settings

    assert "kehu.bench" not in settings.INSTALLED_APPS
    assert "kehu.bench" in bench_settings.INSTALLED_APPS


def test_run_refuses_missing_or_other_scale_data(db: Any, monkeypatch: Any, settings: Any,
                                                 tmp_path: Path) -> None:
    # `kehu bench` runs under kehu.bench.settings (kehu.cli); here the app is added.
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "kehu.bench"]
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv(bench.ACTIVE, "1")
    with pytest.raises(CommandError, match="kehu bench generate --scale S"):
        call_command("bench", "run", "--scale", "S", "--output", str(tmp_path))
    (tmp_path / f"bench-{connection.vendor}.json").write_text(
        json.dumps({"scale": "tiny", "seed": 1, "tenant": "x", "counts": {}}),
        encoding="utf-8")
    with pytest.raises(CommandError, match=r"tiny.*kehu bench generate --scale S"):
        call_command("bench", "run", "--scale", "S", "--output", str(tmp_path))
    assert not list(tmp_path.glob("*.md"))  # nothing written
