"""Probes and metrics for machines: ``/healthz``, ``/readyz`` (no sign-in, no detail beyond
ok/fail per check) and ``/metrics`` (a bearer token or an allowed address)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kehu.core import health, metrics
from kehu.core.middleware import client_ip


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is checked (a liveness probe)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Database, task queue, worker heartbeat, free disk: 200 when all pass, else 503."""
    results = health.readiness()
    ready = all(results.values())
    return JsonResponse(
        {"status": "ok" if ready else "fail",
         "checks": {name: "ok" if passed else "fail" for name, passed in results.items()}},
        status=200 if ready else 503)


def _allowed(request: HttpRequest) -> bool:
    token = settings.KEHU_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(
            given.removeprefix("Bearer ").strip().encode(), token.encode()):
        return True
    address = client_ip(request)
    if not address or not settings.KEHU_METRICS_ALLOWED_IPS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False)
               for net in settings.KEHU_METRICS_ALLOWED_IPS)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.KEHU_METRICS_TOKEN and not settings.KEHU_METRICS_ALLOWED_IPS:
        return HttpResponse("Metrics are off: set KEHU_METRICS_TOKEN or "
                            "KEHU_METRICS_ALLOWED_IPS.\n", status=404,
                            content_type="text/plain; charset=utf-8")
    if not _allowed(request):
        response = HttpResponse("A valid metrics token or an allowed address is required.\n",
                                status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="kehu-metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
