"""Concurrent tree writes on PostgreSQL: the per-tenant lock keeps the tree a tree."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kehu.core.exceptions import KehuError
from kehu.core.models import OrgUnit
from kehu.core.services.org import org_unit_move
from kehu.core.testing import build_world, fresh

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
