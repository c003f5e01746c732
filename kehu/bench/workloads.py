"""The benchmark workloads (issue 5), each measured against its floor in the same run.

A workload returns a plain dict (it goes into the JSON result as is): its cases with
median and p95 latency in milliseconds or a throughput, the floor measured the same way,
and ``ratio`` = product / floor for latencies (1.0 is the floor itself; higher is
slower) or floor / product for throughputs. Targets are in bench/README.md; timings are
never asserted here.

Workloads that need HTTP start the real ASGI server (``kehu serve``) as a subprocess on
a free port against the same database, with the bench URLconf (``kehu.bench.settings``)
that adds the bare floor view.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kehu.activities.models import Interaction
from kehu.bench import generator
from kehu.bench.generator import BenchWorld, Scale
from kehu.core.models import OrgUnit, User
from kehu.core.services import profile as profile_services
from kehu.customers import normalize, reference
from kehu.customers.importing import files as import_files
from kehu.customers.models import Customer, ImportJob
from kehu.customers.selectors import search
from kehu.customers.services import imports as import_services

SEARCH_LIMIT = 20
PAGE = 50
# Seconds between a simulated user's actions (people read; 1–3 s is still brisk).
THINK_TIME = (1.0, 3.0)


@dataclass(frozen=True)
class Budget:
    """How long each workload runs: small in tests, longer for real figures."""

    queries_per_kind: int
    repeats: int
    view_requests: int
    list_requests: int
    http_seconds: float
    mixed_seconds: float
    mixed_users: int
    import_rows: int
    http_concurrency: int = 16


BUDGETS = {
    "tiny": Budget(3, 2, 3, 3, 0.5, 1.0, 4, 60, http_concurrency=2),
    "S": Budget(10, 3, 30, 30, 8.0, 20.0, 50, 10_000),
    "M": Budget(20, 5, 50, 50, 20.0, 60.0, 50, 100_000),
    "L": Budget(20, 5, 50, 50, 20.0, 60.0, 50, 100_000),
}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"median_ms": 0.0, "p95_ms": 0.0, "n": 0}
    return {"median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(percentile(samples, 0.95), 3), "n": len(samples)}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def ratio(product: float, floor: float) -> float | None:
    return round(product / floor, 2) if floor > 0 else None


def _user(pk: int) -> User:
    return User.objects.select_related("org_unit", "tenant").get(pk=pk)


def _client(user: User) -> Client:
    _token, plaintext = profile_services.api_token_create(actor=user, name="bench")
    # An explicit host: the bench also runs outside the test runner ('testserver').
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def busiest_province(world: BenchWorld) -> tuple[OrgUnit, User]:
    """The province with the most customers, and its manager (subtree scope)."""
    counts = {}
    for unit_id in world.province_units:
        path = OrgUnit.objects.get(pk=unit_id).path
        counts[unit_id] = Customer.objects.filter(tenant_id=world.tenant_id,
                                                  org_unit__path__startswith=path).count()
    unit_id = max(counts, key=lambda k: counts[k])
    unit = OrgUnit.objects.get(pk=unit_id)
    manager = User.objects.get(tenant_id=world.tenant_id, org_unit=unit,
                               email__startswith="pm")
    return unit, _user(manager.pk)


# ---------------------------------------------------------------------------- search


def search_queries(actor: User, per_kind: int, rng: random.Random) -> dict[str, list[str]]:
    """Queries of each kind drawn from customers the actor sees (so they find something)."""
    sample = list(Customer.objects.visible_to(actor).exclude(kind="individual")
                  .exclude(short_name="").order_by("id")
                  .values("name", "short_name", "code", "uscc", "phone_digits")[:5000])
    if not sample:
        return {}
    picks = [rng.choice(sample) for _ in range(per_kind)]
    phones = [p["phone_digits"].split()[0] for p in picks if p["phone_digits"]] or ["1380000"]
    codes = [p["uscc"] for p in picks if p["uscc"]] or ["91110000100000000X"]
    return {
        "chinese_1": [p["short_name"][1] for p in picks],
        "chinese_2": [p["short_name"][:2] for p in picks],
        "chinese_3plus": [p["short_name"][:4] for p in picks],
        "pinyin_initials": [normalize.pinyin_forms(p["short_name"])[1] for p in picks],
        "phone_4": [phones[i % len(phones)][-4:] for i in range(per_kind)],
        "phone_7": [phones[i % len(phones)][-7:] for i in range(per_kind)],
        "credit_code": [codes[i % len(codes)] for i in range(per_kind)],
        # A customer code without its last two digits (C000123): up to 100 codes.
        "code_prefix": [p["code"][:-2] for p in picks],
        # The first six characters of a credit code (9144xx: a region's companies).
        "number_prefix": [codes[i % len(codes)][:6] for i in range(per_kind)],
    }


# What each kind of query is for: the records that should come first. The relevance check
# counts how many of them (up to 20) are in the first 20 results.
EXPECTED = {
    "chinese_1": "name or short name holds the characters",
    "chinese_2": "name or short name holds the characters",
    "chinese_3plus": "name or short name holds the characters",
    "pinyin_initials": "initials of the name or short name start with the letters",
    "phone_4": "a phone ends with the digits",
    "phone_7": "a phone ends with the digits",
    "credit_code": "the credit code is the query",
    "code_prefix": "the customer code starts with the query",
    "number_prefix": "the customer code or credit code starts with the query",
}


@dataclass(frozen=True)
class Candidate:
    """What the relevance check reads of a customer the persona sees."""

    pk: int
    name: str
    short_name: str
    code: str
    uscc: str
    phones: tuple[str, ...]
    search_text: str


def candidates(actor: User) -> list[Candidate]:
    """Every customer the persona sees, read once (not timed): the ground truth."""
    rows = Customer.objects.visible_to(actor).live().order_by().values_list(
        "pk", "name", "short_name", "code", "uscc", "phones", "search_text").iterator(2000)
    return [Candidate(pk, name, short, code, uscc,
                      tuple(str(p.get("number", "")).lstrip("+") for p in phones or []),
                      text) for pk, name, short, code, uscc, phones, text in rows]


def expected(kind: str, q: str, everyone: list[Candidate]) -> set[int]:
    """The records a query of ``kind`` should put first, decided from the data itself
    (plain Python over the persona's customers, no search index)."""
    text = normalize.fold(q).lower()
    if kind.startswith("chinese"):
        return {c.pk for c in everyone if text in c.name.lower() or text in c.short_name.lower()}
    if kind == "pinyin_initials":
        return {c.pk for c in everyone if text in c.search_text and any(
            normalize.pinyin_forms(n)[1].startswith(text) for n in (c.name, c.short_name) if n)}
    if kind.startswith("phone"):
        return {c.pk for c in everyone if any(p.endswith(text) for p in c.phones)}
    if kind == "credit_code":
        return {c.pk for c in everyone if c.uscc.lower() == text}
    if kind in ("code_prefix", "number_prefix"):
        return {c.pk for c in everyone
                if c.code.lower().startswith(text) or c.uscc.lower().startswith(text)}
    raise ValueError(kind)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def floor_search_sql(actor: User, q: str, *, scan: bool = False) -> tuple[str, list[Any]]:
    """The simplest raw SQL giving ``search.customers``'s answer: the same index, the same
    scope (the actor's unit subtree) and order (``search.customer_rank``, written out).
    ``scan`` swaps the index for a full scan (the ceiling)."""
    query = search.parse(q)
    text = search.match_text(query)
    pg = connection.vendor == "postgresql"
    params: list[Any] = []
    if scan:
        match = "strpos(c.search_text || ' ' || c.search_grams, %s) > 0" if pg else \
            "instr(c.search_text || ' ' || c.search_grams, %s) > 0"
        params.append(text)
    elif pg and len(text) < 3:
        match = "string_to_array(c.search_grams, ' ') @> ARRAY[%s]::text[]"
        params.append(text)
    elif pg:
        match = "c.search_text LIKE %s"
        params.append(f"%{_like_escape(text)}%")
    else:
        fts, column = (("customers_customer_grams", "search_grams") if len(text) < 3 else
                       ("customers_customer_trgm", "search_text"))
        match = f"c.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH %s)"  # noqa: S608
        params.append(f'{column} : "{text.replace(chr(34), chr(34) * 2)}"')
    like = "LIKE %s ESCAPE '\\'"
    t, esc = text.lower(), _like_escape(text.lower())
    digits = search.phone_query(query)
    phone = ""
    rank_params: list[Any] = [t, t]
    if digits:
        phone = ("WHEN c.phone_digits LIKE %s OR c.phone_digits LIKE %s THEN 1 "
                 "WHEN c.phone_digits LIKE %s THEN 2 ")
        rank_params += [f"%{digits}", f"%{digits} %", f"%{digits}%"]
    rank_params += [t, esc + "%", esc + "%", esc + "%", esc + "%", "%" + esc + "%",
                    "%" + esc + "%", esc + "%", "%|" + esc + "%"]
    # Fixed SQL fragments only; every value is a parameter.
    sql = (
        "SELECT c.id FROM customers_customer c JOIN core_orgunit u ON u.id = c.org_unit_id "  # noqa: S608
        f"WHERE c.tenant_id = %s AND u.path LIKE %s AND c.merged_into_id IS NULL AND {match} "
        f"ORDER BY CASE WHEN lower(c.code) = %s OR lower(c.uscc) = %s THEN 0 {phone}"
        "WHEN lower(c.name) = %s THEN 3 "
        f"WHEN lower(c.name) {like} OR lower(c.short_name) {like} THEN 4 "
        f"WHEN lower(c.code) {like} OR lower(c.uscc) {like} THEN 5 "
        f"WHEN lower(c.name) {like} OR lower(c.short_name) {like} THEN 6 "
        f"WHEN c.search_text {like} OR c.search_text {like} THEN 7 ELSE 8 END, "
        "length(c.name), c.id DESC LIMIT %s"
    )
    params = [actor.tenant_id, actor.org_unit.path + "%", *params, *rank_params, SEARCH_LIMIT]
    return sql, params


def written(sql: str, params: list[Any]) -> str:
    """``sql`` with its parameters written in, for the result file (values quoted)."""
    def literal(value: Any) -> str:
        return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
    return sql.replace("%s", "{}").format(*(literal(p) for p in params))


def _search(actor: User, q: str) -> list[Customer]:
    return list(search.customers(actor, q, SEARCH_LIMIT))


def _raw(sql: str, params: list[Any]) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def relevance(found: list[int], wanted: set[int]) -> tuple[int, int]:
    """(expected records among ``found``, how many could have been): the share of the
    expected in the first results."""
    return len(wanted.intersection(found)), min(len(wanted), SEARCH_LIMIT)


def workload_search(world: BenchWorld, budget: Budget, rng: random.Random) -> dict[str, Any]:
    unit, actor = busiest_province(world)
    everyone = candidates(actor)
    cases = []
    for kind, queries in search_queries(actor, budget.queries_per_kind, rng).items():
        product: list[float] = []
        floor: list[float] = []
        ceiling: list[float] = []
        same = True
        found = 0
        hits = possible = 0
        for index, q in enumerate(queries):
            sql, params = floor_search_sql(actor, q)
            scan_sql, scan_params = floor_search_sql(actor, q, scan=True)
            list(search.customers(actor, q, SEARCH_LIMIT))  # warm the caches
            _raw(sql, params)
            for _ in range(budget.repeats):
                ms, rows = timed(partial(_search, actor, q))
                product.append(ms)
                ms, ids = timed(partial(_raw, sql, params))
                floor.append(ms)
            if index < 3:  # a full scan of a million rows takes a while: three suffice
                ceiling.append(timed(partial(_raw, scan_sql, scan_params))[0])
            found += len(rows)
            same = same and [r.pk for r in rows] == ids
            got, could = relevance([r.pk for r in rows], expected(kind, q, everyone))
            hits, possible = hits + got, possible + could
        p, f = summary(product), summary(floor)
        first_sql, first_params = floor_search_sql(actor, queries[0])
        cases.append({"case": kind, "examples": queries[:3], **p,
                      "floor_median_ms": f["median_ms"], "floor_p95_ms": f["p95_ms"],
                      "ceiling_full_scan_median_ms": summary(ceiling)["median_ms"],
                      "ratio": ratio(p["median_ms"], f["median_ms"]),
                      "ratio_p95": ratio(p["p95_ms"], f["p95_ms"]),
                      "avg_results": round(found / max(1, len(queries)), 1),
                      "same_result_as_floor": same,
                      "expected": EXPECTED[kind],
                      "relevance": round(hits / possible, 3) if possible else None,
                      "expected_in_top": hits, "expected_possible": possible,
                      "floor_sql": written(first_sql, first_params)})
    visible = Customer.objects.visible_to(actor).count()
    return {"workload": "search", "persona": f"province manager of {unit.name}",
            "visible_customers": visible, "limit": SEARCH_LIMIT, "cases": cases}


# ---------------------------------------------------------------------------- unified view


def workload_view(world: BenchWorld, budget: Budget) -> dict[str, Any]:
    """The unified view of the customer with the most interactions (the generator gives
    one customer ``HEAVY_INTERACTIONS``) and of a customer with nothing around it: the
    query count must be the same."""
    admin = _user(world.admin_id)
    client = _client(admin)
    tenant = world.tenant_id
    busiest = (Interaction.objects.filter(tenant_id=tenant).values("customer_id")
               .annotate(n=Count("id")).order_by("-n", "customer_id").first())
    # A customer with a few interactions (at most 10) and no group: the smallest whose
    # panels all have rows, so both views run the same queries if none grows with size.
    small = (Interaction.objects.filter(tenant_id=tenant, customer__parent__isnull=True,
                                        customer__children__isnull=True)
             .exclude(customer_id=busiest["customer_id"] if busiest else 0)
             .order_by("id").values_list("customer_id", flat=True).first())
    cases = []
    for label, customer_id in (
            ("customer with the most interactions",
             busiest["customer_id"] if busiest else None),
            ("customer with a few interactions", small)):
        if customer_id is None:
            continue
        url = f"/api/v1/customers/{customer_id}/view"
        client.get(url)
        samples = []
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        # Read now: the next request's request_started signal resets the query log.
        n_queries = len(queries)
        assert response.status_code == 200, response.content[:300]
        for _ in range(budget.view_requests):
            samples.append(timed(partial(client.get, url))[0])
        body = response.json()
        panels = body.get("panels", {})
        timeline = panels.get("interactions") or {}
        cases.append({"case": label, "customer_id": customer_id, **summary(samples),
                      "queries": n_queries, "contacts": len(body["contacts"]),
                      "group_members": body["hierarchy"]["group_members"],
                      "interactions": Interaction.objects.filter(
                          customer_id=customer_id).count(),
                      "timeline_items_returned": len(timeline.get("items", [])),
                      "timeline_panel": "interactions" in panels})
    counts = {c["queries"] for c in cases}
    return {"workload": "unified_view", "path": "GET /api/v1/customers/{id}/view",
            "query_count_independent_of_size": len(counts) == 1, "cases": cases}


# ---------------------------------------------------------------------------- list API


def list_params(world: BenchWorld) -> tuple[OrgUnit, str]:
    """The busiest province's subtree, status "customer" (about a third of the rows)."""
    return busiest_province(world)[0], "customer"


def bare_list_sql(tenant_id: int, path: str, status: str, offset: int = 0
                  ) -> tuple[str, list[Any]]:
    """The list API's rows (same filter, order and page) by the simplest raw SQL."""
    sql = ("SELECT c.id, c.code, c.name, c.kind, c.status, c.tier, c.region, c.created_at "
           "FROM customers_customer c JOIN core_orgunit u ON u.id = c.org_unit_id "
           "WHERE c.tenant_id = %s AND c.merged_into_id IS NULL AND u.path LIKE %s "
           "AND c.status = %s ORDER BY c.created_at DESC, c.id DESC LIMIT %s OFFSET %s")
    return sql, [tenant_id, path + "%", status, PAGE, offset]


def workload_list(world: BenchWorld, budget: Budget) -> dict[str, Any]:
    """In-process latency and query count of the list API, against its raw SQL."""
    manager = _user(world.hq_manager_id)
    client = _client(manager)
    unit, status = list_params(world)
    url = f"/api/v1/customers?org_unit_id={unit.pk}&status={status}&limit={PAGE}"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    n_queries = len(queries)  # before the next request resets the log
    body = response.json()
    samples = [timed(partial(client.get, url))[0] for _ in range(budget.list_requests)]
    sql, params = bare_list_sql(world.tenant_id, unit.path, status)
    ids = _raw(sql, params)
    floor = [timed(partial(_raw, sql, params))[0] for _ in range(budget.list_requests)]
    p, f = summary(samples), summary(floor)
    # The whole company, unfiltered: where the count would be largest (capped at 10,000).
    whole = f"/api/v1/customers?limit={PAGE}"
    client.get(whole)
    whole_samples = [timed(partial(client.get, whole))[0] for _ in range(budget.list_requests)]
    whole_body = client.get(whole).json()
    return {"workload": "list_api", "path": url, "queries": n_queries,
            "count": body["count"], "count_capped": body["count_capped"],
            "same_rows_as_floor": [item["id"] for item in body["items"]] == ids,
            **p, "floor_median_ms": f["median_ms"], "floor_p95_ms": f["p95_ms"],
            "ratio": ratio(p["median_ms"], f["median_ms"]),
            "unfiltered": {"path": whole, **summary(whole_samples),
                           "count": whole_body["count"],
                           "count_capped": whole_body["count_capped"]}}


# ---------------------------------------------------------------------------- HTTP server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(workers: int = 1) -> Iterator[int]:
    """``kehu serve`` on a free port with the bench URLconf, against this database."""
    port = free_port()
    # The environment carries the bench DATABASE_URL (see the bench command).
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="kehu.bench.settings",
               KEHU_LOG_LEVEL="WARNING")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 -- our own interpreter and command
            [sys.executable, "-m", "kehu.cli", "serve", "--port", str(port),
             "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
        yield from _serving(process, port, log)


def _serving(process: subprocess.Popen[bytes], port: int, log: Any) -> Iterator[int]:
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("The bench server did not start: "
                                       + log.read().decode(errors="replace")[-2000:]) from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def _given(port: int) -> Iterator[int]:
    yield port


class Http:
    """One keep-alive connection per simulated user."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.headers = {"Host": "127.0.0.1", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = dict(self.headers, **(headers or {}))
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=all_headers)
                response = self.conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def hammer(port: int, path: str, token: str | None, concurrency: int, seconds: float
           ) -> dict[str, Any]:
    """Requests per second of one GET at a fixed concurrency, with latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run() -> None:
        client = Http(port, token)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop:
            ms, (status, _h, _b) = timed(lambda: client.request("GET", path))
            mine.append(ms)
            bad += status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors[0],
            "requests_per_s": round(len(latencies) / elapsed, 1), **summary(latencies)}


