"""Sign-up and token exchange: ``/auth/signup``, ``/auth/signup/confirm``, ``/auth/token``."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Router, Status

from kehu.core import auth
from kehu.core.http import idempotent, located, responses
from kehu.core.schemas.auth import (
    SignupAcceptedOut,
    SignupConfirmIn,
    SignupIn,
    SignupOut,
    TokenCreatedOut,
    TokenIn,
)
from kehu.core.services import signup as signup_services
from kehu.core.services.profile import api_token_create

auth_router = Router(tags=["auth"])

SIGNUP_SENT = gettext_noop(
    "Check your mailbox: we have sent an email to this address. Follow its link to create "
    "your company.")


@auth_router.post("/signup", auth=None, response=responses({202: SignupAcceptedOut}, 409, 429))
@idempotent()
def signup(request: HttpRequest, payload: SignupIn) -> Status:
    """Ask to sign up a company: the answer is the same whether or not the email already
    has an account. The address is emailed either a link that completes the sign-up
    (`POST /auth/signup/confirm` with its token) or a note that it has an account."""
    signup_services.signup_request(**payload.model_dump())
    return Status(202, {"detail": _(SIGNUP_SENT), "email": payload.email.strip().lower()})


@auth_router.post("/signup/confirm", auth=None, response=responses({201: SignupOut}, 409))
@idempotent()
@located("/users/{user[id]}")
def signup_confirm(request: HttpRequest, payload: SignupConfirmIn) -> Status:
    """Complete a sign-up with the token of the emailed link: creates the company (tenant),
    its root unit and its first administrator. A token works once, for
    `KEHU_SIGN_UP_LINK_HOURS` hours."""
    tenant, user = signup_services.signup_confirm(payload.token)
    request.auth = user  # type: ignore[attr-defined]  # the caller is the new administrator
    return Status(201, {"tenant": tenant, "user": user})


@auth_router.post("/token", auth=None, response=responses({201: TokenCreatedOut}))
@idempotent(secret_fields=("token",))
@located("/auth/tokens/{id}")
def token_create(request: HttpRequest, payload: TokenIn) -> Status:
    """Exchange email and password (and the TOTP code when enabled) for a bearer token.

    The token is shown once; send it as ``Authorization: Bearer …``.
    """
    user = auth.login_with_password(payload.email, payload.password, payload.totp_code)
    token, plaintext = api_token_create(
        actor=user, name=payload.name or _("API token"), expires_at=payload.expires_at
    )
    return Status(201, {"token": plaintext, "id": token.pk, "name": token.name,
                        "prefix": token.prefix, "expires_at": token.expires_at,
                        "version": token.version})

