"""Core REST endpoints: sign-up, tokens, profile, org units, users, roles, permissions, audit.

Thin by design: parse input, call services and selectors (which check access and write the
audit), shape output. Conventions come from kehu.core.http.
"""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from kehu.core import access, auth, permissions, selectors, services
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    idempotent,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)
from kehu.core.models import AuditEvent, OrgUnit, Role, User
from kehu.core.schemas import (
    AuditEventOut,
    AuditFilters,
    MeOut,
    OrgUnitFilters,
    OrgUnitIn,
    OrgUnitMoveIn,
    OrgUnitOut,
    OrgUnitPatch,
    PasswordResetOut,
    PermissionFilters,
    PermissionOut,
    ProfilePatch,
    RoleFilters,
    RoleIn,
    RoleOut,
    RolePatch,
    SignupIn,
    SignupOut,
    TokenCreatedOut,
    TokenFilters,
    TokenIn,
    TokenOut,
    UserCreatedOut,
    UserFilters,
    UserIn,
    UserOut,
    UserPatch,
)

router = Router()
auth_router = Router(tags=["auth"])
org_units_router = Router(tags=["org-units"])
users_router = Router(tags=["users"])
roles_router = Router(tags=["roles"])
permissions_router = Router(tags=["permissions"])
audit_router = Router(tags=["audit-events"])


def _user(user_id: int, actor: User) -> User:
    return access.get_for(User, actor, user_id)


# ---------------------------------------------------------------------------- auth


@auth_router.post("/signup", auth=None, response=responses({201: SignupOut}, 409))
@idempotent()
def signup(request: HttpRequest, payload: SignupIn) -> Status:
    """Create a company (tenant), its root unit and its first administrator."""
    tenant, user = services.tenant_signup(**payload.model_dump())
    request.auth = user  # type: ignore[attr-defined]  # the caller is the new administrator
    return Status(201, {"tenant": tenant, "user": user})


@auth_router.post("/token", auth=None, response=responses({201: TokenCreatedOut}))
@idempotent(secret_fields=("token",))
def token_create(request: HttpRequest, payload: TokenIn) -> Status:
    """Exchange email and password (and the TOTP code when enabled) for a bearer token.

    The token is shown once; send it as ``Authorization: Bearer …``.
    """
    user = auth.login_with_password(payload.email, payload.password, payload.totp_code)
    token, plaintext = services.api_token_create(
        actor=user, name=payload.name or _("API token"), expires_at=payload.expires_at
    )
    return Status(201, {"token": plaintext, "id": token.pk, "name": token.name,
                        "prefix": token.prefix, "expires_at": token.expires_at,
                        "version": token.version})


@auth_router.get("/tokens", response=responses({200: Page[TokenOut]}))
def token_list(request: HttpRequest, filters: Query[TokenFilters]) -> dict:
    """Your own API tokens (never their secret)."""
    return paginate(selectors.api_token_list(actor=current_user(request)), filters)


@auth_router.delete("/tokens/{token_id}", response=responses({200: TokenOut}, 404, 412, 428))
@needs_if_match
def token_revoke(request: HttpRequest, token_id: DbId, response: HttpResponse) -> object:
    """Revoke one of your tokens; it stops working at once."""
    actor = current_user(request)
    token = services.api_token_revoke(
        actor=actor, token_id=token_id, expected_version=if_match(request)
    )
    set_etag(response, token)
    return token


@auth_router.get("/me", response=responses({200: MeOut}))
def me(request: HttpRequest, response: HttpResponse) -> object:
    """The signed-in user, their company and the permissions they hold."""
    user = current_user(request)
    set_etag(response, user)
    return user


@auth_router.patch("/me", response=responses({200: MeOut}, 412, 428))
@needs_if_match
def me_update(request: HttpRequest, payload: ProfilePatch, response: HttpResponse) -> object:
    """Change your name, phone, language or password (``current_password`` +
    ``new_password``). Send ``If-Match`` with the ETag of ``GET /auth/me``."""
    actor = current_user(request)
    changes = payload.changes()
    user = services.profile_update(actor=actor, expected_version=if_match(request), **changes)
    if changes.get("new_password") and request.session.session_key:
        # A session caller stays signed in; other sessions end with the old hash.
        update_session_auth_hash(request, user)
    user.tenant = actor.tenant
    set_etag(response, user)
    return user


# ---------------------------------------------------------------------------- org units


