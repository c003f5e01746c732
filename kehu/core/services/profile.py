"""A user's own settings: profile, password, two-factor, API tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.auth import TOKEN_PREFIX, hash_token, new_recovery_codes, verify_totp
from kehu.core.exceptions import Conflict, NotFound, ValidationFailed
from kehu.core.models import ApiToken, User
from kehu.core.services.base import save_changes
from kehu.core.services.users import apply_person_fields
from kehu.core.validators import check_password, clean_name
from kehu.core.versions import bump_version, check_version


def profile_update(*, actor: User, expected_version: int | None = None, **changes: Any) -> User:
    """A user's own settings: name, phone, language, password."""
    return profile_change(actor=actor, expected_version=expected_version, **changes)[0]


@transaction.atomic
def profile_change(*, actor: User, expected_version: int | None = None,
                   **changes: Any) -> tuple[User, int]:
    """``profile_update``, also telling how many API tokens were revoked: a new password
    revokes every token of the user (as an administrator's reset does), since a change of
    password often follows a suspected compromise. Sessions other than the caller's end
    with the old password hash."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    revoked = 0
    check_version(user, expected_version)
    before = audit.snapshot(user)
    apply_person_fields(user, changes)
    if changes.get("new_password"):
        if not user.check_password(changes.get("current_password") or ""):
            raise ValidationFailed(
                fields={"current_password": [_("The current password is wrong.")]}
            )
        user.set_password(check_password(changes["new_password"], user, "new_password"))
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        before["password"], after_password = "***", {"password": "***changed***"}
    else:
        after_password = {}
    changed = save_changes(user, before, after_password)
    if changed:
        if revoked:
            changed["api_tokens_revoked"] = [None, revoked]
        audit.record(actor=user, action="user.profile_update", obj=user, changes=changed)
    return user, revoked


@transaction.atomic
def totp_setup(*, actor: User) -> str:
    """Start enrolment: a new secret, effective once confirmed with a code."""
    import pyotp

    user = User.objects.select_for_update().get(pk=actor.pk)
    if user.totp_enabled:
        raise Conflict(_("Two-factor authentication is already on."))
    user.totp_secret = pyotp.random_base32()
    user.save(update_fields=["totp_secret"])
    audit.record(actor=user, action="user.totp_setup", obj=user)
    return user.totp_secret


@transaction.atomic
def totp_enable(*, actor: User, code: str) -> tuple[User, list[str]]:
    """Confirm enrolment with a code from the app. Returns the ten recovery codes, to be
    shown this once: only their hashes are kept."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    if user.totp_enabled:
        raise Conflict(_("Two-factor authentication is already on."))
    if not user.totp_secret or not verify_totp(user, code):
        raise ValidationFailed(fields={"code": [_("The code is wrong or has expired.")]})
    user.totp_enabled = True
    shown, user.totp_recovery_codes = new_recovery_codes()
    bump_version(user)
    audit.record(actor=user, action="user.totp_enable", obj=user)
    return user, shown


def _locked_with_password(actor: User, password: str) -> User:
    user = User.objects.select_for_update().get(pk=actor.pk)
    if not user.check_password(password or ""):
        raise ValidationFailed(fields={"password": [_("The password is wrong.")]})
    return user


@transaction.atomic
def totp_recovery_codes_renew(*, actor: User, password: str) -> list[str]:
    """Ten new recovery codes (shown once); the old ones stop working."""
    user = _locked_with_password(actor, password)
    if not user.totp_enabled:
        raise Conflict(_("Two-factor authentication is off."))
    shown, user.totp_recovery_codes = new_recovery_codes()
    bump_version(user)
    audit.record(actor=user, action="user.totp_recovery_codes", obj=user)
    return shown


@transaction.atomic
def totp_disable(*, actor: User, password: str) -> User:
    user = _locked_with_password(actor, password)
    user.totp_enabled = False
    user.totp_secret = ""
    user.totp_recovery_codes = []
    bump_version(user)
    audit.record(actor=user, action="user.totp_disable", obj=user)
    return user


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new personal token; the plaintext is returned once and never stored."""
    name = clean_name(name, "name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(fields={"expires_at": [_("The expiry must be in the future.")]})
    prefix = secrets.token_hex(8)  # 64 bits: collisions on the unique column stay theoretical
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        tenant_id=actor.tenant_id, user=actor, name=name, prefix=prefix,
        key_hash=hash_token(plaintext), expires_at=expires_at,
    )
    audit.record(actor=actor, action="api_token.create", obj=token)
    return token, plaintext


@transaction.atomic
def api_token_revoke(
    *, actor: User, token_id: int, expected_version: int | None = None
) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(user=actor, pk=token_id).first()
    if token is None:
        raise NotFound()
    check_version(token, expected_version)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        bump_version(token)
        audit.record(actor=actor, action="api_token.revoke", obj=token)
    return token

