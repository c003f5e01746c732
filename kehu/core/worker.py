"""The background worker as the web side sees it: its heartbeat, and the consumer that
``kehu serve`` starts beside the web server when ``KEHU_EMBEDDED_WORKER`` is on.

The heartbeat lives in Huey's own storage (SQLite file or Redis), the one place every
process of an installation shares whatever the database or cache: the consumer writes it
when it starts and every minute (kehu.core.tasks); pages that depend on background work
(the import wizard) read it to tell a user when nothing is processing jobs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

HEARTBEAT_KEY = "kehu:worker-heartbeat"
# The consumer beats once a minute; allow a missed beat before calling it absent.
SEEN_WITHIN = dt.timedelta(minutes=2)


# This process as written on the work it claims (imports, outbox emails): the host, the pid
# and a token unique to the process, since a restarted worker may get the killed one's pid.
_PROCESS_TOKEN = uuid.uuid4().hex[:12]


def _host() -> str:
    return socket.gethostname()[:80]


def process_id() -> str:
    """``host:pid:token`` of this process, for a claim on a job or an email."""
    return f"{_host()}:{os.getpid()}:{_PROCESS_TOKEN}"


def process_gone(claimer: str) -> bool:
    """Whether the process that wrote ``claimer`` (``process_id()``) certainly no longer
    runs: it ran on this host and its pid is gone, or the pid is ours under another token.
    A claim from another host is never "certainly gone"; callers add a time limit."""
    host, _sep, rest = claimer.partition(":")
    pid_text, _sep, token = rest.partition(":")
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return token != _PROCESS_TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's process
        return False
    return False


def _huey() -> Any:
    from huey.contrib.djhuey import HUEY

    return HUEY


def storage() -> Any:
    """Huey's key-value store: what every process of an installation shares."""
    return _huey().storage


def beat(now: dt.datetime | None = None) -> None:
    """Record that a consumer is alive (called by the consumer itself)."""
    _huey().storage.put_data(HEARTBEAT_KEY, (now or timezone.now()).isoformat().encode())


def last_seen() -> dt.datetime | None:
    raw = _huey().storage.peek_data(HEARTBEAT_KEY)
    if not raw or not isinstance(raw, bytes):
        return None
    try:
        return dt.datetime.fromisoformat(raw.decode())
    except ValueError:
        return None


def is_running(now: dt.datetime | None = None) -> bool:
    """Whether queued work will be picked up: a consumer beat recently, or tasks run
    immediately in the request (``KEHU_TASKS_IMMEDIATE``)."""
    if _huey().immediate:
        return True
    seen = last_seen()
    return seen is not None and (now or timezone.now()) - seen <= SEEN_WITHIN


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the consumer gets SIGTERM when `kehu serve` dies, even by SIGKILL.
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_embedded() -> subprocess.Popen[bytes]:
    """Start ``kehu worker`` as a child of this process, with the same environment."""
    env = dict(os.environ, KEHU_EMBEDDED_CHILD="1")
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(
        [sys.executable, "-m", "kehu.cli", "worker", "--workers", "2"],
        env=env, preexec_fn=preexec,
    )


def stop_embedded(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop the child consumer: SIGINT lets Huey finish the task at hand, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def embedded_enabled() -> bool:
    return bool(getattr(settings, "EMBEDDED_WORKER", False)) and not _huey().immediate
