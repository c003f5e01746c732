"""Browser tests: Playwright (sync API) driving Debian's headless Chromium against
pytest-django's live_server. Never downloads a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to be
# called from it unless told the test process knows what it is doing.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("KEHU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"Chromium not found at {CHROMIUM}; browser tests skipped"
    in_ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    if in_ci or os.environ.get("KEHU_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium not found at {CHROMIUM} and browser tests are required here "
                    "(CI or KEHU_REQUIRE_BROWSER=1). Install Debian's chromium package or "
                    "point KEHU_CHROMIUM at a Chromium binary.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_csp(page: Any) -> list[str]:
    """Console messages about the Content-Security-Policy (every page must have none).
    Tests pass ``wait_for_function`` a function (``"() => …"``): Playwright evaluates a
    bare expression with ``eval``, which the policy refuses."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return violations


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    violations = watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked something"


@pytest.fixture
def phone_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN",
                                  is_mobile=True, has_touch=True, device_scale_factor=2)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    violations = watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked something"
