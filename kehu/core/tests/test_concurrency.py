"""Concurrency on PostgreSQL: the per-tenant lock keeps the tree a tree; one
Idempotency-Key sent by several requests at once creates once and replays to all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation

from kehu.core.exceptions import KehuError
from kehu.core.models import IdempotencyKey, OrgUnit
from kehu.core.services.org import org_unit_move
from kehu.core.testing import World, build_world, fresh
from kehu.core.tests.test_api import ApiClient, assert_error, token_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite serialises writers itself (IMMEDIATE transactions)"),
]


def test_crossed_moves_cannot_build_a_cycle() -> None:
    w = build_world()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(unit_id: int, parent_id: int) -> None:
        try:
            barrier.wait()
            org_unit_move(actor=fresh(w.hq_admin), unit_id=unit_id,
                          new_parent_id=parent_id)
            outcomes.append("moved")
        except KehuError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(w.prov_a.pk, w.prov_b.pk)),
               threading.Thread(target=move, args=(w.prov_b.pk, w.prov_a.pk))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["moved", "refused"]
    # Every unit's path is its parent's path plus itself: still a tree.
    units = {u.pk: u for u in OrgUnit.objects.filter(tenant=w.tenant)}
    for unit in units.values():
        if unit.parent_id is None:
            assert unit.path == f"/{unit.pk}/"
        else:
            assert unit.path == f"{units[unit.parent_id].path}{unit.pk}/"


# ---------------------------------------------------------------------------- Idempotency-Key


def _concurrent_creates(w: World, n: int, gate: threading.Event,
                        monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], Callable[[], None]]:
    """``n`` threads, each with its own connection, POST one org unit with one key; the
    create that runs is held at ``gate``. Returns the responses (filled once the threads
    end) and a function that waits for the threads."""
    from kehu.core.api import org as org_api

    real_create = org_api.services.org_unit_create

    def held_create(**kwargs: Any) -> Any:
        assert gate.wait(60), "the test never opened the gate"
        return real_create(**kwargs)

    monkeypatch.setattr(org_api.services, "org_unit_create", held_create)
    token = token_for(w.hq_admin)
    body = {"parent_id": w.hq.pk, "name": "并发创建"}
    barrier = threading.Barrier(n)
    responses: list[Any] = []

    def post() -> None:
        try:
            client = ApiClient(token)
            barrier.wait()
            responses.append(client.post("/org-units", body, Idempotency_Key="same-key"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(n)]
    for thread in threads:
        thread.start()

    def join() -> None:
        for thread in threads:
            thread.join(timeout=90)

    return responses, join


def _waiting_on_locks(count: int) -> bool:
    """Wait (bounded) until ``count`` other connections are blocked on a lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0] >= count:
                return True
        time.sleep(0.05)
    return False


def test_concurrent_posts_with_one_key_create_once_and_all_replay(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """N requests with one Idempotency-Key at once: the first creates; the others wait for
    its commit and replay its 201 (they used to run the create too and get 409)."""
    w = build_world()
    n = 5
    gate = threading.Event()
    responses, join = _concurrent_creates(w, n, gate, monkeypatch)
    # Every other request is blocked on the key's row while the first is in flight.
    blocked = _waiting_on_locks(n - 1)
    gate.set()
    join()
    assert blocked, "the other requests did not wait for the first"
    assert len(responses) == n
    assert {r.status for r in responses} == {201}, responses
    assert all(r.data == responses[0].data for r in responses)
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == \
        [""] + ["true"] * (n - 1)
    assert len({r.headers["Location"] for r in responses}) == 1
    assert OrgUnit.objects.filter(tenant=w.tenant, name="并发创建").count() == 1
    assert IdempotencyKey.objects.filter(key="same-key").count() == 1


def test_a_request_waits_for_a_concurrent_key_only_so_long(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait is bounded: past it the second request is told to retry (409)."""
    from kehu.core.http import idempotency

    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST", timedelta(milliseconds=200))
    w = build_world()
    gate = threading.Event()
    responses, join = _concurrent_creates(w, 2, gate, monkeypatch)
    deadline = time.monotonic() + 30
    while len(responses) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    gate.set()
    join()
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 409], responses
    late = next(r for r in responses if r.status == 409)
    with translation.override("zh-hans"):  # the admin's language
        assert assert_error(late, 409, "conflict")["message"] == str(
            idempotency.IdempotencyKeyInFlight.default_message)
    assert OrgUnit.objects.filter(tenant=w.tenant, name="并发创建").count() == 1
    # Once the first is committed, a retry replays it.
    again = ApiClient(token_for(w.hq_admin)).post(
        "/org-units", {"parent_id": w.hq.pk, "name": "并发创建"}, Idempotency_Key="same-key")
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
