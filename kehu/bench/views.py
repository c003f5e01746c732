"""The floor of the list API: the same page of rows by raw SQL, as JSON, with nothing
else (no authentication, no access policy, no schema). Mounted only by
``kehu.bench.urls``, which only the benchmark's own server process uses."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from kehu.bench.workloads import bare_list_sql
from kehu.core.models import OrgUnit


def bare_customers(request: HttpRequest) -> JsonResponse:
    tenant_id = int(request.GET.get("tenant", "0"))
    unit = OrgUnit.objects.filter(tenant_id=tenant_id, pk=int(request.GET.get("unit", "0"))) \
        .values_list("path", flat=True).first() or "/none/"
    sql, params = bare_list_sql(tenant_id, unit, request.GET.get("status", ""),
                                int(request.GET.get("offset", "0")))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        items = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return JsonResponse({"items": items})
