"""The audit log page and its CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, selectors
from kehu.core.audit_display import audit_names, change_lines, object_type_label
from kehu.core.forms.audit import AuditFilterForm
from kehu.core.services import audit as services
from kehu.core.spreadsheets import csv_lines
from kehu.core.web import page, user

AUDIT_PER_PAGE = 50


def _audit_filters(request: HttpRequest) -> tuple[AuditFilterForm, dict[str, Any] | None]:
    """The filter form and the selector's keyword arguments; ``None`` when the filters
    are invalid (then nothing is listed or exported, rather than everything)."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, None
    return form, form.selector_filters()


@page("audit.view")
def audit_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    form, filters = _audit_filters(request)
    events: Any = [] if filters is None else selectors.audit_event_list(actor=me, **filters)
    page_obj = Paginator(events, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page_obj)
    names = audit_names(me, rows)
    for event in rows:
        setattr(event, "object_type_label",  # noqa: B010 (template-only attribute)
                object_type_label(event.object_type))
        setattr(event, "change_lines", change_lines(event, names))  # noqa: B010
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit/audit_list.html", {
        "filter_form": form, "page_obj": page_obj, "query": query.urlencode(),
        "can_export": access.has_perm(me, "audit.export") and filters is not None,
    })


def _audit_rows(events: Any) -> Iterator[list[Any]]:
    """The header, then a row per event; ``csv_lines`` neutralises every cell."""
    yield [
        _("Time"), _("Actor"), _("Action"), _("Object type"), _("Object id"), _("Object"),
        _("Changes"), _("IP address"), _("Request id"),
    ]
    tz = timezone.get_current_timezone()
    for event in events.iterator(chunk_size=2000):
        yield [
            event.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            event.actor_label, event.action, event.object_type, event.object_id,
            event.object_repr,
            json.dumps(event.changes, ensure_ascii=False, sort_keys=True) if event.changes
            else "",
            event.ip or "", event.request_id,
        ]


@page("audit.export")
def audit_export(request: HttpRequest) -> HttpResponseBase:
    me = user(request)
    form, filters = _audit_filters(request)
    if filters is None:
        # Refused rather than exporting everything: say what is wrong with the filters.
        lines = [_("The filters are invalid; nothing was exported.")]
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            lines += [f"{label}: {error}" if label else str(error) for error in errors]
        return HttpResponse("\n".join(str(line) for line in lines) + "\n", status=400,
                            content_type="text/plain; charset=utf-8")
    events = services.audit_export(actor=me, filters=filters)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_lines(_audit_rows(events)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kehu-audit-{stamp}.csv"'
    return response

