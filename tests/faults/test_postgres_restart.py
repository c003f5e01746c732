"""PostgreSQL restarts under a mixed load: a throw-away cluster (``initdb`` as the
``postgres`` user, on a free loopback port) serves `kehu serve`; threads write and read
through the API while the cluster is stopped and started again. Requests that meet the
outage fail fast with 503, Retry-After and a clear message (never 500); Kehu serves again
without being restarted; every write answered 201 is in the database afterwards.

Runs in the PostgreSQL run only (it is PostgreSQL's fault), copying that run's migrated
template into its cluster."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import Site, _pg_server_url, free_port, on_postgres, wait_until

pytestmark = pytest.mark.skipif(not on_postgres(), reason="runs once, in the PostgreSQL run")

BIN = Path("/usr/lib/postgresql/15/bin")


def as_postgres(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args],
                          capture_output=True, text=True, check=True, **kwargs)  # type: ignore[call-overload]


@dataclass
class Cluster:
    folder: Path
    port: int

    @property
    def data(self) -> str:
        return str(self.folder / "data")

    def pg_ctl(self, *args: str) -> None:
        as_postgres(str(BIN / "pg_ctl"), "-D", self.data, "-l", str(self.folder / "log"),
                    "-w", "-t", "60", *args)

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                    "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")  # ends every session at once, as a restart does

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Under /tmp itself: pytest's own temporary folders are root's alone (0700).
    folder = Path(tempfile.mkdtemp(prefix="kehu-fault-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    as_postgres(str(BIN / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U",
                "postgres", "-E", "UTF8", "--locale=C.UTF-8")
    running = Cluster(folder, free_port())
    running.start()
    try:
        yield running
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"),
                        "-D", running.data, "-m", "immediate", "stop"], check=False,
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_site(site: Site, cluster: Cluster) -> Site:
    """The test's installation, its database copied into the throw-away cluster."""
    source = site.database_url
    subprocess.run([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                    "postgres", "kehu"], check=True)
    dump = subprocess.Popen([str(BIN / "pg_dump"), "-Fc", "-d", source],
                            stdout=subprocess.PIPE)
    subprocess.run([str(BIN / "pg_restore"), "--no-owner", "-d", f"{cluster.url}/kehu"],
                   stdin=dump.stdout, check=True)
    assert dump.wait() == 0
    site.database_url = f"{cluster.url}/kehu"
    return site


@dataclass
class Answer:
    kind: str
    status: int
    seconds: float
    body: dict
    retry_after: str | None
    name: str = ""


def test_postgres_restart_under_load(pg_site: Site, cluster: Cluster) -> None:
    assert _pg_server_url()  # the PostgreSQL run's server holds the template
    port = free_port()
    pg_site.serve(port, KEHU_EMBEDDED_WORKER="0")
    api = f"http://127.0.0.1:{port}/api/v1"
    auth = {"Authorization": f"Bearer {pg_site.token}"}
    answers: list[Answer] = []
    stop = threading.Event()

    def load(thread: int, kind: str) -> None:
        session = requests.Session()
        n = 0
        while not stop.is_set():
            name = f"重启演练{thread}号客户{n:04d}有限公司"
            n += 1
            started = time.monotonic()
            if kind == "write":
                response = session.post(f"{api}/customers", headers=auth, timeout=60,
                                        json={"name": name, "phones": ["0757-82345678"]})
            else:
                response = session.get(f"{api}/customers", headers=auth, timeout=60,
                                       params={"limit": 20})
            body = response.json() if response.headers.get("Content-Type", "").startswith(
                "application/json") else {}
            answers.append(Answer(kind, response.status_code, time.monotonic() - started,
                                  body, response.headers.get("Retry-After"), name))
            time.sleep(0.02)

    threads = [threading.Thread(target=load, args=(i, "write" if i < 3 else "read"))
               for i in range(5)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: sum(a.status == 201 for a in answers) >= 15, 60, "writes before")
        cluster.stop()
        outage_starts = len(answers)
        wait_until(lambda: sum(a.status == 503 for a in answers[outage_starts:]) >= 6, 30,
                   "503s during the outage")
        cluster.start()
        restarted = len(answers)
        # Recovered without restarting Kehu: writes and reads succeed again.
        wait_until(lambda: {a.kind for a in answers[restarted:] if a.status in (200, 201)}
                   == {"read", "write"}, 60, "served again after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    statuses = {a.status for a in answers}
    assert statuses <= {200, 201, 503}, [a for a in answers if a.status not in (200, 201, 503)]
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable
    for answer in unavailable:
        assert answer.body["error"]["code"] == "database_unavailable"
        assert "数据库" in answer.body["error"]["message"]
        assert answer.retry_after == "5"
        assert answer.seconds < 10  # fails fast, no hanging request

    import psycopg

    with psycopg.connect(f"{cluster.url}/kehu") as conn:
        stored = {row[0] for row in conn.execute("SELECT name FROM customers_customer")}
    written = [a.name for a in answers if a.kind == "write" and a.status == 201]
    assert set(written) <= stored  # every write answered 201 is there
    assert len(written) == len(set(written))
