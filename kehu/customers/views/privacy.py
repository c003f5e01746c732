"""The personal-data page of an individual customer or a contact (PIPL Art. 44–47):
download everything held about the person, or erase it; and the tenant's retention rules.
Thin: parse, call, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kehu.core import access
from kehu.core.exceptions import KehuError
from kehu.core.web import page, service_error, user
from kehu.customers.forms.privacy import EraseRequestForm, ExportRequestForm, RetentionRuleForm
from kehu.customers.personal_data import SubjectType
from kehu.customers.selectors import privacy as selectors
from kehu.customers.services import privacy

DETAIL = {"customer": "customer_detail", "contact": "contact_detail"}


def _page(request: HttpRequest, subject_type: SubjectType, pk: int,
          export_form: ExportRequestForm | None = None,
          erase_form: EraseRequestForm | None = None, status: int = 200) -> HttpResponse:
    subject = privacy.subject_for(user(request), subject_type, pk, "privacy.export")
    record = subject.record
    ctx: dict[str, Any] = {
        "record": record, "subject_type": subject_type, "detail_url": DETAIL[subject_type],
        "export_form": export_form or ExportRequestForm(),
        "erase_form": erase_form or EraseRequestForm(initial={"version": record.version}),
        "may_erase": access.has_perm(user(request), "privacy.erase"),
    }
    return render(request, "customers/privacy/page.html", ctx, status=status)


@never_cache
@page("privacy.export")
def personal_data(request: HttpRequest, subject_type: SubjectType, pk: int
                  ) -> HttpResponseBase:
    """GET: the page. POST with ``action=export``: the archive; ``action=erase``: the
    erasure, then back to the (now anonymised) record."""
    if request.method != "POST":
        return _page(request, subject_type, pk)
    if request.POST.get("action") == "export":
        form = ExportRequestForm(request.POST)
        if form.is_valid():
            try:
                name, data = privacy.personal_data_export(
                    actor=user(request), subject_type=subject_type, record_id=pk,
                    reason=form.cleaned_data["reason"])
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                response = HttpResponse(data, content_type="application/zip")
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
        return _page(request, subject_type, pk, export_form=form, status=422)
    erase = EraseRequestForm(request.POST)
    if erase.is_valid():
        try:
            record = privacy.personal_data_erase(
                actor=user(request), subject_type=subject_type, record_id=pk,
                reason=erase.cleaned_data["reason"],
                expected_version=erase.cleaned_data["version"])
        except KehuError as exc:
            service_error(request, erase, exc)
        else:
            messages.success(request, _("The personal data was erased; the record is now "
                                        "“%(name)s”.") % {"name": record.name})
            return redirect(DETAIL[subject_type], pk)
    return _page(request, subject_type, pk, erase_form=erase, status=422)


def _rules_page(request: HttpRequest, failed: RetentionRuleForm | None = None,
                status: int = 200) -> HttpResponse:
    rows = selectors.retention_rules(user(request))
    for row in rows:
        row["form"] = failed if failed is not None and failed["kind"].value() == row["kind"] \
            else RetentionRuleForm(initial={"kind": row["kind"], "years": row["years"],
                                            "version": row["version"]})
    ctx = {"rows": rows, "enabled": [row for row in rows if row["enabled"]]}
    return render(request, "customers/privacy/retention.html", ctx, status=status)


@never_cache
@page("privacy.erase")
def retention_rules(request: HttpRequest) -> HttpResponseBase:
    """The tenant's retention rules with their latest dry-run reports; POST sets one
    kind's period or (``action=off``) turns it off."""
    if request.method != "POST":
        return _rules_page(request)
    form = RetentionRuleForm(request.POST)
    if form.is_valid():
        off = request.POST.get("action") == "off"
        try:
            privacy.retention_rule_set(
                actor=user(request), kind=form.cleaned_data["kind"],
                years=None if off else form.cleaned_data["years"],
                expected_version=form.cleaned_data["version"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("The retention rule was turned off.") if off
                             else _("The retention rule was saved. The worker reports what "
                                    "it makes due before deleting anything."))
            return redirect("retention_rules")
    return _rules_page(request, failed=form, status=422)
