"""Probes, metrics, the operator's status page and structured logs (issue 18, section 2)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from prometheus_client.parser import text_string_to_metric_families

from kehu.core import backups, health, logs, metrics, tasks, worker
from kehu.core.models import AuditEvent
from kehu.core.testing import PASSWORD, World
from kehu.core.tests.test_cli import NOT_INHERITED, ROOT

TOKEN = "metrics-secret-for-tests"


@pytest.fixture
def queued(monkeypatch: Any, settings: Any, tmp_path: Path) -> None:
    """A real task store (not immediate mode), a recent heartbeat, a private data folder."""
    monkeypatch.setattr(HUEY, "immediate", False)
    HUEY.storage.flush_queue()
    worker.beat()
    settings.DATA_DIR = tmp_path
    settings.KEHU_READY_MIN_FREE_MB = 0


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: Client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


# --- probes -----------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_healthz_answers_anyone_without_touching_the_database(
        client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_readyz_is_ok_when_every_check_passes(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {
        "database": "ok", "queue": "ok", "worker": "ok", "disk": "ok"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_readyz_fails_with_503_naming_only_the_failing_check(client: Client, settings: Any
                                                             ) -> None:
    worker.beat(timezone.now() - dt.timedelta(minutes=10))  # the worker stopped
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "checks": {
        "database": "ok", "queue": "ok", "worker": "fail", "disk": "ok"}}
    worker.beat()
    settings.KEHU_READY_MIN_FREE_MB = 10**9  # more than any disk has free
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.content.decode()
    assert json.loads(body)["checks"]["disk"] == "fail"
    assert str(settings.DATA_DIR) not in body and "MB" not in body  # no detail leaked


# --- metrics -----------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_metrics_are_off_until_a_token_or_address_is_set(client: Client, settings: Any) -> None:
    settings.KEHU_METRICS_TOKEN, settings.KEHU_METRICS_ALLOWED_IPS = "", []
    assert client.get("/metrics").status_code == 404
    settings.KEHU_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.KEHU_METRICS_TOKEN, settings.KEHU_METRICS_ALLOWED_IPS = "", ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 401
    assert b"kehu_" not in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_metrics_count_requests_per_route_logins_and_the_queue(
        client: Client, world: World, settings: Any) -> None:
    from kehu.notifications.models import Notification

    settings.KEHU_METRICS_TOKEN = TOKEN
    before = scrape(client)
    for _ in range(3):
        assert client.get(reverse("login")).status_code == 200
    assert client.get(f"/users/{world.hq_admin.pk}/").status_code == 302  # not signed in
    client.post(reverse("login"), {"email": world.hq_admin.email, "password": "wrong-one!"})
    client.post(reverse("login"), {"email": world.hq_admin.email, "password": PASSWORD})
    Notification.objects.create(tenant=world.tenant, recipient=world.hq_admin, kind="x",
                                title="t", key="metrics-test", email_status="pending")
    tasks.purge_idempotency_keys_hourly()  # queued, not run: no consumer in this test
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("kehu_http_requests_total", route="login", method="GET", status="200") == 3
    assert delta("kehu_http_requests_total", route="user_detail", method="GET",
                 status="302") == 1
    assert not any(f'route="/users/{world.hq_admin.pk}/"' in line
                   for line in after.splitlines())  # the URL name, never the raw path
    assert delta("kehu_http_request_duration_seconds_count", route="login", method="GET") == 3
    assert delta("kehu_http_request_duration_seconds_bucket", route="login", method="GET",
                 le="+Inf") == 3
    assert delta("kehu_http_request_db_seconds_count", route="login") == 5
    assert delta("kehu_http_db_queries_total", route="login") > 0
    assert delta("kehu_logins_total", result="failure") == 1
    assert delta("kehu_logins_total", result="success") == 1
    assert value(after, "kehu_task_queue_depth") == 1
    assert value(after, "kehu_task_queue_oldest_age_seconds") >= 0
    assert value(after, "kehu_worker_up") == 1
    assert abs(value(after, "kehu_worker_last_seen_timestamp_seconds")
               - timezone.now().timestamp()) < 120
    assert value(after, "kehu_email_outbox_backlog") == 1
    assert value(after, "kehu_email_outbox_failed") == 0
    HUEY.storage.flush_queue()


@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_lockouts_are_counted(client: Client, world: World, settings: Any) -> None:
    settings.KEHU_METRICS_TOKEN = TOKEN
    settings.KEHU_LOCKOUT_THRESHOLD = 2
    before = scrape(client)
    for _ in range(2):
        client.post(reverse("login"), {"email": world.city_a1_rep.email, "password": "nope-nope"})
    after = scrape(client)
    assert value(after, "kehu_logins_total", result="locked") - value(
        before, "kehu_logins_total", result="locked") == 1


def test_queue_age_comes_from_the_enqueue_time(monkeypatch: Any) -> None:
    monkeypatch.setattr(HUEY, "immediate", False)
    HUEY.storage.flush_queue()
    result = tasks.purge_idempotency_keys_hourly()
    task_id = result.id
    health.note_enqueued(task_id, timezone.now() - dt.timedelta(seconds=300))
    state = health.queue_state()
    assert state["pending"] == 1 and state["oldest_age"] is not None
    assert 299 <= state["oldest_age"] < 400
    HUEY.storage.flush_queue()
    health.forget_enqueued(task_id)
    assert health.queue_state() == {"pending": 0, "scheduled": 0, "oldest_age": 0.0}


# --- the status page -------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.usefixtures("queued")
def test_status_page_is_for_operators_only(client: Client, world: World, settings: Any) -> None:
    settings.KEHU_OPERATOR_EMAILS = ["ops@example.com"]
    url = reverse("installation_status")
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(world.hq_admin)  # a tenant's administrator is not the operator
    response = client.get(url)
    assert response.status_code == 404
    assert b"Installation status" not in response.content
    events = AuditEvent.objects.count()
    settings.KEHU_OPERATOR_EMAILS = [world.hq_admin.email.lower()]
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.count() == events  # reading changes nothing


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued")
def test_status_page_shows_versions_queue_worker_backup_errors_and_slow_routes(
        client: Client, world: World, settings: Any, tmp_path: Path) -> None:
    settings.KEHU_OPERATOR_EMAILS = [world.hq_admin.email]
    type(world.hq_admin).objects.filter(pk=world.hq_admin.pk).update(language="en")
    (tmp_path / "field_key").write_text(settings.FIELD_ENCRYPTION_KEY)
    info = backups.create(tmp_path / "backups")
    logging.getLogger("kehu.tests").error("Something broke in a test")
    client.force_login(world.hq_admin)
    client.get(reverse("home"))
    response = client.get(reverse("installation_status"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<td>{backups.kehu_version()}</td>" in page
    assert '<th scope="row">django</th>' in page
    assert info.created_at.astimezone(timezone.get_current_timezone()).strftime(
        "%Y-%m-%d %H:%M") in page
    assert str(info.path) in page
    assert "Something broke in a test" in page
    # The slowest routes the processes measured so far (in a full run, earlier tests' routes
    # too; the status request itself may reorder them): the page lists them, and the route
    # just requested is measured.
    slowest = metrics.slowest_routes()
    assert slowest and any(f"<code>{row['route']}</code>" in page for row in slowest)
    assert "home" in {row["route"] for row in metrics.slowest_routes(limit=10_000)}
    assert 'data-testid="check-database">database: ok' in page


# --- logs ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_json_log_line_carries_the_request_id_of_the_audit_row(client: Client, world: World
                                                                 ) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    request_logger = logging.getLogger("kehu.request")
    request_logger.addHandler(handler)
    try:
        client.post(reverse("login"), {"email": world.hq_admin.email, "password": PASSWORD})
    finally:
        request_logger.removeHandler(handler)
    event = AuditEvent.objects.filter(action="auth.login").latest("id")
    assert event.request_id
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (line,) = [entry for entry in lines if entry["route"] == "login"]
    assert line["request_id"] == event.request_id
    assert line["status"] == 302 and line["method"] == "POST" and line["level"] == "INFO"
    assert line["logger"] == "kehu.request" and "duration_ms" in line


def test_kehu_log_format_json_makes_every_line_json(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")
           and k not in NOT_INHERITED}
    env.update(KEHU_DATA_DIR=str(tmp_path), KEHU_LOG_FORMAT="json")
    done = subprocess.run(
        [sys.executable, "-m", "kehu.cli", "shell", "-c",
         "import logging; logging.getLogger('kehu.x').warning('hello %s', 'ops')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=True)
    entry = json.loads(done.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello ops" and entry["level"] == "WARNING"
    assert entry["logger"] == "kehu.x" and entry["request_id"] == ""
