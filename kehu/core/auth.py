"""Authentication: email + password with lockout, TOTP, and bearer API tokens.

Sign-in answers alike for an unknown email, a wrong password and a locked account, so
that nobody learns which emails have accounts. The lock is told to the account's owner
(``account_locked``: the notifications app sends a notice and an email) and shown to
administrators (user detail, ``is_locked`` in the API)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import audit, busy, metrics, throttle
from kehu.core.exceptions import AuthenticationFailed
from kehu.core.models import ApiToken, User

TOKEN_PREFIX = "kehu_"  # noqa: S105 -- a marker, not a secret
# A token's last_used_at is written at most this often: reads do not write on every request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)

# Sent (after commit) with ``user=`` when an account locks after too many failures.
account_locked = Signal()


def hash_token(plaintext: str) -> str:
    """How API tokens are stored (kehu.core.services.profile issues them)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class EmailBackend(ModelBackend):
    """Session users are re-read on every request; inactive ones are refused at once."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> User | None:
        # Kehu logs in through login_with_password(), never through this method.
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = (
            User.objects.select_related("org_unit", "tenant").filter(pk=user_id).first()
        )
        if user is None or not user.is_active or not user.tenant.is_active:
            return None
        return user


class SecondFactorRequired(AuthenticationFailed):
    code = "totp_required"
    default_message = gettext_lazy(
        "Enter the code from your authenticator app or one of your recovery codes.")

    def __init__(self, message: Any = None, *, user_id: int | None = None,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, fields=fields)
        self.user_id = user_id


def verify_totp(user: User, code: str | None) -> bool:
    """Accept a code of the current 30-second step or a neighbour, each step once only:
    a code seen on the wire cannot be replayed. Records the step on ``user`` (unsaved)."""
    import pyotp

    code = (code or "").strip().replace(" ", "")
    if not user.totp_secret or not code:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = timezone.now()
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if step > user.totp_last_step and hmac.compare_digest(
            totp.generate_otp(step), code
        ):
            user.totp_last_step = step
            return True
    return False


RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper is read back without guessing.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash_recovery(code: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256((salt + _normalise_recovery(code)).encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """Ten codes to show once (``abcde-fghjk``, about 49 bits each) and their salted hashes
    to store: random codes of that strength need no slow hash."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
             for _ in range(RECOVERY_CODE_COUNT)]
    shown = [f"{code[:5]}-{code[5:]}" for code in codes]
    return shown, [_hash_recovery(code, secrets.token_hex(8)) for code in codes]


def use_recovery_code(user: User, code: str | None) -> bool:
    """Whether ``code`` is one of the user's unused recovery codes; if so it is removed from
    ``user`` (unsaved: the caller saves under its row lock, so a code works once)."""
    code = _normalise_recovery(code or "")
    if len(code) != 10:
        return False
    for stored in list(user.totp_recovery_codes or []):
        salt = stored.split("$", 1)[0]
        if hmac.compare_digest(_hash_recovery(code, salt), stored):
            user.totp_recovery_codes = [s for s in user.totp_recovery_codes if s != stored]
            return True
    return False


