"""`kehu worker` killed while it sends the email outbox (a real SMTP server on loopback,
aiosmtpd, that receives the first message and holds its reply): after a restart every
email is delivered, and the one interrupted is sent again with the same Message-ID."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.conftest import ADMIN_EMAIL, Site, free_port, kill, wait_until

QUEUE = f"""
from kehu.core.models import User
from kehu.notifications.services import notify
from kehu.notifications.models import Notification
admin = User.objects.get(email="{ADMIN_EMAIL}")
for i in range(3):
    notice, _ = notify(recipient=admin, kind="followup_due", title=f"跟进到期 第{{i}}条",
                       key=f"fault-email-{{i}}", url="/", email=True)
    assert notice.email_status == Notification.Email.PENDING
"""

SEND = """
from kehu.notifications.tasks import send_emails_every_minute
send_emails_every_minute()  # enqueued for the worker, not run here
"""

ROWS = """
import json
from kehu.notifications.models import Notification
print(json.dumps(list(Notification.objects.order_by("key").values(
    "key", "email_status", "email_message_id"))))
"""


class HoldingServer:
    """Receives every message; holds the reply to the first one until released, so the
    sending worker is stuck mid-send (the server has the message, the worker no answer)."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.released = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_ids.append(str(parsed["Message-ID"]))
        while len(self.message_ids) == 1 and not self.released.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[HoldingServer, int]]:
    from aiosmtpd.controller import Controller

    handler = HoldingServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.released.set()
        controller.stop()


def rows(site: Site) -> list[dict[str, str]]:
    return json.loads(site.python(ROWS).strip().splitlines()[-1])


def test_worker_killed_mid_send_loses_no_email_and_resends_one_message_id(
        site: Site, smtp: tuple[HoldingServer, int]) -> None:
    server, port = smtp
    site.extra_env.update(KEHU_EMAIL_HOST="127.0.0.1", KEHU_EMAIL_PORT=str(port),
                          KEHU_EMAIL_TIMEOUT="120")
    site.python(QUEUE)
    site.python(SEND)
    worker = site.worker()
    wait_until(lambda: server.message_ids, 90, "the first email reaches the server", worker)
    kill(worker)  # the server has the message; the worker never heard "250"

    interrupted = [r for r in rows(site) if r["email_status"] == "sending"]
    assert len(interrupted) == 1, rows(site)
    first_id = interrupted[0]["email_message_id"]
    assert first_id and server.message_ids == [first_id]  # stored before it was sent

    server.released.set()
    site.worker()
    site.python(SEND)
    wait_until(lambda: all(r["email_status"] == "sent" for r in rows(site)), 90,
               "every email sent after the restart")

    final = rows(site)
    ids = [r["email_message_id"] for r in final]
    assert len(set(ids)) == 3 and first_id in ids
    # Nothing lost: each email arrived; the interrupted one twice under one Message-ID.
    assert sorted(server.message_ids) == sorted([*ids, first_id])
