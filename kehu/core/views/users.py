"""User pages: list, create, detail (edit), (de)activate, unlock, reset a password."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.core import access, pii, selectors
from kehu.core.exceptions import KehuError
from kehu.core.forms.base import VersionForm
from kehu.core.forms.users import UserEditForm, UserFilterForm, UserForm
from kehu.core.models import User
from kehu.core.services import users as services
from kehu.core.web import is_htmx, page, require, service_error, user

USERS_PER_PAGE = 25


@page("users.view")
def user_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    units = list(selectors.org_unit_list(actor=me))
    form = UserFilterForm(request.GET or None, units=units)
    users = selectors.user_list(actor=me, **form.selector_filters())
    paginator = Paginator(users, USERS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "core/users/user_list.html"
    if is_htmx(request) and request.headers.get("HX-Target") == "user-results":
        template += "#results"
    return render(request, template, {
        "filter_form": form, "page_obj": page_obj, "query": query.urlencode(),
        "can_create": access.has_perm(me, "users.create"),
    })


def _user_form_choices(me: User, subject: User | None = None) -> dict[str, Any]:
    """Units, and the roles ``me`` may grant. Roles the subject already holds but ``me``
    could not grant stay listed as locked, so that saving the form keeps them."""
    held = {r.pk for r in subject.roles.all()} if subject is not None else set()
    roles, locked = [], []
    for role in selectors.role_list(actor=me):
        if access.can_grant(me, role.effective_permissions(), role.data_scope):
            roles.append(role)
        elif role.pk in held:
            roles.append(role)
            locked.append(role.pk)
    return {
        "units": list(selectors.org_unit_list(actor=me, is_active=True)),
        "roles": roles, "locked_roles": locked,
    }


@never_cache
@page("users.create")
def user_create(request: HttpRequest) -> HttpResponse:
    me = user(request)
    form = UserForm(request.POST or None, initial={"org_unit": me.org_unit_id},
                      **_user_form_choices(me))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, password = services.user_create(
                actor=me, email=data["email"], full_name=data["full_name"],
                phone=data["phone"], org_unit_id=data["org_unit"], role_ids=data["roles"],
                language=data["language"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": created.full_name})
            return render(request, "core/users/password_once.html", {
                "subject": created, "password": password,
                "heading": _("User created"),
            })
    status = 422 if request.method == "POST" else 200
    return render(request, "core/users/user_form.html", {"form": form, "creating": True},
                  status=status)


def _may_reveal_phone(me: User, subject: User) -> bool:
    return subject.pk == me.pk or access.allows(me, subject, "reveal_pii")


def _user_edit_form(me: User, subject: User, data: Any = None) -> UserEditForm:
    reveal = _may_reveal_phone(me, subject)
    return UserEditForm(data, initial={
        "full_name": subject.full_name,
        "phone": subject.phone if reveal else pii.mask("phone", subject.phone),
        "org_unit": subject.org_unit_id, "roles": [r.pk for r in subject.roles.all()],
        "language": subject.language, "version": subject.version,
    }, is_self=subject.pk == me.pk, reveal_phone=reveal, **_user_form_choices(me, subject))


@page("users.view")
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    subject = access.get_for(User, me, pk)
    form = None
    status = 200
    if request.method == "POST":
        require(me, "users.change")
        form = _user_edit_form(me, subject, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            changes: dict[str, Any] = {
                "full_name": data["full_name"],
                "language": data["language"], "org_unit_id": data["org_unit"],
            }
            if _may_reveal_phone(me, subject):
                changes["phone"] = data["phone"]
            if subject.pk != me.pk and set(data["roles"]) != {
                r.pk for r in subject.roles.all()
            }:
                changes["role_ids"] = data["roles"]
            try:
                services.user_update(actor=me, user_id=pk, expected_version=data["version"],
                                     **changes)
            except KehuError as exc:
                service_error(request, form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("user_detail", pk=pk)
        status = 422
    elif access.has_perm(me, "users.change"):
        form = _user_edit_form(me, subject)
    return render(request, "core/users/user_detail.html", {
        "subject": subject, "form": form, "is_self": subject.pk == me.pk,
        "can_change": access.has_perm(me, "users.change"),
        "can_admin": access.has_perm(me, "users.admin"),
        "status_form": VersionForm(initial={"version": subject.version}),
    }, status=status)


@require_POST
@page("users.change")
def user_status(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    form = VersionForm(request.POST)
    form.is_valid()
    try:
        subject = services.user_update(actor=user(request), user_id=pk, is_active=active,
                                       expected_version=form.cleaned_data.get("version"))
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        if active:
            messages.success(request, _("%(name)s reactivated.") % {"name": subject.full_name})
        else:
            messages.success(request, _("%(name)s deactivated.") % {"name": subject.full_name})
    return redirect("user_detail", pk=pk)


@require_POST
@page("users.admin")
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subject = services.user_unlock(actor=user(request), user_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("%(name)s can sign in again.") % {"name": subject.full_name})
    return redirect("user_detail", pk=pk)


@require_POST
@page("users.admin")
def user_reset_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subject = services.user_reset_two_factor(actor=user(request), user_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
    else:
        messages.success(request, _("Two-factor authentication of %(name)s is reset: they sign "
                                    "in with their password and can set it up again.")
                         % {"name": subject.full_name})
    return redirect("user_detail", pk=pk)


@never_cache
@require_POST
@page("users.admin")
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subject, password = services.user_reset_password(actor=user(request), user_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("user_detail", pk=pk)
    return render(request, "core/users/password_once.html", {
        "subject": subject, "password": password, "heading": _("Password reset"), "reset": True,
    })

