"""The org tree page and its actions: create, edit, move, (de)activate a unit."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, selectors
from kehu.core.exceptions import KehuError, NotFound
from kehu.core.forms.base import VersionForm
from kehu.core.forms.org import OrgUnitCreateForm, OrgUnitEditForm, OrgUnitMoveForm
from kehu.core.models import OrgUnit
from kehu.core.services import org as services
from kehu.core.web import is_htmx, page, service_error, user


def _org_context(request: HttpRequest, selected_id: Any = None,
                 **forms: Any) -> dict[str, Any]:
    me = user(request)
    units = list(selectors.org_unit_list(actor=me))
    base = min((u.depth for u in units), default=0)
    selected: OrgUnit | None = None
    selected_id = selected_id or request.GET.get("unit")
    if selected_id:
        selected = access.get_for(OrgUnit, me, selected_id)
    can_create = access.has_perm(me, "org.create")
    can_change = access.has_perm(me, "org.change")
    ctx: dict[str, Any] = {
        "units": [(u, u.depth - base) for u in units],
        "selected": selected, "can_create": can_create, "can_change": can_change,
    }
    if can_create:
        initial = {"parent": selected.pk if selected else (units[0].pk if units else None),
                   "kind": OrgUnit.Kind.OTHER}
        ctx["create_form"] = forms.get("create_form") or OrgUnitCreateForm(
            initial=initial, units=units)
    if selected is not None and can_change:
        ctx["edit_form"] = forms.get("edit_form") or OrgUnitEditForm(initial={
            "name": selected.name, "kind": selected.kind, "code": selected.code,
            "version": selected.version,
        })
        ctx["move_form"] = forms.get("move_form") or OrgUnitMoveForm(
            initial={"parent": selected.parent_id, "version": selected.version},
            units=units, unit=selected)
        ctx["status_form"] = VersionForm(initial={"version": selected.version})
    ctx["status_error"] = forms.get("status_error", "")
    if request.method == "POST":
        # Re-shown after a failed action: only the form that failed takes the focus.
        for name in ("create_form", "edit_form", "move_form"):
            if name in ctx and name not in forms:
                ctx[name].blur()
    return ctx


def _org_render(request: HttpRequest, status: int = 200, selected_id: Any = None,
                **forms: Any) -> HttpResponse:
    template = "core/org/org_tree.html"
    target = request.headers.get("HX-Target", "") if is_htmx(request) else ""
    if target in ("org-main", "org-panel"):
        template += "#" + target.removeprefix("org-")
    return render(request, template, _org_context(request, selected_id, **forms),
                  status=status)


def _org_done(request: HttpRequest, unit_id: int | None) -> HttpResponse:
    url = reverse("org_tree")
    if unit_id is not None:
        url += "?" + urlencode({"unit": unit_id})
    return redirect(url)


@page("org.view")
def org_tree(request: HttpRequest) -> HttpResponse:
    return _org_render(request)


@require_POST
@page("org.create")
def org_unit_create(request: HttpRequest) -> HttpResponse:
    units = list(selectors.org_unit_list(actor=user(request)))
    form = OrgUnitCreateForm(request.POST, units=units)
    if form.is_valid():
        data = form.cleaned_data
        try:
            unit = services.org_unit_create(
                actor=user(request), parent_id=int(data["parent"]), name=data["name"],
                kind=data["kind"], code=data["code"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” created.") % {"name": unit.name})
            return _org_done(request, unit.pk)
    return _org_render(request, status=422, selected_id=form.cleaned_data.get("parent"),
                       create_form=form)


@require_POST
@page("org.change")
def org_unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = OrgUnitEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            unit = services.org_unit_update(
                actor=user(request), unit_id=pk, expected_version=data["version"],
                name=data["name"], kind=data["kind"], code=data["code"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” saved.") % {"name": unit.name})
            return _org_done(request, unit.pk)
    return _org_render(request, status=422, selected_id=pk, edit_form=form)


@require_POST
@page("org.change")
def org_unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    units = list(selectors.org_unit_list(actor=me))
    unit = access.get_for(OrgUnit, me, pk, "change")
    form = OrgUnitMoveForm(request.POST, units=units, unit=unit)
    if form.is_valid():
        try:
            unit = services.org_unit_move(
                actor=me, unit_id=pk, new_parent_id=int(form.cleaned_data["parent"]),
                expected_version=form.cleaned_data["version"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” moved.") % {"name": unit.name})
            return _org_done(request, unit.pk)
    return _org_render(request, status=422, selected_id=pk, move_form=form)


@require_POST
@page("org.change")
def org_unit_status(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    form = VersionForm(request.POST)
    form.is_valid()
    try:
        unit = services.org_unit_update(
            actor=user(request), unit_id=pk, is_active=active,
            expected_version=form.cleaned_data.get("version"),
        )
    except KehuError as exc:
        if isinstance(exc, NotFound):
            raise Http404 from None
        # Shown next to the button that was pressed, where the user is looking.
        return _org_render(request, status=422, selected_id=pk, status_error=str(exc.message))
    if active:
        messages.success(request, _("Unit “%(name)s” reactivated.") % {"name": unit.name})
    else:
        messages.success(request, _("Unit “%(name)s” deactivated.") % {"name": unit.name})
    return _org_done(request, unit.pk)

