"""Sign-up and token exchange: ``/auth/signup``, ``/auth/token``."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from kehu.core import auth
from kehu.core.http import idempotent, located, responses
from kehu.core.schemas.auth import SignupIn, SignupOut, TokenCreatedOut, TokenIn
from kehu.core.services.profile import api_token_create
from kehu.core.services.tenants import tenant_signup

auth_router = Router(tags=["auth"])


@auth_router.post("/signup", auth=None, response=responses({201: SignupOut}, 409))
@idempotent()
@located("/users/{user[id]}")
def signup(request: HttpRequest, payload: SignupIn) -> Status:
    """Create a company (tenant), its root unit and its first administrator."""
    tenant, user = tenant_signup(**payload.model_dump())
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

