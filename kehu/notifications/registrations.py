"""What the notifications app contributes at start-up: its audit action, the notice
(with email) that tells a user their account was locked, and the prompt sending of
sign-up emails. (The header badge is in the
shared layout, fed by kehu.notifications.context_processors.)"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kehu.core import auth, metrics
from kehu.core.audit import register_action
from kehu.core.models import SignupRequest, User
from kehu.core.services import signup
from kehu.notifications.registry import register_kind

ACCOUNT_LOCKED = "account_locked"


def register() -> None:
    register_action("reminder_settings.update", _("Reminder settings changed"))
    register_kind(ACCOUNT_LOCKED, _("Account locked"))
    auth.account_locked.connect(tell_locked_user, dispatch_uid="kehu.notifications.locked")
    signup.signup_requested.connect(send_signup_email, dispatch_uid="kehu.notifications.signup")
    metrics.register_gauge("kehu_email_outbox_backlog",
                           "Notification emails waiting to be sent or being sent.", outbox_backlog)
    metrics.register_gauge("kehu_email_outbox_failed",
                           "Notification emails that failed (retried up to 3 times).",
                           outbox_failed)


def send_signup_email(sender: Any, request: SignupRequest, **kwargs: Any) -> None:
    """A sign-up's email is in the outbox already; send it now rather than at the next
    minute (the signer is waiting for it)."""
    from kehu.notifications.tasks import send_emails_now

    send_emails_now()


def outbox_backlog() -> float:
    from kehu.notifications.selectors import outbox_counts

    return float(outbox_counts()["backlog"])


def outbox_failed() -> float:
    from kehu.notifications.selectors import outbox_counts

    return float(outbox_counts()["failed"])


def tell_locked_user(sender: Any, user: User, **kwargs: Any) -> None:
    """Sign-in no longer says an account is locked (that would tell who has one): its
    owner learns it here, by a notice and, if they take email, an email."""
    from kehu.notifications.services import notify

    with translation.override(user.language):
        notify(recipient=user, kind=ACCOUNT_LOCKED, title=str(_("Your account is locked")),
               body=auth.locked_message(user),
               key=f"{ACCOUNT_LOCKED}:{user.locked_until:%Y%m%d%H%M%S}", email=True)
