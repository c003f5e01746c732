"""The org page at scale: the tops and one level first, subtrees on opening, search by
name or code with each result's place in the tree (issue 19, item 4)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kehu.core import selectors
from kehu.core.models import OrgUnit, User
from kehu.core.services.org import org_unit_create, org_unit_update
from kehu.core.testing import World

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_levels(body: str) -> dict[str, tuple[str, str | None]]:
    """Unit name → (aria-level, aria-expanded) of each row of the tree in ``body``."""
    found = {}
    for row in re.findall(r"<tr role=\"row\"(.*?)</tr>", body, re.S):
        name = re.search(r'hx-push-url="true"[^>]*>([^<]+)</a>', row)
        if name:
            level = re.search(r'aria-level="(\d+)"', row)
            expanded = re.search(r'aria-expanded="(\w+)"', row)
            assert level
            found[name.group(1)] = (level.group(1), expanded.group(1) if expanded else None)
    return found


def grow(world: World, count: int) -> None:
    """More units at every depth: cities under both provinces, teams under them."""
    for n in range(count):
        city = org_unit_create(actor=world.hq_admin, name=f"新城{n}", kind="city",
                               parent_id=(world.prov_a if n % 2 else world.prov_b).pk)
        org_unit_create(actor=world.hq_admin, parent_id=city.pk, name=f"新组{n}", kind="team")


def test_first_load_costs_the_same_whatever_the_number_of_units(world: World) -> None:
    client = client_for(world.hq_admin)
    url = reverse("org_tree")
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        body = client.get(url).content.decode()
    # HQ is the top, opened; its provinces are listed (closed), nothing deeper.
    rows = row_levels(body)
    assert rows == {world.hq.name: ("1", "true"), world.prov_a.name: ("2", "false"),
                    world.prov_b.name: ("2", "false")}
    grow(world, 20)
    with CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
    assert "新城1" not in body and "新组1" not in body


def test_opening_a_unit_fetches_its_children(world: World) -> None:
    client = client_for(world.hq_admin)
    response = client.get(reverse("org_unit_children", args=[world.prov_a.pk]), {"level": 2})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert row_levels(body) == {world.city_a1.name: ("3", "false")}
    children_url = reverse("org_unit_children", args=[world.city_a1.pk])
    assert f'data-children="{children_url}"' in body
    leaf = client.get(children_url, {"level": 3}).content.decode()
    assert row_levels(leaf) == {world.team_a1.name: ("4", None)}  # a leaf has no toggle
    assert 'data-tree-toggle' not in leaf


def test_children_of_an_unseen_unit_are_404(world: World) -> None:
    client = client_for(world.prov_a_manager)
    response = client.get(reverse("org_unit_children", args=[world.prov_b.pk]))
    assert response.status_code == 404
    assert world.city_b1.name not in response.content.decode()
    other = client_for(world.other_tenant_admin)
    assert other.get(reverse("org_unit_children", args=[world.hq.pk])).status_code == 404


def test_a_selected_unit_opens_the_way_to_it(world: World) -> None:
    body = client_for(world.hq_admin).get(reverse("org_tree"),
                                          {"unit": world.team_a1.pk}).content.decode()
    rows = row_levels(body)
    assert rows[world.hq.name] == ("1", "true")
    assert rows[world.prov_a.name] == ("2", "true")
    assert rows[world.city_a1.name] == ("3", "true")
    assert rows[world.team_a1.name] == ("4", None)
    assert rows[world.prov_b.name] == ("2", "false")
    assert world.city_b1.name not in rows
    assert 'role="treegrid"' in body


def test_a_long_list_of_children_says_there_are_more(world: World, monkeypatch) -> None:
    monkeypatch.setattr(selectors, "ORG_CHILDREN_LIMIT", 3)
    for n in range(5):
        org_unit_create(actor=world.hq_admin, parent_id=world.city_a1.pk, name=f"组{n}",
                        kind="team")
    body = client_for(world.hq_admin).get(
        reverse("org_unit_children", args=[world.city_a1.pk]), {"level": 3}).content.decode()
    assert len(row_levels(body)) == 3
    assert body.count('class="tree-more"') == 1  # 6 children, 3 listed, then the note


def test_search_by_name_or_code_shows_where_each_unit_is(world: World) -> None:
    org_unit_update(actor=world.hq_admin, unit_id=world.team_a1.pk, code="GZ-ZQ1")
    client = client_for(world.hq_admin)
    for query in ("政企", "gz-zq"):
        response = client.get(reverse("org_tree"), {"q": query},
                              headers={"HX-Request": "true", "HX-Target": "org-search-results"})
        body = response.content.decode()
        assert 'data-testid="org-tree"' not in body  # only the results
        results = body[body.index('data-testid="org-search-results"'):]
        assert world.team_a1.name in results
        assert f"{world.hq.name} / {world.prov_a.name} / {world.city_a1.name}" in results
    # Without JavaScript the form reloads the page with the results on it.
    page = client.get(reverse("org_tree"), {"q": "杭州"}).content.decode()
    assert 'data-testid="org-search-results"' in page and world.city_b1.name in page
    assert "org-search-empty" in client.get(reverse("org_tree"), {"q": "无此单位"}).content.decode()


def test_search_finds_only_visible_units(world: World) -> None:
    client = client_for(world.prov_a_manager)
    body = client.get(reverse("org_tree"), {"q": "分公司"}).content.decode()
    results = body[body.index('data-testid="org-search-results"'):]
    assert world.city_a1.name in results
    assert world.city_b1.name not in results
    # The path starts at what the manager sees: HQ's name is not shown.
    assert world.hq.name not in results


def test_a_parent_not_on_the_page_can_still_be_chosen(world: World) -> None:
    # The move form lists the units on the page; a posted parent found by search works too.
    unit = OrgUnit.objects.get(pk=world.team_a1.pk)
    response = client_for(world.hq_admin).post(
        reverse("org_unit_move", args=[unit.pk]),
        {"move-parent": world.city_b1.pk, "move-version": unit.version})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.parent_id == world.city_b1.pk
    response = client_for(world.hq_admin).post(
        reverse("org_unit_move", args=[unit.pk]),
        {"move-parent": "abc", "move-version": unit.version})
    assert response.status_code == 422


def test_the_move_form_finds_parents_anywhere(world: World) -> None:
    client = client_for(world.hq_admin)
    url = reverse("org_unit_parents", args=[world.city_a1.pk])
    page = client.get(reverse("org_tree"), {"unit": world.city_a1.pk}).content.decode()
    assert f'hx-get="{url}"' in page
    body = client.get(url, {"find": "公司"}).content.decode()
    values = re.findall(r'<option value="(\d+)"', body)
    # The current parent first; the unit itself and its subtree are never offered.
    assert values[0] == str(world.prov_a.pk)
    assert str(world.prov_b.pk) in values and str(world.city_b1.pk) in values
    assert str(world.city_a1.pk) not in values and str(world.team_a1.pk) not in values
    assert f"杭州分公司 — {world.hq.name} / {world.prov_b.name}" in body
    # Only someone who may change the unit asks; nothing of other areas leaks.
    rep = client_for(world.city_a1_rep)
    assert rep.get(url, {"find": "公司"}).status_code == 403
    manager = client_for(world.prov_a_manager)
    found = manager.get(url, {"find": "公司"}).content.decode()
    assert world.prov_b.name not in found and world.city_b1.name not in found
