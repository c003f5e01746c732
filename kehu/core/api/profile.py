"""The signed-in user's own endpoints: ``/auth/me``, ``/auth/tokens``."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from kehu.core import selectors
from kehu.core.http import (
    DbId,
    Page,
    current_user,
    if_match,
    needs_if_match,
    paginate,
    responses,
    set_etag,
)
from kehu.core.schemas.profile import MeOut, ProfilePatch, TokenFilters, TokenOut
from kehu.core.services import profile as services

profile_router = Router(tags=["auth"])  # mounted at /auth too


@profile_router.get("/tokens", response=responses({200: Page[TokenOut]}))
def token_list(request: HttpRequest, filters: Query[TokenFilters]) -> dict:
    """Your own API tokens (never their secret)."""
    return paginate(selectors.api_token_list(actor=current_user(request)), filters)


@profile_router.delete("/tokens/{token_id}", response=responses({200: TokenOut}, 404, 412, 428))
@needs_if_match
def token_revoke(request: HttpRequest, token_id: DbId, response: HttpResponse) -> object:
    """Revoke one of your tokens; it stops working at once."""
    actor = current_user(request)
    token = services.api_token_revoke(
        actor=actor, token_id=token_id, expected_version=if_match(request)
    )
    set_etag(response, token)
    return token


@profile_router.get("/me", response=responses({200: MeOut}))
def me(request: HttpRequest, response: HttpResponse) -> object:
    """The signed-in user, their company and the permissions they hold."""
    user = current_user(request)
    set_etag(response, user)
    return user


@profile_router.patch("/me", response=responses({200: MeOut}, 412, 428))
@needs_if_match
def me_update(request: HttpRequest, payload: ProfilePatch, response: HttpResponse) -> object:
    """Change your name, phone, language or password (``current_password`` +
    ``new_password``). Send ``If-Match`` with the ETag of ``GET /auth/me``. A new
    password revokes every API token of yours, the one making this call included;
    ``tokens_revoked`` says how many."""
    actor = current_user(request)
    changes = payload.changes()
    user, revoked = services.profile_change(actor=actor, expected_version=if_match(request),
                                            **changes)
    if changes.get("new_password") and request.session.session_key:
        # A session caller stays signed in; other sessions end with the old hash.
        update_session_auth_hash(request, user)
    user.tenant = actor.tenant
    set_etag(response, user)
    out = MeOut.from_orm(user)
    if changes.get("new_password"):
        out.tokens_revoked = revoked
    return out