def locked_message(user: User) -> str:
    """For the account's owner (notice, email), never for whoever is signing in."""
    assert user.locked_until is not None
    minutes = max(1, int((user.locked_until - timezone.now()).total_seconds() // 60) + 1)
    return _(
        "This account is locked after too many failed sign-in attempts. Try again in "
        "%(minutes)d minutes or ask your administrator to unlock it."
    ) % {"minutes": minutes}


def _record_failure(user: User, reason: str) -> None:
    # Whoever typed the password is unknown: the account is the object, not the actor.
    metrics.count_login("locked" if reason == "locked_now" else "failure")
    audit.record(actor=None, action="auth.login_failed", obj=user, changes={"reason": reason})


def _count_failure(user: User, reason: str) -> None:
    """Count a wrong password or code; lock at the threshold (the owner is told, by
    ``account_locked``; the caller gets the usual answer)."""
    user.failed_login_count += 1
    locked_now = user.failed_login_count >= settings.KEHU_LOCKOUT_THRESHOLD
    if locked_now:
        user.locked_until = timezone.now() + timedelta(minutes=settings.KEHU_LOCKOUT_MINUTES)
        user.failed_login_count = 0
    user.save(update_fields=["failed_login_count", "locked_until"])
    _record_failure(user, "locked_now" if locked_now else reason)
    if locked_now:
        audit.record(actor=None, action="auth.locked", obj=user)
        transaction.on_commit(lambda: account_locked.send(sender=User, user=user))


def _succeed(user: User) -> User:
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login = timezone.now()
    user.save(update_fields=["failed_login_count", "locked_until", "last_login",
                             "totp_last_step", "totp_recovery_codes"])
    metrics.count_login("success")
    audit.record(actor=user, action="auth.login", obj=user)
    return user


def _check_code(user: User, totp_code: str | None) -> User | AuthenticationFailed:
    """Second factor: success, or the failure to raise (wrong codes count to lockout).
    A recovery code stands in for the app's code, once."""
    if not user.totp_enabled or verify_totp(user, totp_code):
        return _succeed(user)
    if use_recovery_code(user, totp_code):
        audit.record(actor=user, action="auth.recovery_code_used", obj=user,
                     changes={"recovery_codes_left": len(user.totp_recovery_codes)})
        return _succeed(user)
    if not totp_code:
        return SecondFactorRequired(user_id=user.pk)
    _count_failure(user, "wrong_totp")
    return SecondFactorRequired(_("The code is wrong or has expired."), user_id=user.pk)


def login_with_password(email: str, password: str, totp_code: str | None = None) -> User:
    """Check credentials, count failures, lock after the threshold, audit every attempt.

    Raises AuthenticationFailed (wrong credentials, locked, inactive) or
    SecondFactorRequired (password right, code missing or wrong; carries ``user_id`` so a
    page can finish with ``login_second_factor`` without holding on to the password).
    """
    throttle.sign_in()
    email = (email or "").strip().lower()
    outcome: User | AuthenticationFailed
    with transaction.atomic():
        user = (
            User.objects.select_for_update().select_related("tenant")
            .filter(email__iexact=email).first()
        )
        if user is None:
            # Hash anyway so response time does not reveal which emails exist.
            User().set_password(password or "")
            metrics.count_login("failure")
            audit.record(actor=None, action="auth.login_failed", object_type="user",
                         object_repr=email[:300], changes={"reason": "unknown_email"})
            outcome = AuthenticationFailed()
        elif user.is_locked():
            # The same answer (and about the same time) as for an unknown email.
            User().set_password(password or "")
            _record_failure(user, "locked")
            outcome = AuthenticationFailed()
        elif not user.check_password(password or ""):
            _count_failure(user, "wrong_password")
            outcome = AuthenticationFailed()
        elif not user.is_active or not user.tenant.is_active:
            _record_failure(user, "inactive")
            outcome = AuthenticationFailed(_("This account is deactivated."))
        else:
            outcome = _check_code(user, totp_code)
    if isinstance(outcome, AuthenticationFailed):
        raise outcome
    return outcome


def login_second_factor(user_id: int, totp_code: str | None) -> User:
    """Finish a sign-in whose password was already verified (``SecondFactorRequired``)."""
    throttle.sign_in()
    outcome: User | AuthenticationFailed
    with transaction.atomic():
        user = (
            User.objects.select_for_update().select_related("tenant").filter(pk=user_id).first()
        )
        if user is None or not user.is_active or not user.tenant.is_active:
            outcome = AuthenticationFailed(_("Please sign in again."))
        elif user.is_locked():
            _record_failure(user, "locked")
            outcome = AuthenticationFailed()
        else:
            outcome = _check_code(user, totp_code)
    if isinstance(outcome, AuthenticationFailed):
        raise outcome
    return outcome


def record_logout(user: User) -> None:
    audit.record(actor=user, action="auth.logout", obj=user)


def user_for_token(plaintext: str) -> User | None:
    """The active user behind a bearer token, or None. Touches ``last_used_at`` at most
    every TOKEN_TOUCH_INTERVAL, and not at all while the database is busy (SQLite)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    prefix = plaintext[len(TOKEN_PREFIX):].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("user", "user__org_unit", "user__tenant")
        .filter(prefix=prefix).first()
    )
    if token is None or not token.is_usable:
        return None
    if not hmac.compare_digest(token.key_hash, hash_token(plaintext)):
        return None
    user = token.user
    if not user.is_active or not user.tenant.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        busy.write_if_free(
            lambda: ApiToken.objects.filter(pk=token.pk).update(last_used_at=now),
            "a token's last_used_at")
    user._kehu_token = token  # type: ignore[attr-defined]
    return user
