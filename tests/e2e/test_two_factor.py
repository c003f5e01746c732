"""Two-factor in a browser: the QR code shows at enrolment; a recovery code signs in."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from kehu.core.models import AuditEvent, User
from tests.e2e.test_ui_flows import PASSWORD, go, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page: Any) -> None:
    page.locator(".user-menu summary").click()
    page.locator(".user-menu button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/"))


def test_enrol_with_the_qr_code_then_sign_in_with_a_recovery_code(page: Any) -> None:
    sign_up(page, "滇南茶业有限公司", "admin@diannan.test")
    go(page, "/profile/")
    page.get_by_role("button", name="设置双因素认证").click()
    qr = page.get_by_alt_text("供身份验证器应用扫描的二维码")
    qr.wait_for()
    # Drawn (the image decoded under the CSP) and square, beside the key.
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100 "
                       "&& img.naturalWidth === img.naturalHeight")
    box, key_box = qr.bounding_box(), page.locator('[data-testid="totp-secret"]').bounding_box()
    assert box["width"] >= 150 and key_box["x"] > box["x"] + box["width"] - 1
    secret = page.locator('[data-testid="totp-secret"]').inner_text()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认并开启").click()
    codes = page.locator('[data-testid="recovery-codes"] li code').all_inner_texts()
    assert len(codes) == 10

    sign_out(page)
    page.fill("#id_email", "admin@diannan.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.locator("#id_totp_code").fill(codes[4])
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")
    user = User.objects.get(email="admin@diannan.test")
    assert len(user.totp_recovery_codes) == 9
    assert AuditEvent.objects.filter(action="auth.recovery_code_used", actor=user).exists()
    go(page, "/profile/")
    assert "9" in page.locator('[data-testid="recovery-codes-left"]').inner_text()
