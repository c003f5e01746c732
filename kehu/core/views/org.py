"""The org tree page and its actions: create, edit, move, (de)activate a unit."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class TreeRow:
    """One row of the org tree: a unit, or (``more``) a note that siblings are not listed."""

    unit: OrgUnit | None
    level: int  # aria-level: 1 for the tops
    expanded: bool = False
    more: bool = False
    path: str = ""  # a "more" row's parent's path: closing the parent removes it too


def _path_ids(unit: OrgUnit) -> list[int]:
    return [int(part) for part in unit.path.strip("/").split("/")]


def _child_rows(children: list[OrgUnit], level: int, expand: set[int],
                load: Any) -> list[TreeRow]:
    rows: list[TreeRow] = []
    for child in children[:selectors.ORG_CHILDREN_LIMIT]:
        open_ = child.pk in expand and child.has_children  # type: ignore[attr-defined]
        rows.append(TreeRow(child, level, expanded=open_))
        if open_:
            rows += _child_rows(load(child.pk), level + 1, expand, load)
    if len(children) > selectors.ORG_CHILDREN_LIMIT:
        rows.append(TreeRow(None, level, more=True,
                            path=children[0].path.rsplit("/", 2)[0] + "/"))
    return rows


def _tree_rows(me: Any, selected: OrgUnit | None) -> list[TreeRow]:
    """The tree as first shown: its tops, opened along the way to the selected unit (or
    the single top opened). Other subtrees load when opened (``org_unit_children``), so
    the page's cost follows what is shown, not the size of the company."""
    roots = selectors.org_roots(actor=me)
    if selected is not None:
        expand = set(_path_ids(selected))
    else:
        expand = {roots[0].pk} if len(roots) == 1 else set()
    return _child_rows(roots, 1, expand,
                       lambda pk: selectors.org_children(actor=me, parent_id=pk))


def _posted_unit(me: Any, request: HttpRequest, field: str) -> list[OrgUnit]:
    """The unit a form posted (as the only choice), for validating a parent that need not
    be on the page; the service checks the right to use it."""
    try:
        pk = int(request.POST.get(field, ""))
    except ValueError:
        return []
    return list(selectors.org_unit_list(actor=me).filter(pk=pk))


def _org_context(request: HttpRequest, selected_id: Any = None,
                 **forms: Any) -> dict[str, Any]:
    me = user(request)
    selected: OrgUnit | None = None
    selected_id = selected_id or request.GET.get("unit")
    if selected_id:
        selected = access.get_for(OrgUnit, me, selected_id)
    rows = _tree_rows(me, selected)
    # The parent choices are the units on the page; search opens any other part.
    units = [row.unit for row in rows if row.unit is not None]
    can_create = access.has_perm(me, "org.create")
    can_change = access.has_perm(me, "org.change")
    ctx: dict[str, Any] = {
        "rows": rows, "selected": selected, "can_create": can_create, "can_change": can_change,
    }
    ctx.update(_search_context(request))
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


def _search_context(request: HttpRequest) -> dict[str, Any]:
    query = request.GET.get("q", "").strip()[:100]
    if not query:
        return {"q": ""}
    return {"q": query, "found": selectors.org_unit_search(actor=user(request), search=query)}


def _org_render(request: HttpRequest, status: int = 200, selected_id: Any = None,
                **forms: Any) -> HttpResponse:
    template = "core/org/org_tree.html"
    target = request.headers.get("HX-Target", "") if is_htmx(request) else ""
    if target == "org-search-results":
        # Live search: only the results, without building the tree.
        return render(request, template + "#search", _search_context(request))
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


@page("org.view")
def org_unit_children(request: HttpRequest, pk: int) -> HttpResponse:
    """The rows under one unit, for opening it in the tree (htmx inserts them after it)."""
    me = user(request)
    unit = access.get_for(OrgUnit, me, pk)
    try:
        level = min(max(int(request.GET.get("level", "1")), 1), 50)
    except ValueError:
        level = 1
    rows = _child_rows(selectors.org_children(actor=me, parent_id=unit.pk), level + 1,
                       set(), lambda _pk: [])
    return render(request, "core/org/_rows.html", {"rows": rows, "parent": unit})


@page("org.change")
def org_unit_parents(request: HttpRequest, pk: int) -> HttpResponse:
    """Options for the move form's parent, found by name or code anywhere in the tree (the
    form first lists only the units on the page)."""
    me = user(request)
    unit = access.get_for(OrgUnit, me, pk, "change")
    query = request.GET.get("find", "").strip()[:100]
    found = selectors.org_unit_search(actor=me, search=query) if query else []
    options = [(u, path) for u, path in found
               if u.is_active and not u.path.startswith(unit.path)]
    return render(request, "core/org/_parent_options.html",
                  {"options": options, "current": unit.parent, "query": query})


@require_POST
@page("org.create")
def org_unit_create(request: HttpRequest) -> HttpResponse:
    units = _posted_unit(user(request), request, "new-parent")
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
    unit = access.get_for(OrgUnit, me, pk, "change")
    units = _posted_unit(me, request, "move-parent")
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

