"""End-to-end: a company signs up, signs out and in, builds its org tree; phone-width nav."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from kehu.core.models import AuditEvent, OrgUnit, Tenant
from kehu.core.testing import totp_code
from kehu.notifications.tasks import send_pending_emails

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Kehu-e2e-pass-2026"
SHOTS = Path(os.environ.get("KEHU_E2E_SHOTS", Path(tempfile.gettempdir()) / "kehu-e2e-shots"))


def go(page: Any, path: str) -> None:
    page.goto(page.base_url + path)


def sign_up(page: Any, company: str, email: str) -> None:
    go(page, "/signup/")
    # The first field has focus: type straight away, as a keyboard user would.
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_company_name'")
    page.keyboard.type(company)
    page.fill("#id_admin_name", "周总")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.click("button[type=submit]")
    # "Check your mailbox": the company exists once the emailed link is followed.
    page.wait_for_url(page.base_url + "/signup/sent/")
    assert email in page.locator('[data-testid="signup-sent"]').inner_text()
    assert not Tenant.objects.filter(name=company).exists()
    mail.outbox.clear()
    send_pending_emails()
    [message] = [m for m in mail.outbox if m.to == [email]]
    [link] = re.findall(r"https?://\S+(/signup/confirm/\S+/)", message.body)
    go(page, link)
    page.get_by_role("button", name="确认并创建公司").click()
    page.wait_for_url(page.base_url + "/")


def tree_row(page: Any, name: str) -> Any:
    return page.locator('[data-testid="org-tree"] tr', has=page.get_by_role("link", name=name,
                                                                            exact=True))


def test_signup_logout_login(page: Any) -> None:
    sign_up(page, "岭南电子有限公司", "zhou@lingnan.test")
    assert page.locator(".tenant-name").inner_text() == "岭南电子有限公司"
    assert Tenant.objects.filter(name="岭南电子有限公司").exists()

    page.locator(".user-menu summary").click()
    page.locator(".user-menu button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/"))
    go(page, "/")
    assert "/login/" in page.url

    page.fill("#id_email", "zhou@lingnan.test")
    page.fill("#id_password", "wrong-password!")
    page.click("button[type=submit]")
    assert page.locator(".form-errors[role=alert]").is_visible()

    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")
    assert page.locator(".tenant-name").inner_text() == "岭南电子有限公司"


def test_signup_field_errors_are_shown(page: Any) -> None:
    go(page, "/signup/")
    page.fill("#id_company_name", "测试公司")
    page.fill("#id_admin_name", "某人")
    page.fill("#id_email", "someone@test.test")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD + "x")
    page.click("button[type=submit]")
    assert page.locator(".field.has-error #id_password_confirm").count() == 1
    assert not Tenant.objects.filter(name="测试公司").exists()


def test_org_tree_create_rename_move(page: Any) -> None:
    sign_up(page, "华南通信集团", "admin@huanan.test")
    page.locator("#site-nav").get_by_role("link", name="组织架构").click()
    page.wait_for_url(re.compile(r"/org/"))

    # htmx swaps the tree in place: a marker on the window survives every action below.
    page.evaluate("window.__kehuSamePage = true")

    # A province under the root (the default parent).
    page.fill("#id_new-name", "广东省公司")
    page.select_option("#id_new-kind", "province")
    page.click("form[aria-label] >> text=创建单位")
    tree_row(page, "广东省公司").wait_for()
    province = OrgUnit.objects.get(name="广东省公司")
    assert province.kind == "province"

    # A city under it: the new province is now selected and is the default parent.
    assert page.locator("#id_new-parent").input_value() == str(province.pk)
    page.fill("#id_new-name", "深圳分公司")
    page.select_option("#id_new-kind", "city")
    page.click("form[aria-label] >> text=创建单位")
    tree_row(page, "深圳分公司").wait_for()
    city = OrgUnit.objects.get(name="深圳分公司")
    assert city.parent_id == province.pk

    # Rename it: the city is selected; its edit form is in the side panel.
    page.fill("#id_edit-name", "深圳市分公司")
    page.fill("#id_edit-code", "SZ")
    page.get_by_role("button", name="保存").click()
    tree_row(page, "深圳市分公司").wait_for()
    city.refresh_from_db()
    assert (city.name, city.code) == ("深圳市分公司", "SZ")

    # A second province, then move the city under it.
    root = OrgUnit.objects.get(tenant=city.tenant, parent=None)
    page.select_option("#id_new-parent", str(root.pk))
    page.fill("#id_new-name", "广西省公司")
    page.select_option("#id_new-kind", "province")
    page.click("form[aria-label] >> text=创建单位")
    tree_row(page, "广西省公司").wait_for()
    guangxi = OrgUnit.objects.get(name="广西省公司")

    # Guangxi is selected: Guangdong is closed; opening it loads its city.
    tree_row(page, "广东省公司").locator("[data-tree-toggle]").click()
    tree_row(page, "深圳市分公司").get_by_role("link").click()
    page.locator("#id_move-parent").wait_for()
    page.select_option("#id_move-parent", str(guangxi.pk))
    page.get_by_role("button", name="移到这里").click()
    page.locator(".message-success").wait_for()
    city.refresh_from_db()
    assert city.parent_id == guangxi.pk
    # In the tree the city now follows Guangxi, one level deeper.
    names = page.locator('[data-testid="org-tree"] tbody tr td:first-child').all_inner_texts()
    assert names.index("深圳市分公司") == names.index("广西省公司") + 1
    assert AuditEvent.objects.filter(action="org_unit.move", object_id=str(city.pk)).exists()
    assert page.evaluate("window.__kehuSamePage") is True

    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "org-tree-wide.png"), full_page=True)


def test_phone_width_navigation_is_usable(phone_page: Any) -> None:
    page = phone_page
    sign_up(page, "川渝商贸有限公司", "admin@chuanyu.test")
    nav = page.locator("#site-nav")
    toggle = page.locator("[data-nav-toggle]")
    # Collapsed behind the menu button at 375px; nothing overflows sideways.
    assert toggle.is_visible()
    assert not nav.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    link = nav.get_by_role("link", name="组织架构")
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and box["height"] >= 40  # a comfortable touch target
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "nav-phone-open.png"), full_page=True)
    link.click()
    page.wait_for_url(re.compile(r"/org/"))
    assert page.locator('[data-testid="org-tree"]').is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SHOTS / "org-phone.png"), full_page=True)


def test_org_tree_works_without_javascript(browser: Any, live_server: Any) -> None:
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.base_url = live_server.url
    try:
        sign_up(page, "黔中矿业有限公司", "admin@qianzhong.test")
        go(page, "/org/")
        page.fill("#id_new-name", "贵州省公司")
        page.select_option("#id_new-kind", "province")
        page.click("form[aria-label] >> text=创建单位")
        page.wait_for_url(re.compile(r"/org/\?unit=\d+"))
        assert tree_row(page, "贵州省公司").count() == 1
        unit = OrgUnit.objects.get(name="贵州省公司")
        page.fill("#id_edit-name", "贵州分公司")
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state()
        assert tree_row(page, "贵州分公司").count() == 1
        unit.refresh_from_db()
        assert unit.name == "贵州分公司"
        # On a phone-sized window without JavaScript the menu is simply shown.
        page.set_viewport_size({"width": 375, "height": 740})
        assert page.locator("#site-nav").get_by_role("link", name="用户").is_visible()
    finally:
        context.close()


def test_admin_creates_user_who_then_signs_in(page: Any, browser: Any, live_server: Any) -> None:
    sign_up(page, "闽东茶业有限公司", "admin@mindong.test")
    page.locator("#site-nav").get_by_role("link", name="用户").click()
    page.get_by_role("link", name="新建用户").click()
    page.wait_for_url(re.compile(r"/users/new/"))
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_email'")
    page.keyboard.type("lin@mindong.test")
    page.fill("#id_full_name", "林晓")
    page.get_by_label("客户经理").check()
    page.get_by_role("button", name="创建用户").click()
    password = page.locator('[data-testid="one-time-password"] code').inner_text()
    assert len(password) >= 12

    # Live search on the users page narrows the list as one types (htmx, no reload).
    page.get_by_role("link", name="返回用户列表").click()
    page.evaluate("window.__kehuSamePage = true")
    rows = page.locator('[data-testid="user-table"] tbody tr')
    assert rows.count() == 2
    page.fill("#id_q", "林")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"user-table\"] tbody tr').length === 1")
    assert "lin@mindong.test" in rows.first.inner_text()
    assert page.evaluate("window.__kehuSamePage") is True
    assert "q=" in page.url

    context = browser.new_context(locale="zh-CN")
    other = context.new_page()
    try:
        other.goto(live_server.url + "/login/")
        other.fill("#id_email", "lin@mindong.test")
        other.fill("#id_password", password)
        other.click("button[type=submit]")
        other.wait_for_url(live_server.url + "/")
        nav = other.locator("#site-nav").all_inner_texts()[0]
        assert "用户" in nav and "角色" not in nav and "审计日志" not in nav
    finally:
        context.close()


def test_two_factor_enrol_then_sign_in_with_code(page: Any) -> None:
    import pyotp

    sign_up(page, "滇西农垦有限公司", "admin@dianxi.test")
    page.locator(".user-menu summary").click()
    page.locator(".user-menu-panel").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/profile/"))
    page.get_by_role("button", name="设置双因素认证").click()
    secret = page.locator('[data-testid="totp-secret"]').inner_text()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认并开启").click()
    page.locator(".message-success").wait_for()

    page.locator(".user-menu summary").click()
    page.locator(".user-menu button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/"))
    page.fill("#id_email", "admin@dianxi.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    code_field = page.locator("#id_totp_code")
    code_field.wait_for()
    assert code_field.evaluate("el => el === document.activeElement")
    code_field.fill(totp_code(secret, 1))
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")


def test_audit_csv_download(page: Any) -> None:
    sign_up(page, "晋北煤业有限公司", "admin@jinbei.test")
    page.locator("#site-nav").get_by_role("link", name="审计日志").click()
    page.select_option("#id_action", "tenant.signup")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"action=tenant"))
    with page.expect_download() as info:
        page.locator('[data-testid="audit-export"]').click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert "tenant.signup" in text and "晋北煤业有限公司" in text
    assert "user.create" not in text


PHONE_PAGES = ("/profile/", "/users/", "/audit/", "/roles/new/", "/org/")


def test_phone_width_pages_never_scroll_sideways(phone_page: Any) -> None:
    page = phone_page
    sign_up(page, "陇南果业有限公司", "admin@longnan.test")
    # A token row makes the profile's widest table appear.
    go(page, "/profile/")
    page.fill("#id_name", "报表同步脚本（每日凌晨）")
    page.get_by_role("button", name="创建令牌").click()
    page.locator('[data-testid="token-table"]').wait_for()
    SHOTS.mkdir(exist_ok=True)
    for path in PHONE_PAGES:
        go(page, path)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(SHOTS / f"phone{path.replace('/', '-')}.png"), full_page=True)
        assert width <= 375, (path, width)


def test_phone_width_org_page_opens_at_the_top(phone_page: Any) -> None:
    from kehu.core.models import User
    from kehu.core.services import org as org_services

    page = phone_page
    sign_up(page, "陇东能源有限公司", "admin@longdong.test")
    admin = User.objects.get(email="admin@longdong.test")
    # A tree taller than the screen: the forms below it start out of sight.
    for n in range(12):
        org_services.org_unit_create(actor=admin, parent_id=admin.org_unit_id,
                                 name=f"陇东第{n + 1}分公司", kind="city")
    for path in ("/org/", f"/org/?unit={admin.org_unit_id}"):
        go(page, path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)  # an autofocus scroll happens right after load
        assert page.evaluate("window.scrollY") == 0, path
        assert page.evaluate("document.activeElement === document.body"), path


def test_the_content_security_policy_blocks_inline_script(browser: Any, live_server: Any) -> None:
    # The console watch of the page fixtures sees a violation, and inline script never runs.
    from tests.e2e.conftest import watch_csp

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    violations = watch_csp(page)
    page.goto(live_server.url + "/login/")
    page.evaluate("() => { const s = document.createElement('script');"
                  " s.textContent = 'window.inlineRan = true'; document.body.appendChild(s); }")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.inlineRan") is None
    assert violations
    context.close()