@org_units_router.get("", response=responses({200: Page[OrgUnitOut]}))
def org_unit_list(request: HttpRequest, filters: Query[OrgUnitFilters]) -> dict:
    qs = selectors.org_unit_list(
        actor=current_user(request), under_id=filters.under, search=filters.search,
        is_active=filters.active,
    )
    return paginate(qs, filters, filters.ordering)


@org_units_router.post("", response=responses({201: OrgUnitOut}, 403, 404, 409))
@idempotent()
def org_unit_create(request: HttpRequest, payload: OrgUnitIn, response: HttpResponse) -> Status:
    unit = services.org_unit_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, unit)
    return Status(201, unit)


@org_units_router.get("/{unit_id}", response=responses({200: OrgUnitOut}, 404))
def org_unit_get(request: HttpRequest, unit_id: DbId, response: HttpResponse) -> object:
    unit = access.get_for(OrgUnit, current_user(request), unit_id)
    set_etag(response, unit)
    return unit


@org_units_router.patch("/{unit_id}",
                        response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@needs_if_match
def org_unit_update(request: HttpRequest, unit_id: DbId, payload: OrgUnitPatch,
                    response: HttpResponse) -> object:
    """Rename, retype, recode, or (de)activate a unit."""
    unit = services.org_unit_update(
        actor=current_user(request), unit_id=unit_id, expected_version=if_match(request),
        **payload.changes(),
    )
    set_etag(response, unit)
    return unit


@org_units_router.delete("/{unit_id}",
                         response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@needs_if_match
def org_unit_deactivate(request: HttpRequest, unit_id: DbId, response: HttpResponse) -> object:
    """Deactivate a unit; refused (409) while it still owns active users or records."""
    unit = services.org_unit_deactivate(
        actor=current_user(request), unit_id=unit_id, expected_version=if_match(request)
    )
    set_etag(response, unit)
    return unit


@org_units_router.post("/{unit_id}/move",
                       response=responses({200: OrgUnitOut}, 403, 404, 409, 412, 428))
@idempotent()
@needs_if_match
def org_unit_move(request: HttpRequest, unit_id: DbId, payload: OrgUnitMoveIn,
                  response: HttpResponse) -> object:
    """Move a unit with its whole subtree under another parent (``If-Match`` required)."""
    unit = services.org_unit_move(
        actor=current_user(request), unit_id=unit_id, new_parent_id=payload.parent_id,
        expected_version=if_match(request),
    )
    set_etag(response, unit)
    return unit


# ---------------------------------------------------------------------------- users


@users_router.get("", response=responses({200: Page[UserOut]}))
def user_list(request: HttpRequest, filters: Query[UserFilters]) -> dict:
    qs = selectors.user_list(
        actor=current_user(request), org_unit_id=filters.org_unit, search=filters.search,
        is_active=filters.active, role_id=filters.role,
    )
    return paginate(qs, filters, filters.ordering)


@users_router.post("", response=responses({201: UserCreatedOut}, 403, 404, 409))
@idempotent(secret_fields=("initial_password",))
def user_create(request: HttpRequest, payload: UserIn, response: HttpResponse) -> Status:
    """Add a user. Without ``password`` one is generated and returned once as
    ``initial_password``."""
    user, generated = services.user_create(actor=current_user(request), **payload.model_dump())
    user.initial_password = generated  # type: ignore[attr-defined]
    set_etag(response, user)
    return Status(201, user)


@users_router.get("/{user_id}", response=responses({200: UserOut}, 404))
def user_get(request: HttpRequest, user_id: DbId, response: HttpResponse) -> object:
    user = _user(user_id, current_user(request))
    set_etag(response, user)
    return user


@users_router.patch("/{user_id}", response=responses({200: UserOut}, 403, 404, 409, 412, 428))
@needs_if_match
def user_update(request: HttpRequest, user_id: DbId, payload: UserPatch,
                response: HttpResponse) -> object:
    user = services.user_update(
        actor=current_user(request), user_id=user_id, expected_version=if_match(request),
        **payload.changes(),
    )
    set_etag(response, user)
    return user


@users_router.delete("/{user_id}", response=responses({200: UserOut}, 403, 404, 412, 428))
@needs_if_match
def user_deactivate(request: HttpRequest, user_id: DbId, response: HttpResponse) -> object:
    """Deactivate a user: their sessions and API tokens stop working at once."""
    user = services.user_deactivate(
        actor=current_user(request), user_id=user_id, expected_version=if_match(request)
    )
    set_etag(response, user)
    return user


@users_router.post("/{user_id}/unlock", response=responses({200: UserOut}, 403, 404))
@idempotent()
def user_unlock(request: HttpRequest, user_id: DbId, response: HttpResponse) -> object:
    """Lift a lockout after repeated failed sign-ins."""
    user = services.user_unlock(actor=current_user(request), user_id=user_id)
    set_etag(response, user)
    return user


@users_router.post("/{user_id}/reset-password",
                   response=responses({200: PasswordResetOut}, 403, 404))
@idempotent(secret_fields=("password",))
def user_reset_password(request: HttpRequest, user_id: DbId, response: HttpResponse) -> object:
    """Set a new generated password, returned this once."""
    user, password = services.user_reset_password(actor=current_user(request), user_id=user_id)
    set_etag(response, user)
    return {"id": user.pk, "version": user.version, "password": password}


# ---------------------------------------------------------------------------- roles


@roles_router.get("", response=responses({200: Page[RoleOut]}))
def role_list(request: HttpRequest, filters: Query[RoleFilters]) -> dict:
    qs = selectors.role_list(actor=current_user(request), builtin=filters.builtin)
    return paginate(qs, filters, filters.ordering)


@roles_router.post("", response=responses({201: RoleOut}, 403, 409))
@idempotent()
def role_create(request: HttpRequest, payload: RoleIn, response: HttpResponse) -> Status:
    """Create a custom role: module actions plus a data scope."""
    role = services.role_create(actor=current_user(request), **payload.model_dump())
    set_etag(response, role)
    return Status(201, role)


@roles_router.get("/{role_id}", response=responses({200: RoleOut}, 404))
def role_get(request: HttpRequest, role_id: DbId, response: HttpResponse) -> object:
    role = access.get_for(Role, current_user(request), role_id)
    set_etag(response, role)
    return role


@roles_router.patch("/{role_id}", response=responses({200: RoleOut}, 403, 404, 409, 412, 428))
@needs_if_match
def role_update(request: HttpRequest, role_id: DbId, payload: RolePatch,
                response: HttpResponse) -> object:
    """Change a custom role (built-in roles cannot be changed)."""
    role = services.role_update(
        actor=current_user(request), role_id=role_id, expected_version=if_match(request),
        **payload.changes(),
    )
    set_etag(response, role)
    return role


@roles_router.delete("/{role_id}", response=responses({204: None}, 403, 404, 409, 412, 428))
@needs_if_match
def role_delete(request: HttpRequest, role_id: DbId) -> Status:
    """Delete a custom role nobody holds any more."""
    services.role_delete(
        actor=current_user(request), role_id=role_id, expected_version=if_match(request)
    )
    return Status(204, None)


# ---------------------------------------------------------------------------- permissions


@permissions_router.get("", response=responses({200: Page[PermissionOut]}))
def permission_list(request: HttpRequest, filters: Query[PermissionFilters]) -> dict:
    """The registry of module actions that roles are made of."""
    current_user(request)
    rows = [
        {"permission": f"{module.key}.{action}", "module": module.key,
         "module_label": str(module.label), "action": action,
         "label": permissions.permission_label(f"{module.key}.{action}")}
        for module in permissions.MODULES.values() for action in module.actions
    ]
    return paginate(rows, filters)


# ---------------------------------------------------------------------------- audit


@audit_router.get("", response=responses({200: Page[AuditEventOut]}))
def audit_event_list(request: HttpRequest, filters: Query[AuditFilters]) -> dict:
    """The audit trail you may read, newest first. Read-only: it cannot be changed."""
    qs = selectors.audit_event_list(
        actor=current_user(request), actor_id=filters.actor, object_type=filters.object_type,
        object_id=filters.object_id, action=filters.action, since=filters.since,
        until=filters.until,
    )
    return paginate(qs, filters)


@audit_router.get("/{event_id}", response=responses({200: AuditEventOut}, 404))
def audit_event_get(request: HttpRequest, event_id: DbId) -> object:
    return access.get_for(AuditEvent, current_user(request), event_id)


router.add_router("/auth", auth_router)
router.add_router("/org-units", org_units_router)
router.add_router("/users", users_router)
router.add_router("/roles", roles_router)
router.add_router("/permissions", permissions_router)
router.add_router("/audit-events", audit_router)
