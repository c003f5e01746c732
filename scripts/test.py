#!/usr/bin/env python3
"""``make test``: the whole suite on SQLite, then again on PostgreSQL when it is reachable.

* SQLite run: always, against a throw-away data folder.
* PostgreSQL run: against ``DATABASE_URL`` when it is a PostgreSQL URL, else against
  postgres://postgres@127.0.0.1:5432/. Each run uses a fresh database name
  (kehu_test_<time>_<pid>; pytest-django creates ``test_<name>``), dropped afterwards.
  Unreachable PostgreSQL is reported as "SKIPPED: PostgreSQL run — <why>", or is a
  failure when ``CI`` or ``KEHU_REQUIRE_POSTGRES=1`` is set.
* Browser tests skip themselves when Chromium is missing unless ``CI`` or
  ``KEHU_REQUIRE_BROWSER=1`` is set (see tests/e2e/conftest.py).
* pytest's exit code 5 (no tests collected) counts as a failure.
* With two or more CPU cores the two runs go side by side (the PostgreSQL run's output is
  kept in a file and printed when it ends); ``KEHU_TEST_SERIAL=1`` runs one after the other.

Arguments are passed to pytest: ``make test ARGS="-k org_unit -x"``.
Exit code: 0 when every run that ran passed and nothing required was skipped, else 1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def banner(text: str) -> None:
    print(f"\n{'=' * 24} {text} {'=' * max(0, 50 - len(text))}", flush=True)


@dataclass
class RunResult:
    name: str
    exit_code: int
    seconds: float
    counts: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failed_tests: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        if self.exit_code == 5:
            return "no tests were collected (pytest exit code 5)"
        parts = [f"{n} {what}" for what in ("passed", "failed", "errors", "skipped", "xfailed")
                 if (n := self.counts[what])]
        text = ", ".join(parts) or "no results"
        if self.exit_code not in (0, 1):
            text += f" (pytest exit code {self.exit_code})"
        return f"{text} in {self.seconds:.0f}s"


def read_junit(path: Path, result: RunResult) -> None:
    if not path.exists():
        return
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            result.counts["failed"] += 1
            result.failed_tests.append(test_id)
        elif case.find("error") is not None:
            result.counts["errors"] += 1
            result.failed_tests.append(test_id)
        elif (skipped := case.find("skipped")) is not None:
            if skipped.get("type") == "pytest.xfail":
                result.counts["xfailed"] += 1
            else:
                result.counts["skipped"] += 1
                reason = (skipped.get("message") or "no reason given").strip()
                result.skip_reasons[reason] += 1
        else:
            result.counts["passed"] += 1


class PytestRun:
    """One pytest process on one database, in its own throw-away data folder."""

    def __init__(self, name: str, database_url: str | None, pytest_args: list[str], *,
                 log: Path | None = None) -> None:
        self.name = name
        self.tmp = tempfile.TemporaryDirectory(prefix="kehu-test-")
        data = Path(self.tmp.name) / "data"
        env = os.environ.copy()
        env["KEHU_DATA_DIR"] = str(data)
        # STATIC_ROOT: WhiteNoise serves from the finders but warns when it is missing.
        (data / "static").mkdir(parents=True)
        env["DATABASE_URL"] = database_url or f"sqlite:///{data / 'kehu.sqlite3'}"
        self.junit = Path(self.tmp.name) / "junit.xml"
        self.log = log
        command = [sys.executable, "-m", "pytest", f"--junitxml={self.junit}", *pytest_args]
        self.started = time.monotonic()
        if log is None:
            banner(f"{name} run")
            self.process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
        else:
            print(f"{name} run: started alongside; its output follows when it ends.",
                  flush=True)
            with log.open("wb") as out:
                self.process = subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603
                                                stdout=out, stderr=subprocess.STDOUT)

    def wait(self) -> RunResult:
        try:
            exit_code = self.process.wait()
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        result = RunResult(self.name, exit_code, time.monotonic() - self.started)
        read_junit(self.junit, result)
        if self.log is not None:
            banner(f"{self.name} run")
            sys.stdout.write(self.log.read_text(encoding="utf-8", errors="replace"))
            sys.stdout.flush()
        self.tmp.cleanup()
        return result


def run_pytest(name: str, database_url: str | None, pytest_args: list[str]) -> RunResult:
    return PytestRun(name, database_url, pytest_args).wait()


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def postgres_base_url() -> tuple[str | None, str]:
    """(URL to test against, None) when PostgreSQL answers, else (None, why not)."""
    given = os.environ.get("DATABASE_URL", "").strip()
    if given and urlsplit(given).scheme not in POSTGRES_SCHEMES:
        return None, f"DATABASE_URL is a {urlsplit(given).scheme or 'non-URL'} database"
    url = given or DEFAULT_POSTGRES_URL
    try:
        import psycopg

        with psycopg.connect(with_database(url, "postgres"), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not reachable": report it
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"cannot connect to {redact(url)}: {first_line}"
    return url, ""


def drop_databases(url: str, names: list[str]) -> list[str]:
    """Drop the run's databases; returns the ones that could not be dropped."""
    import psycopg

    left = []
    try:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True,
                             connect_timeout=5) as conn:
            for name in names:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.Error:
                    left.append(name)
    except psycopg.Error:
        return names
    return left


