"""Prometheus metrics (``/metrics``): what every request, sign-in and import counts, and the
state of the queue, the worker, backups and the email outbox read when scraped.

``kehu serve --workers N`` and the worker are separate processes, so counters live in
prometheus_client's multiprocess mode: each process writes its own small memory-mapped
file under ``KEHU_METRICS_DIR`` (default ``KEHU_DATA_DIR/metrics``) and a scrape adds them
up. Gauges are never kept in those files: they are read from the shared stores (database,
task store) at scrape time by :class:`StateCollector`, so any process answers alike.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

from kehu.core import context


def _metrics_dir() -> Path:
    folder = Path(getattr(settings, "KEHU_METRICS_DIR", "")
                  or Path(settings.DATA_DIR) / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Chosen before prometheus_client creates its first value (it reads the variable once).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_metrics_dir()))

from prometheus_client import (  # noqa: E402 -- after the multiprocess folder is set
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

logger = logging.getLogger("kehu.request")

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REQUESTS = Counter("kehu_http_requests", "HTTP requests answered, by route and status.",
                   ["route", "method", "status"])
LATENCY = Histogram("kehu_http_request_duration_seconds",
                    "Time to answer a request, by route (the URL name).",
                    ["route", "method"], buckets=LATENCY_BUCKETS)
DB_TIME = Histogram("kehu_http_request_db_seconds",
                    "Time a request spent in database queries, by route.",
                    ["route"], buckets=LATENCY_BUCKETS)
DB_QUERIES = Counter("kehu_http_db_queries", "Database queries made by requests, by route.",
                     ["route"])
LOGINS = Counter("kehu_logins", "Sign-in attempts by result (success, failure, locked: an "
                 "account was locked by this attempt).", ["result"])
IMPORT_ROWS = Counter("kehu_import_rows", "Rows written by finished imports.", ["entity"])
IMPORT_RATE = Histogram("kehu_import_rows_per_second", "Rows per second of each finished "
                        "import.", ["entity"],
                        buckets=(10, 50, 100, 250, 500, 1000, 2500, 5000, 10000))


# --- what apps add: gauges read at scrape time ------------------------------------------

GaugeReader = Callable[[], float | None]
_GAUGES: dict[str, tuple[str, GaugeReader]] = {}


def register_gauge(name: str, documentation: str, read: GaugeReader) -> None:
    """A gauge read from shared state when ``/metrics`` is scraped (e.g. the email outbox
    backlog, registered by kehu.notifications). ``read`` returns None when unknown."""
    _GAUGES[name] = (documentation, read)


def _gauge(name: str, documentation: str, value: float | None) -> Iterator[GaugeMetricFamily]:
    if value is not None:
        yield GaugeMetricFamily(name, documentation, value=value)


class StateCollector(Collector):
    """Gauges of the installation, read from the database and the task store."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from kehu.core import backups, health, worker

        queue = health.queue_state()
        yield from _gauge("kehu_task_queue_depth", "Tasks waiting for a worker.",
                          queue.get("pending"))
        yield from _gauge("kehu_task_queue_scheduled", "Tasks scheduled for later.",
                          queue.get("scheduled"))
        yield from _gauge("kehu_task_queue_oldest_age_seconds",
                          "Age of the oldest task waiting for a worker.",
                          queue.get("oldest_age"))
        seen = worker.last_seen()
        yield from _gauge("kehu_worker_last_seen_timestamp_seconds",
                          "When a worker last wrote its heartbeat (Unix time).",
                          seen.timestamp() if seen else None)
        yield from _gauge("kehu_worker_up", "1 while a worker's heartbeat is recent.",
                          1.0 if worker.is_running() else 0.0)
        last = backups.last_backup()
        if last:
            yield from _gauge("kehu_backup_last_timestamp_seconds",
                              "When the last backup was written (Unix time).",
                              last["created_at"].timestamp())
            yield from _gauge("kehu_backup_last_size_bytes", "Size of the last backup.",
                              float(last["size"]))
        for name, (documentation, read) in sorted(_GAUGES.items()):
            try:
                value = read()
            except Exception:  # one broken reader must not hide every other metric
                logging.getLogger("kehu.metrics").exception("Gauge %s failed", name)
                continue
            yield from _gauge(name, documentation, value)


def exposition() -> tuple[bytes, str]:
    """The text a scrape receives: every process's counters plus the state gauges."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(StateCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_dead_processes() -> int:
    """Delete the metric files of processes that are gone (``kehu serve`` at start), so
    the folder does not grow with every restart. Counters they held restart from zero,
    which Prometheus reads as a counter reset."""
    removed = 0
    for path in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed += 1
        except PermissionError:
            continue  # alive, another user's
    return removed


# --- counting ---------------------------------------------------------------------------

def count_login(result: str) -> None:
    LOGINS.labels(result=result).inc()


def import_finished(entity: str, rows: int, seconds: float) -> None:
    IMPORT_ROWS.labels(entity=entity).inc(rows)
    if rows and seconds > 0:
        IMPORT_RATE.labels(entity=entity).observe(rows / seconds)


def route_of(request: HttpRequest) -> str:
    """The URL's name (``customer_detail``, ``api-1.0.0:…``), never the raw path: one
    series per route, whatever ids the paths carry."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class _QueryTimer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 ctx: dict[str, Any]) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            self.seconds += time.perf_counter() - start
            self.queries += 1


class MetricsMiddleware:
    """Times every request and its database queries, counts its status, and logs one line
    (``kehu.request``) carrying the request id that its audit rows carry too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        timer = _QueryTimer()
        status = 500
        try:
            with connection.execute_wrapper(timer):
                response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            elapsed = time.perf_counter() - start
            route = route_of(request)
            REQUESTS.labels(route=route, method=request.method, status=str(status)).inc()
            LATENCY.labels(route=route, method=request.method).observe(elapsed)
            DB_TIME.labels(route=route).observe(timer.seconds)
            DB_QUERIES.labels(route=route).inc(timer.queries)
            if route not in QUIET_ROUTES:
                logger.info(
                    "%s %s %d %.0fms", request.method, request.path, status, elapsed * 1000,
                    extra={"route": route, "status": status, "method": request.method,
                           "path": request.path, "duration_ms": round(elapsed * 1000, 1),
                           "db_ms": round(timer.seconds * 1000, 1),
                           "request_id": context.current().request_id})


# Probes and scrapes every few seconds would drown the log.
QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})


# --- reading the histograms back (the status page) ----------------------------------------

def slowest_routes(limit: int = 10) -> list[dict[str, Any]]:
    """Routes by mean answer time since the processes started, slowest first."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in registry.collect():
        if family.name != "kehu_http_request_duration_seconds":
            continue
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name.endswith("_sum"):
                sums[route] = sums.get(route, 0.0) + sample.value
            elif sample.name.endswith("_count"):
                counts[route] = counts.get(route, 0.0) + sample.value
    rows = sorted(((sums.get(route, 0.0) / count * 1000, route, int(count))
                   for route, count in counts.items() if count and route not in QUIET_ROUTES),
                  reverse=True)
    return [{"route": route, "count": count, "mean_ms": mean} for mean, route, count
            in rows[:limit]]

