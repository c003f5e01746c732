"""The org tree in a browser: subtrees open on demand (mouse and keyboard), search finds a
unit anywhere and opens the way to it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kehu.core.models import OrgUnit, User
from kehu.core.services import org as org_services
from tests.e2e.test_ui_flows import go, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row(page: Any, name: str) -> Any:
    return page.locator('[data-testid="org-tree"] tbody tr',
                        has=page.get_by_role("link", name=name, exact=True))


def test_open_subtrees_by_mouse_and_keyboard_and_search(page: Any) -> None:
    sign_up(page, "冀中电网有限公司", "admin@jizhong.test")
    admin = User.objects.get(email="admin@jizhong.test")
    create = org_services.org_unit_create
    for p in range(3):
        province = create(actor=admin, parent_id=admin.org_unit_id, name=f"省{p}公司",
                          kind="province", code=f"P{p}")
        for c in range(2):
            city = create(actor=admin, parent_id=province.pk, name=f"省{p}市{c}分公司",
                          kind="city", code=f"P{p}C{c}")
            create(actor=admin, parent_id=city.pk, name=f"省{p}市{c}一组", kind="team",
                   code=f"P{p}C{c}T1")
    go(page, "/org/")
    page.evaluate("window.__kehuSamePage = true")
    tree = page.get_by_role("treegrid")
    assert row(page, "省1公司").get_attribute("aria-expanded") == "false"
    assert row(page, "省1市0分公司").count() == 0  # not loaded until opened

    # Mouse: the triangle opens a province; its cities arrive one level deeper.
    row(page, "省1公司").locator("[data-tree-toggle]").click()
    row(page, "省1市0分公司").wait_for()
    assert row(page, "省1公司").get_attribute("aria-expanded") == "true"
    assert row(page, "省1市1分公司").get_attribute("aria-level") == "3"

    # Keyboard: Down to the first city, Right opens it, Down reaches its team, Left goes
    # back to the city, Left again closes it.
    row(page, "省1公司").focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.getAttribute('data-unit-id')") == \
        row(page, "省1市0分公司").get_attribute("data-unit-id")
    page.keyboard.press("ArrowRight")
    row(page, "省1市0一组").wait_for()
    page.keyboard.press("ArrowRight")  # open already: moves to the first child
    page.keyboard.press("ArrowLeft")   # a leaf: to its parent
    assert row(page, "省1市0分公司").evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowLeft")
    assert row(page, "省1市0一组").count() == 0
    assert row(page, "省1市0分公司").get_attribute("aria-expanded") == "false"
    # Only one row is in the tab order.
    assert tree.locator('tr[tabindex="0"]').count() == 1

    # Search by code: the result shows where the unit is; choosing it opens the way.
    page.fill("#org-q", "p2c1t1")
    result = page.locator('[data-testid="org-search-results"] li')
    result.wait_for()
    assert "冀中电网有限公司 / 省2公司 / 省2市1分公司" in result.inner_text()
    result.get_by_role("link").click()
    page.wait_for_url(re.compile(r"unit=\d+"))
    selected = row(page, "省2市1一组")
    selected.wait_for()
    assert "selected" in selected.get_attribute("class")
    assert row(page, "省2市1分公司").get_attribute("aria-expanded") == "true"
    assert page.evaluate("window.__kehuSamePage") is True

    # Enter on a row selects its unit, and the focus stays on that row.
    row(page, "省0公司").focus()
    page.keyboard.press("Enter")
    page.locator("#unit-title", has_text="省0公司").wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement"
                           ".classList.contains('selected')")

    # The move form finds a new parent anywhere in the tree, not only among shown units.
    target = OrgUnit.objects.get(name="省1市0分公司")
    page.fill("#move-find", "p1c0")
    page.wait_for_function(
        f"() => !!document.querySelector('#id_move-parent option[value=\"{target.pk}\"]')")
    page.select_option("#id_move-parent", str(target.pk))
    page.get_by_role("button", name="移到这里").click()
    page.locator(".message-success").wait_for()
    assert OrgUnit.objects.get(name="省0公司").parent_id == target.pk