def main(pytest_args: list[str]) -> int:
    strict_postgres = flag("CI") or flag("KEHU_REQUIRE_POSTGRES")
    side_by_side = (os.cpu_count() or 1) >= 2 and not flag("KEHU_TEST_SERIAL")
    started = time.monotonic()
    postgres_problem = ""
    base, why = postgres_base_url()
    if base is None:
        postgres_problem = why
        results = [run_pytest("SQLite", None, pytest_args)]
    else:
        name = f"kehu_test_{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}"
        try:
            if side_by_side:
                with tempfile.TemporaryDirectory(prefix="kehu-test-log-") as logs:
                    postgres = PytestRun("PostgreSQL", with_database(base, name), pytest_args,
                                         log=Path(logs) / "postgresql.log")
                    try:
                        sqlite = run_pytest("SQLite", None, pytest_args)
                    except BaseException:
                        postgres.process.kill()
                        postgres.wait()
                        raise
                    results = [sqlite, postgres.wait()]
            else:
                results = [run_pytest("SQLite", None, pytest_args),
                           run_pytest("PostgreSQL", with_database(base, name), pytest_args)]
        finally:
            left = drop_databases(base, [f"test_{name}", name])
            if left:
                print(f"WARNING: could not drop database(s) {', '.join(left)}", flush=True)

    banner("Summary")
    for result in results:
        status = "PASSED" if result.ok else "FAILED"
        print(f"{result.name + ' run:':16} {status} — {result.describe()}")
        for test_id in result.failed_tests[:30]:
            print(f"    failed: {test_id}")
        if len(result.failed_tests) > 30:
            print(f"    … and {len(result.failed_tests) - 30} more")
        for reason, count in result.skip_reasons.most_common():
            print(f"    skipped {count}x: {reason}")

    ok = all(r.ok for r in results)
    if postgres_problem and strict_postgres:
        ok = False
        why_strict = "CI is set" if flag("CI") else "KEHU_REQUIRE_POSTGRES=1"
        print(f"FAILED: PostgreSQL run is required ({why_strict}) — {postgres_problem}")
    print(f"make test: {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s"
          f" ({'side by side' if side_by_side and base else 'one after the other'})")
    if postgres_problem and not strict_postgres:
        print(f"SKIPPED: PostgreSQL run — {postgres_problem}")
    return 0 if ok else 1


if __name__ == "__main__":
    # On SIGTERM as on Ctrl+C: stop pytest (subprocess.call kills it) and drop the databases.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
