"""HTML pages for core: thin views over kehu.core services and selectors.

Forms parse input; services decide. A service's field errors land on the form, its
message in the messages area; NotFound becomes the 404 page and a missing module
permission the 403 page. Every action is a plain form post that redirects; htmx only
swaps the result in place (see ``templates/core/org_tree.html``).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cache, wraps
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kehu.core import access, auth, permissions, pii, selectors, services
from kehu.core import forms as f
from kehu.core.exceptions import Forbidden, KehuError, NotFound
from kehu.core.models import OrgUnit, Role, User
from kehu.core.spreadsheets import Echo, safe_cell

AUTH_BACKEND = "kehu.core.auth.EmailBackend"
USERS_PER_PAGE = 25
AUDIT_PER_PAGE = 50

View = Callable[..., HttpResponseBase]


def require(me: Any, permission: str) -> None:
    """The 403 page (and an audited denial) when no role grants ``permission``."""
    try:
        access.require(me, permission)
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from None


def page(permission: str | None = None) -> Callable[[View], View]:
    """Signed-in users only; with ``permission``, users without it get the 403 page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                if is_htmx(request):
                    # A session that ran out mid-page: load the sign-in page whole.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = redirect_to_login(request.get_full_path()).url
                    return response
                return redirect_to_login(request.get_full_path())
            if permission is not None:
                require(request.user, permission)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        return wrapper

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def service_error(request: HttpRequest, form: f.KehuForm | None, exc: KehuError) -> None:
    """Field errors onto the form; otherwise the message into the messages area.

    An error that names its fields is shown only next to them: its message is the
    generic one ("some fields are invalid") and would just repeat them less precisely.
    """
    if isinstance(exc, NotFound):
        raise Http404
    if form is not None and exc.fields:
        form.add_service_error(exc)
        return
    if form is not None:
        form.add_service_error(exc)
    messages.error(request, str(exc.message))


def user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# ---------------------------------------------------------------------------- sign in/out


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = _safe_next(request, reverse("home"))
    form: f.KehuForm
    if request.method != "POST":
        return render(request, "core/login.html", {"form": f.LoginForm(), "next": next_url})
    if "totp_code" in request.POST:
        return _login_second_step(request, next_url)
    form = f.LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "core/login.html", {"form": form, "next": next_url}, status=422)
    data = form.cleaned_data
    try:
        signed_in = auth.login_with_password(data["email"], data["password"])
    except auth.SecondFactorRequired as exc:
        # The password was right: remember that (not the password) for a few minutes.
        request.session[PENDING_LOGIN_KEY] = {"user_id": exc.user_id, "at": time.time()}
        return render(request, "core/login_totp.html",
                      {"form": f.TotpLoginForm(), "next": next_url})
    except KehuError as exc:
        return _login_refused(request, next_url, str(exc.message), email=data["email"])
    login(request, signed_in, backend=AUTH_BACKEND)
    return HttpResponseRedirect(next_url)


PENDING_LOGIN_KEY = "kehu_pending_login"
PENDING_LOGIN_SECONDS = 300


def _login_refused(request: HttpRequest, next_url: str, message: str,
                   email: str = "") -> HttpResponse:
    login_form = f.LoginForm({"email": email, "password": ""})
    login_form.errors.clear()
    login_form.add_error(None, message)
    return render(request, "core/login.html", {"form": login_form, "next": next_url},
                  status=401)


def _login_second_step(request: HttpRequest, next_url: str) -> HttpResponse:
    pending = request.session.get(PENDING_LOGIN_KEY) or {}
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_LOGIN_SECONDS:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return _login_refused(request, next_url, _("Please sign in again."))
    form = f.TotpLoginForm(request.POST)
    if not form.is_valid():
        return render(request, "core/login_totp.html", {"form": form, "next": next_url},
                      status=422)
    try:
        signed_in = auth.login_second_factor(int(pending["user_id"]),
                                             form.cleaned_data["totp_code"])
    except auth.SecondFactorRequired as exc:
        form.add_error("totp_code", str(exc.message))
        return render(request, "core/login_totp.html", {"form": form, "next": next_url},
                      status=401)
    except KehuError as exc:
        request.session.pop(PENDING_LOGIN_KEY, None)
        return _login_refused(request, next_url, str(exc.message))
    request.session.pop(PENDING_LOGIN_KEY, None)
    login(request, signed_in, backend=AUTH_BACKEND)
    return HttpResponseRedirect(next_url)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        auth.record_logout(user(request))
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("login")


