"""kehu.core.placement: the one rule for a record's owner and unit."""

from __future__ import annotations

import pytest

from kehu.core.exceptions import ValidationFailed
from kehu.core.placement import owned_placement, placement
from kehu.core.testing import World

pytestmark = pytest.mark.django_db


def test_defaults_follow_the_owner_and_the_scope(world: World) -> None:
    manager, rep = world.city_a1_manager, world.city_a1_rep
    assert placement(manager, "customers.create", None, None) == (None, manager.org_unit)
    assert placement(manager, "customers.create", rep.pk, None) == (rep, rep.org_unit)
    assert owned_placement(manager, "interactions.create", None, None) == (
        manager, manager.org_unit)
    # "Own" scope: the rep owns what they create, even when no owner is given.
    assert placement(rep, "customers.create", None, None) == (rep, rep.org_unit)


def test_refusals_name_the_field(world: World) -> None:
    manager, rep = world.city_a1_manager, world.city_a1_rep
    with pytest.raises(ValidationFailed) as own:
        placement(rep, "customers.create", manager.pk, None)
    assert "owner_id" in own.value.fields
    with pytest.raises(ValidationFailed) as elsewhere:
        placement(manager, "customers.create", world.prov_b_manager.pk, manager.org_unit_id)
    assert "owner_id" in elsewhere.value.fields
    with pytest.raises(ValidationFailed) as unit:
        placement(manager, "customers.create", None, world.prov_b_manager.org_unit_id)
    assert "org_unit_id" in unit.value.fields
    with pytest.raises(ValidationFailed) as missing:
        placement(manager, "customers.create", 10**12, None)
    assert "owner_id" in missing.value.fields
