"""User endpoints: ``/users``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from kehu.core import access, selectors
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
from kehu.core.models import User
from kehu.core.schemas.users import (
    PasswordResetOut,
    UserCreatedOut,
    UserFilters,
    UserIn,
    UserOut,
    UserPatch,
)
from kehu.core.services import users as services

users_router = Router(tags=["users"])


def _user(user_id: int, actor: User) -> User:
    return access.get_for(User, actor, user_id)


@users_router.get("", response=responses({200: Page[UserOut]}))
def user_list(request: HttpRequest, filters: Query[UserFilters]) -> dict:
    qs = selectors.user_list(
        actor=current_user(request), org_unit_id=filters.org_unit, search=filters.q,
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


@users_router.post("/{user_id}/reset-two-factor", response=responses({200: UserOut}, 403, 404))
@idempotent()
def user_reset_two_factor(request: HttpRequest, user_id: DbId, response: HttpResponse) -> object:
    """Turn off the user's second factor (secret and recovery codes deleted), for a user who
    lost both their phone and their recovery codes. Audited as ``user.totp_reset``."""
    user = services.user_reset_two_factor(actor=current_user(request), user_id=user_id)
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

