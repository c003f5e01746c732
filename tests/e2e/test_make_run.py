"""A new user's first run, exactly as the README says: `make run`, then the browser.

Nothing else is started: the import must finish and a due reminder must arrive because
`kehu serve` runs the task consumer itself (KEHU_EMBEDDED_WORKER, on by default).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.e2e.helpers import go, shot

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
# What the test process may carry that a new user's shell does not.
NOT_INHERITED = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE",
                 "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
CSV = ("公司名称,联系电话,地区\r\n"
       "佛山瓷都新材料有限公司,0757-82345678,广东佛山\r\n"
       "中山古镇灯饰照明有限公司,0760-87654321,中山\r\n").encode("gbk")
# Huey's periodic jobs run on the minute: a reminder due now fires within about a minute.
REMINDER_WAIT_S = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MakeRun:
    """`make run` in a child process group, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("KEHU_") and k not in NOT_INHERITED}
        env["KEHU_DATA_DIR"] = str(data_dir)
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603
            ["make", "--no-print-directory", "run", f"PORT={port}",  # noqa: S607
             f"KEHU_DATA_DIR={data_dir}"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        self.env = env
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"make run ended early:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"'{text}' not seen in {timeout}s:\n{self.output()}")
            time.sleep(0.2)

    def password(self, email: str) -> str:
        match = re.search(rf"\|\s*{re.escape(email)}\s*\|[^|]*\|\s*(\S+)\s*\|", self.output())
        assert match, self.output()
        return match.group(1)

    def kehu_shell(self, code: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "kehu.cli", "shell", "-c", code], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    if connection.vendor != "sqlite":
        pytest.skip("make run is the embedded SQLite set-up; the SQLite run covers it")
    run = MakeRun(tmp_path / "data", _free_port())
    try:
        run.wait_for("Kehu is serving on", timeout=240)
        yield run
    finally:
        run.stop()
    # The consumer went with the server: no worker of this data folder is left running.
    left = subprocess.run(["pgrep", "-f", "kehu.cli worker"], capture_output=True,  # noqa: S607
                          text=True, check=False).stdout.split()
    for pid in left:
        environ = Path(f"/proc/{pid}/environ")
        if environ.exists():
            assert str(run.data_dir) not in environ.read_bytes().decode(errors="replace")


def test_new_user_make_run_finishes_an_import_and_delivers_a_reminder(
        browser: Any, make_run: MakeRun) -> None:
    admin = "tenant_admin@demo.kehu.local"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = make_run.url
    try:
        # A follow-up due now with no lead: the embedded worker's next tick reminds (planned
        # first so that the minute's wait overlaps the import).
        make_run.kehu_shell(
            "import datetime as dt\n"
            "from django.utils import timezone\n"
            "from kehu.activities.services.followups import followup_create\n"
            "from kehu.core.models import User\n"
            "from kehu.customers.models import Customer\n"
            f"me = User.objects.get(email='{admin}')\n"
            "customer = Customer.objects.visible_to(me).live().order_by('id').first()\n"
            "followup_create(actor=me, customer_id=customer.pk, subject='回访佛山瓷都',\n"
            "                due_at=timezone.now() + dt.timedelta(seconds=5),\n"
            "                remind_minutes_before=0)\n")
        go(page, "/login/")
        page.fill("#id_email", admin)
        page.fill("#id_password", make_run.password(admin))
        page.click("button[type=submit]")
        page.wait_for_url(make_run.url + "/")

        # An import runs in the background and finishes with no `make worker`.
        go(page, "/imports/")
        page.locator("#id_file").set_input_files(
            {"name": "客户.csv", "mimeType": "text/csv", "buffer": CSV})
        page.locator('[data-testid="import-upload"] button[type=submit]').click()
        page.wait_for_url(re.compile(r"/imports/\d+/$"))
        page.select_option("#map-1", "phones")
        page.locator('[data-testid="import-check"]').click()
        page.wait_for_url(re.compile(r"/imports/\d+/$"))
        # The check runs in the embedded worker too; the page reloads with its result.
        page.locator('[data-testid="import-run"]').click(timeout=60_000)
        page.locator('[data-testid="import-done"]').wait_for(timeout=60_000)
        shot(page, "make-run-import-done.png")
        assert page.locator('[data-testid="count-result"]').inner_text().startswith("2 /")
        assert page.locator('[data-testid="worker-missing"]').count() == 0

        deadline = time.monotonic() + REMINDER_WAIT_S
        while True:
            go(page, "/notifications/")
            if "回访佛山瓷都" in page.content():
                break
            assert time.monotonic() < deadline, "no reminder arrived:\n" + make_run.output()
            time.sleep(5)
        shot(page, "make-run-reminder.png")
    finally:
        context.close()
