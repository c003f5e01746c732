"""Pages: the notification centre and the reminder settings (with the sections other apps
register on it, such as the calendar link).

Thin: forms parse, services write, selectors read. Every action is a plain form post that
redirects, so the pages work without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.core.exceptions import StaleVersion, ValidationFailed
from kehu.core.http import MAX_ID
from kehu.core.models import User
from kehu.core.redirects import next_url, safe_next
from kehu.core.web import page, service_error
from kehu.notifications import selectors, services
from kehu.notifications.forms import ReminderSettingsForm
from kehu.notifications.models import ReadVia
from kehu.notifications.registry import settings_sections

NOTIFICATIONS_PER_PAGE = 25


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _id(value: int) -> int:
    if value > MAX_ID:
        raise Http404
    return value


# ---------------------------------------------------------------------------- notifications


@require_GET
@page()
def notification_list(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    unread_only = request.GET.get("show") == "unread"
    qs = selectors.notification_list(actor=me, unread=True if unread_only else None)
    page_obj = Paginator(qs, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {
        "page_obj": page_obj, "unread_only": unread_only,
        "query": "show=unread" if unread_only else "",
        "unread_total": selectors.unread_count(actor=me),
    })


@require_POST
@page()
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    services.notification_mark_read(actor=_me(request), notification_id=_id(notification_id))
    return redirect(next_url(request, reverse("notification_list")))


@require_GET
@page()
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notice's link, marking it read on the way."""
    notice = services.notification_mark_read(actor=_me(request),
                                             notification_id=_id(notification_id),
                                             via=ReadVia.OPENED)
    return redirect(safe_next(request, notice.url, reverse("notification_list")))


@require_POST
@page()
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(actor=_me(request))
    if count:
        messages.success(request, _("Marked %(n)d notifications read.") % {"n": count})
    return redirect(next_url(request, reverse("notification_list")))


@page()
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Reminder settings, and the sections other apps register (the calendar link)."""
    me = _me(request)
    current = services.reminder_settings(me)
    form = ReminderSettingsForm(request.POST or None, initial={
        "default_lead_minutes": current.default_lead_minutes,
        "email_enabled": current.email_enabled, "expected_version": current.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.reminder_settings_update(actor=me, **form.cleaned_data)
        except (ValidationFailed, StaleVersion) as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Reminder settings saved."))
            return redirect("notification_settings")
    sections = settings_sections()
    return render(request, "notifications/settings.html", {
        "form": form,
        "sections": [{"template": s.template, "data": s.context(me)} for s in sections],
        "section_links": [s.link for s in sections if s.link is not None],
    })

