"""Helpers shared by the browser tests: navigation, signing in, screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kehu.core.testing import PASSWORD

SHOTS = Path(os.environ.get("KEHU_E2E_SHOTS", Path(tempfile.gettempdir()) / "kehu-e2e-shots"))


def go(page: Any, path: str) -> None:
    page.goto(page.base_url + path)


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form and land on the home page."""
    go(page, "/login/")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
