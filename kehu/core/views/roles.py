"""Role pages: list, create, detail (edit), delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, permissions, selectors
from kehu.core.exceptions import KehuError
from kehu.core.forms.base import VersionForm
from kehu.core.forms.roles import RoleForm
from kehu.core.models import Role
from kehu.core.services import roles as services
from kehu.core.web import page, require, service_error, user


def _permission_summary(role: Role) -> list[tuple[str, list[str]]]:
    granted = role.effective_permissions()
    summary = []
    for module in permissions.MODULES.values():
        actions = [str(label) for action, label in permissions.ACTIONS.items()
                   if f"{module.key}.{action}" in granted]
        if actions:
            summary.append((str(module.label), actions))
    return summary


@page("roles.view")
def role_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    roles = [(role, _permission_summary(role)) for role in selectors.role_list(actor=me)]
    return render(request, "core/roles/role_list.html", {
        "roles": roles, "can_create": access.has_perm(me, "roles.create"),
    })


@page("roles.create")
def role_create(request: HttpRequest) -> HttpResponse:
    form = RoleForm(request.POST or None, initial={"data_scope": "own"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = services.role_create(
                actor=user(request), name=data["name"], description=data["description"],
                permissions=data["permissions"], data_scope=data["data_scope"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Role “%(name)s” created.") % {"name": role.name})
            return redirect("role_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "core/roles/role_form.html", {"form": form, "role": None},
                  status=status)


@page("roles.view")
def role_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    role = access.get_for(Role, me, pk)
    editable = not role.is_builtin and access.has_perm(me, "roles.change")
    initial = {"name": role.display_name, "description": role.display_description,
               "data_scope": role.data_scope, "version": role.version,
               "permissions": sorted(role.effective_permissions())}
    form = RoleForm(initial=initial)
    status = 200
    if request.method == "POST":
        require(me, "roles.change")
        form = RoleForm(request.POST, initial=initial)
        if form.is_valid():
            data = form.cleaned_data
            try:
                role = services.role_update(
                    actor=me, role_id=pk, expected_version=data["version"], name=data["name"],
                    description=data["description"], permissions=data["permissions"],
                    data_scope=data["data_scope"],
                )
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                messages.success(request, _("Role “%(name)s” saved.") % {"name": role.name})
                return redirect("role_list")
        status = 422
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "core/roles/role_form.html", {
        "form": form, "role": role, "editable": editable,
        "can_delete": not role.is_builtin and access.has_perm(me, "roles.delete"),
    }, status=status)


@require_POST
@page("roles.delete")
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    form = VersionForm(request.POST)
    form.is_valid()
    try:
        role = services.role_delete(actor=user(request), role_id=pk,
                                    expected_version=form.cleaned_data.get("version"))
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("role_detail", pk=pk)
    messages.success(request, _("Role “%(name)s” deleted.") % {"name": role.name})
    return redirect("role_list")

