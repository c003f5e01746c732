"""Anonymous sign-up, confirmed by email (docs/access-control.md, "Sign-up").

``signup_request`` answers alike whether or not the email already has an account, so
sign-up tells nobody which addresses are registered: it checks the form, hashes the
password and stores a ``SignupRequest`` either way. The notifications worker then emails
the address (kehu.notifications, the outbox): a new address gets a link that completes
the sign-up (``signup_confirm``), a registered one is told that it has an account.

The link's token is an HMAC, under the secret key, of the request's id, address and
creation time, and of its ``confirmed_at``: nothing secret is stored, the link dies once
used (``confirmed_at`` is set) and after ``KEHU_SIGN_UP_LINK_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.translation import gettext as _

from kehu.core import throttle
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import SignupRequest, Tenant, User
from kehu.core.services.tenants import check_company_free, tenant_create
from kehu.core.validators import check_password, clean_email, clean_name, clean_phone

logger = logging.getLogger("kehu.signup")

# Sent (after commit) with ``request=`` for each new request: the notifications app
# queues its email at once rather than at the outbox's next minute.
signup_requested = Signal()

_SALT = "kehu.core.signup"
_TOKEN_CHARS = 40


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=int(settings.KEHU_SIGN_UP_LINK_HOURS))


@transaction.atomic
def signup_request(*, company_name: str, admin_name: str, email: str, password: str,
                   phone: str = "", language: str = User.Language.ZH_HANS) -> SignupRequest:
    """Check a sign-up and queue its email; the same work and answer for an address
    with an account and one without (only the email differs)."""
    throttle.sign_up((email or "").strip())
    company = clean_name(company_name, "company_name", max_length=200)
    name = clean_name(admin_name, "admin_name")
    email = clean_email(email)
    phone = clean_phone(phone)
    check_company_free(company)
    check_password(password, User(email=email, full_name=name))
    hashed = make_password(password)  # for both: no answer comes back faster
    # A registered address is written to in its owner's language, not the signer's.
    owner_language = User.objects.filter(email__iexact=email).values_list(
        "language", flat=True).first()
    exists = owner_language is not None
    if language not in User.Language.values:
        language = User.Language.ZH_HANS
    request = SignupRequest.objects.create(
        email=email, company_name=company, admin_name=name, phone=phone,
        language=owner_language or language, password="" if exists else hashed,
        account_exists=exists)
    transaction.on_commit(lambda: signup_requested.send(sender=SignupRequest,
                                                        request=request))
    return request


def signup_token(request: SignupRequest) -> str:
    confirmed = request.confirmed_at.isoformat() if request.confirmed_at else ""
    value = f"{request.pk}:{request.email}:{request.created_at.isoformat()}:{confirmed}"
    digest = salted_hmac(_SALT, value, algorithm="sha256").hexdigest()[:_TOKEN_CHARS]
    return f"{request.pk}-{digest}"


def signup_link(request: SignupRequest) -> str:
    path = reverse("signup_confirm", kwargs={"token": signup_token(request)})
    return str(settings.KEHU_BASE_URL) + path


def _invalid() -> ValidationFailed:
    message = _("This sign-up link is invalid, has expired or has already been used. "
                "Sign up again, or sign in if you have already confirmed.")
    return ValidationFailed(message, fields={"token": [message]})


def signup_pending(token: str, *, for_update: bool = False) -> SignupRequest:
    """The unconfirmed, unexpired request ``token`` names, or the one refusal for all
    other cases (unknown, forged, used, expired)."""
    number, _sep, _digest = (token or "").partition("-")
    if not number.isdigit() or len(number) > 18:
        raise _invalid()
    rows = SignupRequest.objects.filter(pk=int(number), account_exists=False,
                                        confirmed_at__isnull=True)
    request = (rows.select_for_update() if for_update else rows).first()
    if request is None or not constant_time_compare(signup_token(request), token):
        raise _invalid()
    if request.created_at < timezone.now() - link_lifetime():
        raise _invalid()
    return request


@transaction.atomic
def signup_confirm(token: str) -> tuple[Tenant, User]:
    """Complete a sign-up from its link: create the company and its administrator,
    once. A company name taken meanwhile is refused (409); the link stays usable."""
    request = signup_pending(token, for_update=True)
    tenant, user = tenant_create(
        company_name=request.company_name, admin_name=request.admin_name,
        email=request.email, password_hash=request.password, phone=request.phone,
        language=request.language)
    used = SignupRequest.objects.filter(pk=request.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), tenant=tenant, password="")
    if used != 1:  # confirmed by a concurrent request after all
        raise _invalid()
    return tenant, user


def purge_signup_requests(now: dt.datetime | None = None) -> int:
    """Forget requests a week after their link expired (they hold a password hash)."""
    cutoff = (now or timezone.now()) - link_lifetime() - dt.timedelta(days=7)
    deleted, _rows = SignupRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def signup_email(request: SignupRequest) -> tuple[str, str, str]:
    """Subject, text and HTML of the request's email, in the signer's language."""
    login = str(settings.KEHU_BASE_URL) + reverse("login")
    with translation.override(request.language):
        if request.account_exists:
            subject = _("Your Kehu account")
            lines = [
                _("Someone (perhaps you) tried to sign up a company on Kehu CRM with this "
                  "email address. An account with this address already exists, so no new "
                  "company was created."),
                _("Sign in here: %(url)s") % {"url": login},
                _("Forgot your password? Ask your company's administrator to reset it. "
                  "If this was not you, you can ignore this email."),
            ]
            link, label = login, _("Sign in")
        else:
            link = signup_link(request)
            hours = int(settings.KEHU_SIGN_UP_LINK_HOURS)
            subject = _("Confirm your sign-up of %(company)s") % {
                "company": request.company_name}
            lines = [
                _("Open this link to confirm your email address and create %(company)s "
                  "on Kehu CRM:") % {"company": request.company_name},
                link,
                _("The link works once and expires in %(hours)d hours. If you did not "
                  "sign up, ignore this email: nothing is created.") % {"hours": hours},
            ]
            label = _("Confirm and create the company")
        subject = f"[{_('Kehu CRM')}] {subject}".replace("\n", " ")
        text = "\n\n".join(lines)
        html = format_html('<p>{}</p><p><a href="{}">{}</a></p><p>{}</p>',
                           lines[0], link, label, lines[2])
    return subject, text, html


def log_link_without_mail_server(request: SignupRequest) -> None:
    """Without a mail server (the development default) the email goes to the console;
    say the link plainly in the log too, so an operator can finish a sign-up."""
    if settings.EMAIL_HOST or request.account_exists:
        return
    logger.warning("No mail server is configured (KEHU_EMAIL_HOST): the sign-up link for "
                   "%s is %s", request.email, signup_link(request))