def workload_list_http(world: BenchWorld, budget: Budget, port: int) -> dict[str, Any]:
    manager = _user(world.hq_manager_id)
    _token, plaintext = profile_services.api_token_create(actor=manager, name="bench-http")
    unit, status = list_params(world)
    api = f"/api/v1/customers?org_unit_id={unit.pk}&status={status}&limit={PAGE}"
    bare = f"/bench/bare/customers?tenant={world.tenant_id}&unit={unit.pk}&status={status}"
    Http(port, plaintext).request("GET", api)  # warm up both
    Http(port).request("GET", bare)
    product = hammer(port, api, plaintext, budget.http_concurrency, budget.http_seconds)
    floor = hammer(port, bare, None, budget.http_concurrency, budget.http_seconds)
    return {"workload": "list_api_http", "concurrency": budget.http_concurrency,
            "path": api, "bare_path": bare,
            "api": product, "bare": floor,
            "ratio": ratio(floor["requests_per_s"], product["requests_per_s"])}


# ---------------------------------------------------------------------------- mixed load


def workload_mixed(world: BenchWorld, budget: Budget, port: int, rng: random.Random
                   ) -> dict[str, Any]:
    """Simulated account managers, each on their own customers: browse, search, view,
    edit, create an interaction, with a think time between
    actions (THINK_TIME): a user reads what they asked for before the next click."""
    owners = list(Customer.objects.filter(tenant_id=world.tenant_id, owner__isnull=False,
                                          owner__email__startswith="am")
                  .values_list("owner_id", flat=True).distinct().order_by("owner_id")
                  [:budget.mixed_users])
    people = []
    for owner_id in owners:
        user = _user(owner_id)
        _token, plaintext = profile_services.api_token_create(actor=user, name="bench-mixed")
        mine = list(Customer.objects.filter(owner_id=owner_id).values("id", "short_name",
                                                                      "name")[:50])
        people.append((plaintext, mine, random.Random(rng.random())))  # noqa: S311
    actions = ("browse", "search", "view", "edit", "create")
    weights = (30, 25, 25, 10, 10)
    latencies: dict[str, list[float]] = {a: [] for a in actions}
    errors: dict[str, int] = dict.fromkeys(actions, 0)
    samples_of_errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + budget.mixed_seconds

    def act(client: Http, action: str, mine: list[dict[str, Any]], prng: random.Random
            ) -> int:
        customer = prng.choice(mine)
        if action == "browse":
            return client.request("GET", "/api/v1/customers?limit=20")[0]
        if action == "search":
            q = customer["short_name"][:2] or customer["name"][:2]
            from urllib.parse import quote

            return client.request("GET", f"/api/v1/search?q={quote(q)}")[0]
        if action == "view":
            return client.request("GET", f"/api/v1/customers/{customer['id']}/view")[0]
        if action == "edit":
            status, headers, _body = client.request("GET", f"/api/v1/customers/{customer['id']}")
            if status != 200:
                return status
            etag = headers.get("etag") or headers.get("ETag") or "*"
            return client.request("PATCH", f"/api/v1/customers/{customer['id']}",
                                  {"notes": f"基准测试备注 {prng.randrange(10**6)}"},
                                  {"If-Match": etag})[0]
        topic = prng.choice(generator.TOPICS)
        return client.request("POST", "/api/v1/interactions", {
            "customer_id": customer["id"], "kind": "call", "subject": f"电话沟通{topic}",
            "content": f"基准测试：与客户沟通{topic}。", "duration_minutes": prng.randint(2, 30),
        })[0]

    def user_loop(token: str, mine: list[dict[str, Any]], prng: random.Random) -> None:
        client = Http(port, token)
        local: dict[str, list[float]] = {a: [] for a in actions}
        bad: dict[str, int] = dict.fromkeys(actions, 0)
        # Users arrive spread over one think time, not all in the same millisecond.
        time.sleep(prng.uniform(0, THINK_TIME[1]))
        while time.perf_counter() < stop:
            action = prng.choices(actions, weights)[0]
            try:
                ms, status = timed(partial(act, client, action, mine, prng))
            except (OSError, http.client.HTTPException) as exc:
                ms, status = 0.0, 0
                samples_of_errors.append(f"{action}: {exc}")
            local[action].append(ms)
            if status not in (200, 201):
                bad[action] += 1
                if len(samples_of_errors) < 10:
                    samples_of_errors.append(f"{action}: HTTP {status}")
            time.sleep(prng.uniform(*THINK_TIME))
        with lock:
            for a in actions:
                latencies[a].extend(local[a])
                errors[a] += bad[a]

    threads = [threading.Thread(target=user_loop, args=p) for p in people if p[1]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [ms for values in latencies.values() for ms in values]
    return {"workload": "mixed", "users": len(threads), "seconds": budget.mixed_seconds,
            "think_time_s": list(THINK_TIME), "requests": len(everything),
            "requests_per_s": round(len(everything) / budget.mixed_seconds, 1),
            "errors": sum(errors.values()), "error_samples": samples_of_errors[:10],
            "overall": summary(everything),
            "actions": {a: {**summary(latencies[a]), "errors": errors[a]} for a in actions},
            "create_is": "interaction (POST /api/v1/interactions)"}


# ---------------------------------------------------------------------------- import


IMPORT_HEADERS = ["客户名称", "客户类型", "统一社会信用代码", "电话", "地区", "行业", "客户等级",
                  "状态", "地址", "邮箱"]


def write_import_csv(path: Path, rows: int, world: BenchWorld, rng: random.Random) -> int:
    """New customers as a sales team's spreadsheet: about 1% with a bad credit code and
    1% already in the database (found as duplicates and skipped)."""
    existing = list(Customer.objects.filter(tenant_id=world.tenant_id).exclude(uscc="")
                    .values_list("name", "uscc")[:max(10, rows // 100)])
    cities = [t.region_code for t in world.teams]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_HEADERS)
        for i in range(rows):
            city = rng.choice(cities)
            word, industry = rng.choice(generator.INDUSTRY_WORDS)
            brand = rng.choice(generator.BRANDS) + rng.choice(generator.BRANDS)[0]
            region = reference.region(city)
            place = region.name[:2] if region else ""
            name = f"{place}{brand}{word}{rng.choice(generator.LEGAL_SUFFIXES)}"
            uscc = generator.make_uscc(rng, city)
            if rng.random() < 0.01 and existing:
                name, uscc = rng.choice(existing)
            elif rng.random() < 0.01:
                uscc = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")  # wrong check char
            phone = generator.make_mobile(rng) if rng.random() < 0.5 else \
                generator.make_landline(rng)
            writer.writerow([name, "企业", uscc, phone, city, industry,
                             rng.choice(("普通", "ordinary", "local", "province")),
                             rng.choice(("潜在客户", "客户", "potential", "customer")),
                             f"{rng.choice(generator.ROADS)}{i % 999 + 1}号",
                             f"info{i}@import.example.cn" if rng.random() < 0.5 else ""])
    return rows


def _floor_rows(path: Path, world: BenchWorld) -> list[dict[str, Any]]:
    """The CSV's rows as table rows with no cleaning at all: what raw COPY would load."""
    now = generator.EPOCH
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for name, _kind, uscc, phone, region, industry, _tier, _status, address, email \
                in reader:
            out.append({"tenant_id": world.tenant_id, "org_unit_id": world.hq_unit_id,
                        "owner_id": world.admin_id, "created_at": now, "updated_at": now,
                        "status_changed_at": now, "name": name, "kind": "enterprise",
                        "uscc": uscc[:18], "region": region[:6], "industry": industry[:4],
                        "phones": [{"number": phone, "kind": "", "ext": ""}],
                        "addresses": [{"kind": "registered", "text": address}],
                        "emails": [email] if email else []})
    return out


def raw_copy(rows: list[dict[str, Any]]) -> float:
    """Milliseconds to load ``rows`` into the customers table by the fastest raw path —
    binary COPY on PostgreSQL, executemany on SQLite — rolled back afterwards."""
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    names = [f.attname for f in fields]
    columns = ", ".join(str(f.column) for f in fields)
    table = Customer._meta.db_table
    pg = connection.vendor == "postgresql"
    if pg:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t "
                "ON t.oid = a.atttypid WHERE a.attrelid = %s::regclass AND a.attnum > 0",
                [table])
            types = dict(cursor.fetchall())
        type_names = [types[f.column] for f in fields]
    else:
        loader = generator.Loader(lambda _text: None)
        converters = [loader._converter(f) for f in fields]
    values = [[row.get(n, defaults[n]) for n in names] for row in rows]
    if not pg:
        values = [[c(v) for c, v in zip(converters, row, strict=True)] for row in values]
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        if pg:
            with cursor.cursor.copy(
                    f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(type_names)
                for row in values:
                    copy.write_row(row)
        else:
            cursor.cursor.executemany(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 -- model names
                f"VALUES ({', '.join('?' * len(fields))})", values)
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)  # a measurement, not data
    return elapsed


def workload_import(world: BenchWorld, rows: int, rng: random.Random) -> dict[str, Any]:
    """The product's import path (upload, dry run, run: validation, dedup, search index)
    against raw COPY of the same rows. Both are rolled back: the database stays as
    generated."""
    admin = _user(world.admin_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench-import.csv"
        write_import_csv(path, rows, world, rng)
        floor_rows = _floor_rows(path, world)
        floor_ms = min(raw_copy(floor_rows) for _ in range(2))
        before = Customer.objects.filter(tenant_id=world.tenant_id).count()
        with transaction.atomic():
            upload_ms, job = timed(lambda: import_services.import_create_from_path(
                actor=admin, entity=ImportJob.Entity.CUSTOMERS, path=path))
            check_ms, job = timed(lambda: import_services.import_check(actor=admin, job_id=job.pk))
            import_services.import_queue(actor=admin, job_id=job.pk)
            run_ms, job = timed(lambda: import_services.run_job(job.pk))
            imported = Customer.objects.filter(tenant_id=world.tenant_id).count() - before
            counts = dict(job.counts)
            state = job.state
            error = job.error
            transaction.set_rollback(True)
        import_files.stored_path(job).unlink(missing_ok=True)
    total_ms = upload_ms + check_ms + run_ms
    product_rps = rows / (total_ms / 1000)
    floor_rps = rows / (floor_ms / 1000)
    return {"workload": "import", "rows": rows, "state": state, "error": error,
            "counts": counts, "imported": imported,
            "upload_ms": round(upload_ms), "check_ms": round(check_ms), "run_ms": round(run_ms),
            "rows_per_s": round(product_rps), "run_only_rows_per_s": round(rows /
                                                                            (run_ms / 1000)),
            "floor": "binary COPY" if connection.vendor == "postgresql" else
            "executemany INSERT",
            "floor_ms": round(floor_ms, 1), "floor_rows_per_s": round(floor_rps),
            "share_of_floor": round(product_rps / floor_rps, 4)}


# ---------------------------------------------------------------------------- all


WORKLOADS = ("search", "view", "list", "list_http", "mixed", "import")


def run_all(world: BenchWorld, scale: Scale, *, only: str | None = None, seed: int = 1,
            say: Callable[[str], None] = print, port: int | None = None
            ) -> list[dict[str, Any]]:
    """Every workload (or ``only`` one). HTTP workloads use ``port`` when given (tests
    pass their live server), else a ``kehu serve`` subprocess."""
    budget = BUDGETS[scale.name]
    rng = random.Random(seed)  # noqa: S311 -- reproducible choices, not secrets
    results: list[dict[str, Any]] = []
    wanted = [w for w in WORKLOADS if only in (None, w)]

    def step(name: str, fn: Callable[[], dict[str, Any]]) -> None:
        say(f"workload {name}…")
        started = time.perf_counter()
        result = fn()
        result["seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
        say(f"  done in {result['seconds']}s")

    if "search" in wanted:
        step("search", lambda: workload_search(world, budget, rng))
    if "view" in wanted:
        step("view", lambda: workload_view(world, budget))
    if "list" in wanted:
        step("list", lambda: workload_list(world, budget))
    if "list_http" in wanted or "mixed" in wanted:
        with server() if port is None else _given(port) as live:
            if "list_http" in wanted:
                step("list_http", lambda: workload_list_http(world, budget, live))
            if "mixed" in wanted:
                step("mixed", lambda: workload_mixed(world, budget, live, rng))
    if "import" in wanted:
        step("import", lambda: workload_import(world, budget.import_rows, rng))
    return results