@never_cache
def signup_view(request: HttpRequest) -> HttpResponse:
    form = f.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant, admin = services.tenant_signup(
                company_name=data["company_name"], admin_name=data["admin_name"],
                email=data["email"], password=data["password"], phone=data["phone"],
                language=get_language() if get_language() in User.Language.values
                else User.Language.ZH_HANS,
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            login(request, admin, backend=AUTH_BACKEND)
            messages.success(request, _("Welcome! %(company)s is ready.")
                             % {"company": tenant.name})
            return redirect("home")
    status = 422 if request.method == "POST" else 200
    return render(request, "core/signup.html", {"form": form}, status=status)


# ---------------------------------------------------------------------------- home


@page()
def home(request: HttpRequest) -> HttpResponse:
    me = user(request)
    counts = {}
    if access.has_perm(me, "org.view"):
        counts["units"] = selectors.org_unit_list(actor=me).count()
    if access.has_perm(me, "users.view"):
        counts["users"] = selectors.user_list(actor=me).count()
    return render(request, "core/home.html", {
        "my_roles": list(me.roles.all()), "counts": counts,
    })


# ---------------------------------------------------------------------------- org tree


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
        ctx["create_form"] = forms.get("create_form") or f.OrgUnitCreateForm(
            initial=initial, units=units)
    if selected is not None and can_change:
        ctx["edit_form"] = forms.get("edit_form") or f.OrgUnitEditForm(initial={
            "name": selected.name, "kind": selected.kind, "code": selected.code,
            "version": selected.version,
        })
        ctx["move_form"] = forms.get("move_form") or f.OrgUnitMoveForm(
            initial={"parent": selected.parent_id, "version": selected.version},
            units=units, unit=selected)
        ctx["status_form"] = f.VersionForm(initial={"version": selected.version})
    ctx["status_error"] = forms.get("status_error", "")
    if request.method == "POST":
        # Re-shown after a failed action: only the form that failed takes the focus.
        for name in ("create_form", "edit_form", "move_form"):
            if name in ctx and name not in forms:
                ctx[name].blur()
    return ctx


def _org_render(request: HttpRequest, status: int = 200, selected_id: Any = None,
                **forms: Any) -> HttpResponse:
    template = "core/org_tree.html"
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
    form = f.OrgUnitCreateForm(request.POST, units=units)
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
    form = f.OrgUnitEditForm(request.POST)
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
    form = f.OrgUnitMoveForm(request.POST, units=units, unit=unit)
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
    form = f.VersionForm(request.POST)
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


# ---------------------------------------------------------------------------- users


@page("users.view")
def user_list(request: HttpRequest) -> HttpResponse:
    me = user(request)
    units = list(selectors.org_unit_list(actor=me))
    form = f.UserFilterForm(request.GET or None, units=units)
    users = selectors.user_list(actor=me, **form.selector_filters())
    paginator = Paginator(users, USERS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "core/user_list.html"
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
    form = f.UserForm(request.POST or None, initial={"org_unit": me.org_unit_id},
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
            return render(request, "core/password_once.html", {
                "subject": created, "password": password,
                "heading": _("User created"),
            })
    status = 422 if request.method == "POST" else 200
    return render(request, "core/user_form.html", {"form": form, "creating": True},
                  status=status)


def _may_reveal_phone(me: User, subject: User) -> bool:
    return subject.pk == me.pk or access.allows(me, subject, "reveal_pii")


def _user_edit_form(me: User, subject: User, data: Any = None) -> f.UserEditForm:
    reveal = _may_reveal_phone(me, subject)
    return f.UserEditForm(data, initial={
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
    return render(request, "core/user_detail.html", {
        "subject": subject, "form": form, "is_self": subject.pk == me.pk,
        "can_change": access.has_perm(me, "users.change"),
        "can_admin": access.has_perm(me, "users.admin"),
        "status_form": f.VersionForm(initial={"version": subject.version}),
    }, status=status)


@require_POST
@page("users.change")
def user_status(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    form = f.VersionForm(request.POST)
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


@never_cache
@require_POST
@page("users.admin")
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        subject, password = services.user_reset_password(actor=user(request), user_id=pk)
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("user_detail", pk=pk)
    return render(request, "core/password_once.html", {
        "subject": subject, "password": password, "heading": _("Password reset"), "reset": True,
    })


# ---------------------------------------------------------------------------- roles


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
    return render(request, "core/role_list.html", {
        "roles": roles, "can_create": access.has_perm(me, "roles.create"),
    })


@page("roles.create")
def role_create(request: HttpRequest) -> HttpResponse:
    form = f.RoleForm(request.POST or None, initial={"data_scope": "own"})
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
    return render(request, "core/role_form.html", {"form": form, "role": None},
                  status=status)


@page("roles.view")
def role_detail(request: HttpRequest, pk: int) -> HttpResponse:
    me = user(request)
    role = access.get_for(Role, me, pk)
    editable = not role.is_builtin and access.has_perm(me, "roles.change")
    initial = {"name": role.display_name, "description": role.display_description,
               "data_scope": role.data_scope, "version": role.version,
               "permissions": sorted(role.effective_permissions())}
    form = f.RoleForm(initial=initial)
    status = 200
    if request.method == "POST":
        require(me, "roles.change")
        form = f.RoleForm(request.POST, initial=initial)
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
    return render(request, "core/role_form.html", {
        "form": form, "role": role, "editable": editable,
        "can_delete": not role.is_builtin and access.has_perm(me, "roles.delete"),
    }, status=status)


@require_POST
@page("roles.delete")
def role_delete(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.VersionForm(request.POST)
    form.is_valid()
    try:
        role = services.role_delete(actor=user(request), role_id=pk,
                                    expected_version=form.cleaned_data.get("version"))
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect("role_detail", pk=pk)
    messages.success(request, _("Role “%(name)s” deleted.") % {"name": role.name})
    return redirect("role_list")


# ---------------------------------------------------------------------------- audit


def _audit_filters(request: HttpRequest) -> tuple[f.AuditFilterForm, dict[str, Any] | None]:
    """The filter form and the selector's keyword arguments; ``None`` when the filters
    are invalid (then nothing is listed or exported, rather than everything)."""
    form = f.AuditFilterForm(request.GET or None)
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
    names = _audit_names(me, rows)
    for event in rows:
        setattr(event, "object_type_label",  # noqa: B010 (template-only attribute)
                _object_type_label(event.object_type))
        setattr(event, "change_lines", _change_lines(event, names))  # noqa: B010
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit_list.html", {
        "filter_form": form, "page_obj": page_obj, "query": query.urlencode(),
        "can_export": access.has_perm(me, "audit.export") and filters is not None,
    })


# Codes that auth.login_failed events carry in ``changes["reason"]``.
LOGIN_FAILURE_REASONS = {
    "wrong_password": gettext_lazy("Wrong password"),
    "unknown_email": gettext_lazy("Unknown email address"),
    "locked": gettext_lazy("Account locked"),
    "locked_now": gettext_lazy("Wrong password; the account is now locked"),
    "inactive": gettext_lazy("Account deactivated"),
    "wrong_totp": gettext_lazy("Wrong authentication code"),
}

# Labels for change keys that are not fields of the event's model, or whose field has
# no translatable verbose name.
CHANGE_LABELS = {
    "id": gettext_lazy("ID"),
    "path": gettext_lazy("Tree path"),
    "depth": gettext_lazy("Depth in the tree"),
    "builtin_key": gettext_lazy("Built-in role key"),
    "reason": gettext_lazy("Reason"),
    "permission": gettext_lazy("Permission"),
    "filters": gettext_lazy("Filters"),
    "rows": gettext_lazy("Rows"),
    "shared_with": gettext_lazy("Shared with"),
    "can_change": gettext_lazy("Can change"),
}

Names = dict[str, dict[int, str]]  # "roles" / "units" → id → name


@cache
def _audit_models() -> dict[str, type[Model]]:
    """Kehu's models by the name audit rows store as ``object_type``."""
    return {m._meta.model_name or "": m for m in apps.get_models()
            if m.__module__.startswith("kehu.")}


def _object_type_label(object_type: str) -> str:
    model = _audit_models().get(object_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else object_type


def _model_field(object_type: str, key: str) -> Any:
    model = _audit_models().get(object_type)
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


def _names_kind(key: str, field: Any) -> str | None:
    """Which ids a change holds: role ids under ``roles``, unit ids in unit fields."""
    if key == "roles":
        return "roles"
    if field is not None and getattr(field, "related_model", None) is OrgUnit:
        return "units"
    return None


def _ids_in(value: Any) -> Iterator[int]:
    if isinstance(value, list):
        for item in value:
            yield from _ids_in(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def _audit_names(me: User, events: list[Any]) -> Names:
    """Names of the roles and units the page's changes mention: one query for each."""
    ids: dict[str, set[int]] = {"roles": set(), "units": set()}
    for event in events:
        for key, value in (event.changes or {}).items():
            kind = _names_kind(key, _model_field(event.object_type, key))
            if kind is not None:
                ids[kind].update(_ids_in(value))
    # Only records the reader may see are named; others stay "#id".
    names: Names = {"roles": {}, "units": {}}
    if ids["roles"]:
        names["roles"] = {role.pk: role.display_name for role in
                          selectors.role_list(actor=me).filter(pk__in=ids["roles"])}
    if ids["units"]:
        names["units"] = dict(selectors.org_unit_list(actor=me)
                              .filter(pk__in=ids["units"]).values_list("pk", "name"))
    return names


def _change_lines(event: Any, names: Names | None = None) -> list[tuple[str, str, str]]:
    """``(label, text, key)`` per changed field, in the reader's words."""
    lines = []
    for key, value in (event.changes or {}).items():
        field = _model_field(event.object_type, key)
        verbose = getattr(field, "verbose_name", None)
        if isinstance(verbose, Promise):  # marked for translation
            label = capfirst(str(verbose))
        else:
            label = str(CHANGE_LABELS.get(key, key))
        lines.append((label, _change_text(value, key, field, names or {}), key))
    return lines


def _change_text(value: Any, key: str = "", field: Any = None,
                 names: Names | None = None) -> str:
    """``[before, after]`` as "before → after"; each side as _change_value shows it."""
    if isinstance(value, list) and len(value) == 2:
        return " → ".join(_change_value(v, key, field, names or {}) for v in value)
    return _change_value(value, key, field, names or {})


def _change_value(value: Any, key: str, field: Any, names: Names) -> str:
    if value is None or value == "" or value == []:
        return "∅"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    kind = _names_kind(key, field)
    if kind is not None and isinstance(value, (int, list)):
        known = names.get(kind, {})
        return _join(known.get(pk, f"#{pk}") for pk in _ids_in(value))
    if key in ("permission", "permissions") and isinstance(value, (str, list)):
        perms = [value] if isinstance(value, str) else value
        return _join(permissions.permission_label(str(p)) for p in perms)
    if key == "reason" and isinstance(value, str):
        return str(LOGIN_FAILURE_REASONS.get(value, value))
    if key == "data_scope" and isinstance(value, str):
        return str(dict(permissions.Scope.CHOICES).get(value, value))
    choices = dict(getattr(field, "flatchoices", None) or ())
    if isinstance(value, (str, int)) and value in choices:
        return str(choices[value])
    if isinstance(value, list):
        return _join(_change_value(v, key, field, names) for v in value)
    return _plain_text(value)


def _join(texts: Iterable[str]) -> str:
    return ", ".join(texts)


def _plain_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# Shared with every other export (kehu.core.spreadsheets): formula cells neutralised.
_Echo = Echo
_csv_cell = safe_cell


def _audit_csv_rows(events: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel reads the file as UTF-8 only with a byte-order mark
    yield writer.writerow([
        _("Time"), _("Actor"), _("Action"), _("Object type"), _("Object id"), _("Object"),
        _("Changes"), _("IP address"), _("Request id"),
    ])
    tz = timezone.get_current_timezone()
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow([_csv_cell(value) for value in (
            event.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            event.actor_label, event.action, event.object_type, event.object_id,
            event.object_repr,
            json.dumps(event.changes, ensure_ascii=False, sort_keys=True) if event.changes
            else "",
            event.ip or "", event.request_id,
        )])


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
    response = StreamingHttpResponse(_audit_csv_rows(events),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kehu-audit-{stamp}.csv"'
    return response


# ---------------------------------------------------------------------------- profile


def _profile_render(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    me = User.objects.select_related("org_unit", "tenant").get(pk=user(request).pk)
    ctx: dict[str, Any] = {
        "profile_form": f.ProfileForm(initial={
            "full_name": me.full_name, "phone": me.phone, "language": me.language,
            "version": me.version}),
        "password_form": f.PasswordChangeForm(),
        "totp_enable_form": f.TotpEnableForm(),
        "totp_disable_form": f.TotpDisableForm(),
        "token_form": f.ApiTokenForm(),
        "tokens": list(selectors.api_token_list(actor=me)),
        "me": me,
    }
    if me.totp_secret and not me.totp_enabled:
        import pyotp

        ctx["totp_secret"] = me.totp_secret
        ctx["totp_uri"] = pyotp.TOTP(me.totp_secret).provisioning_uri(
            name=me.email, issuer_name="Kehu")
    ctx.update(extra)
    return render(request, "core/profile.html", ctx, status=status)


@never_cache
@page()
def profile(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _profile_render(request)
    form = f.ProfileForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.profile_update(actor=user(request), expected_version=data.pop("version"),
                                    **data)
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            # The next page is in the newly chosen language: so is the message about it.
            translation.activate(data["language"])
            messages.success(request, _("Your profile is saved."))
            return redirect("profile")
    return _profile_render(request, status=422, profile_form=form)


@require_POST
@page()
def profile_password(request: HttpRequest) -> HttpResponse:
    form = f.PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            me = services.profile_update(
                actor=user(request), current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            update_session_auth_hash(request, me)
            messages.success(request, _("Your password is changed."))
            return redirect("profile")
    return _profile_render(request, status=422, password_form=form)


@require_POST
@page()
def totp_setup(request: HttpRequest) -> HttpResponse:
    try:
        services.totp_setup(actor=user(request))
    except KehuError as exc:
        service_error(request, None, exc)
    return redirect(reverse("profile") + "#two-factor")


@require_POST
@page()
def totp_enable(request: HttpRequest) -> HttpResponse:
    form = f.TotpEnableForm(request.POST)
    if form.is_valid():
        try:
            services.totp_enable(actor=user(request), code=form.cleaned_data["code"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("profile")
    return _profile_render(request, status=422, totp_enable_form=form)


@require_POST
@page()
def totp_disable(request: HttpRequest) -> HttpResponse:
    form = f.TotpDisableForm(request.POST)
    if form.is_valid():
        try:
            services.totp_disable(actor=user(request), password=form.cleaned_data["password"])
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("profile")
    return _profile_render(request, status=422, totp_disable_form=form)


@never_cache
@require_POST
@page()
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = f.ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plaintext = services.api_token_create(
                actor=user(request), name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except KehuError as exc:
            service_error(request, form, exc)
        else:
            return _profile_render(request, new_token=token, new_token_plaintext=plaintext)
    return _profile_render(request, status=422, token_form=form)


@require_POST
@page()
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    form = f.VersionForm(request.POST)
    form.is_valid()
    try:
        token = services.api_token_revoke(actor=user(request), token_id=pk,
                                          expected_version=form.cleaned_data.get("version"))
    except KehuError as exc:
        service_error(request, None, exc)
        return redirect(reverse("profile") + "#tokens")
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect(reverse("profile") + "#tokens")
