"""Fault tests: real `kehu serve` / `kehu worker` processes killed or starved, against a
database of their own (not pytest-django's): a SQLite file in the SQLite run, a fresh
PostgreSQL database in the PostgreSQL run, both copied from a template migrated once
per session. docs/operations.md lists each test and what it shows."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Fault-Test-Pass-2031"
ADMIN_EMAIL = "admin@fault.test"
# What the test process carries that the Kehu processes must not inherit.
NOT_INHERITED = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def _pg_server_url() -> str:
    db = django_settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"


def pg_admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url + "/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@dataclass
class Site:
    """One Kehu installation: a data folder and a database, and the processes on them."""

    data_dir: Path
    database_url: str
    token: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in NOT_INHERITED and not k.startswith("KEHU_")}
        env.update(KEHU_DATA_DIR=str(self.data_dir), DATABASE_URL=self.database_url,
                   DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT), **self.extra_env, **more)
        return env

    def python(self, code: str, timeout: float = 120, **env: str) -> str:
        """Run ``code`` in a fresh Python process with Django set up; its stdout."""
        script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise AssertionError(f"python failed ({done.returncode}):\n{done.stdout}\n"
                                 f"{done.stderr}")
        return done.stdout

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.data_dir / f"{args[0]}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "kehu.cli", *args], cwd=ROOT,
                                   env=self.env(**env), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        return self.start("worker", "--workers", "1")

    def serve(self, port: int, **env: str) -> subprocess.Popen[bytes]:
        process = self.start("serve", "--port", str(port), **env)
        wait_until(lambda: _answers(port), 60, f"kehu serve on {port}", process)
        return process

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.data_dir.glob("*.log"))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def wait_until(check: Any, timeout: float, what: str,
               process: subprocess.Popen[bytes] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process ended ({process.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its children (a serve's embedded worker)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


SETUP = f"""
from kehu.core.services.tenants import tenant_signup
from kehu.core.services.profile import api_token_create
tenant, admin = tenant_signup(company_name="故障演练集团", admin_name="运维管理员",
                              email="{ADMIN_EMAIL}", password="{PASSWORD}")
token, plaintext = api_token_create(actor=admin, name="fault tests")
print(plaintext)
"""


def make_template(site: Site) -> str:
    """Migrate ``site`` and create the tenant; the API token."""
    done = subprocess.run([sys.executable, "-m", "kehu.cli", "migrate", "-v0"], cwd=ROOT,
                          env=site.env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return site.python(SETUP).strip().splitlines()[-1]


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    folder = tmp_path_factory.mktemp("fault-template")
    if on_postgres():
        server = _pg_server_url()
        name = f"kehu_fault_tpl_{os.getpid()}"
        pg_admin(server, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"
    else:
        server, name, url = "", "", f"sqlite:///{folder / 'kehu.sqlite3'}"
    token = make_template(Site(folder, url))
    yield folder, token, name
    if name:
        pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def site(_template: tuple[Path, str, str], tmp_path: Path) -> Iterator[Site]:
    """A fresh installation copied from the session's template."""
    folder, token, template_db = _template
    data_dir = tmp_path / "data"
    shutil.copytree(folder, data_dir)
    created = ""
    if template_db:
        server = _pg_server_url()
        created = f"kehu_fault_{os.getpid()}_{next(_numbers)}"
        pg_admin(server, f'CREATE DATABASE "{created}" TEMPLATE "{template_db}"')
        url = f"{server}/{created}"
    else:
        url = f"sqlite:///{data_dir / 'kehu.sqlite3'}"
    installation = Site(data_dir, url, token)
    yield installation
    installation.stop_all()
    if created:
        pg_admin(_pg_server_url(), f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
