"""SQLite, the embedded default: `kehu serve` (with its embedded worker) killed with
SIGKILL in the middle of a burst of writes leaves a database that opens, passes
``PRAGMA integrity_check`` and ``foreign_key_check``, holds every write that was answered
2xx, and serves again after a restart."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import requests

from tests.faults.conftest import Site, free_port, kill, on_postgres

pytestmark = pytest.mark.skipif(on_postgres(), reason="SQLite's crash safety; the "
                                "PostgreSQL run restarts a server instead")


def test_sigkill_mid_write_leaves_a_sound_database(site: Site) -> None:
    port = free_port()
    serve = site.serve(port)
    api = f"http://127.0.0.1:{port}/api/v1"
    auth = {"Authorization": f"Bearer {site.token}"}
    answered: list[str] = []
    stop = threading.Event()

    def write(thread: int) -> None:
        session = requests.Session()
        n = 0
        while not stop.is_set():
            name = f"崩溃演练{thread}号客户{n:04d}有限公司"
            n += 1
            try:
                response = session.post(f"{api}/customers", headers=auth, timeout=30, json={
                    "name": name, "phones": ["0757-82345678"], "notes": "写入中断演练" * 50,
                    "tags": [f"演练{thread}"]})
            except requests.RequestException:
                return  # the server died under this request
            if response.status_code == 201:
                answered.append(name)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    kill(serve)  # mid-burst: requests are in flight in every thread
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(answered) >= 40, site.logs()

    db = sqlite3.connect(site.data_dir / "kehu.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = {name for (name,) in db.execute("SELECT name FROM customers_customer")}
    finally:
        db.close()
    assert set(answered) <= stored  # every write answered 201 survived the crash

    site.serve(port)
    after = requests.post(f"{api}/customers", headers=auth, json={"name": "重启后客户有限公司"},
                          timeout=30)
    assert after.status_code == 201, after.text
