"""Writes on users: create, change, deactivate, unlock, reset a password."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import Conflict, ValidationFailed
from kehu.core.models import ApiToken, OrgUnit, Role, User
from kehu.core.services.base import refuse, save_changes
from kehu.core.services.org import lock_tree
from kehu.core.validators import check_password, clean_email, clean_name, clean_phone
from kehu.core.versions import bump_version, check_version


def _roles_for(actor: User, role_ids: list[int]) -> list[Role]:
    """Roles the actor may hand out: visible, and granting nothing the actor lacks."""
    roles = list(Role.objects.filter(tenant_id=actor.tenant_id, pk__in=set(role_ids)))
    if len(roles) != len(set(role_ids)):
        raise ValidationFailed(fields={"role_ids": [_("Unknown role.")]})
    for role in roles:
        if not access.can_grant(actor, role.effective_permissions(), role.data_scope):
            raise refuse(
                actor, "users.change",
                _("You cannot grant the role “%(role)s”: it has rights you do not have.")
                % {"role": role.display_name},
            )
    return roles


def _ensure_may_manage(actor: User, subject: User) -> None:
    if access.is_above(actor, subject):
        raise refuse(
            actor, "users.change",
            _("%(name)s holds rights you do not have; ask an administrator.")
            % {"name": subject.full_name},
        )


def _keep_an_administrator(tenant_id: int) -> None:
    """A company never loses its last active administrator."""
    if not User.objects.filter(tenant_id=tenant_id, is_active=True,
                               roles__builtin_key="tenant_admin").exists():
        raise ValidationFailed(
            _("The company must keep at least one active administrator.")
        )


def _unit_for_user(actor: User, unit_id: int, permission: str) -> OrgUnit:
    lock_tree(actor.tenant_id)  # the unit cannot be deactivated while a user joins it
    unit = access.get_for(OrgUnit, actor, unit_id, "view")
    if not access.unit_in_scope(actor, permission, unit):
        raise ValidationFailed(fields={"org_unit_id": [_("This unit is outside your area.")]})
    if not unit.is_active:
        raise ValidationFailed(fields={"org_unit_id": [_("The unit is deactivated.")]})
    return unit


def _clean_language(value: str) -> str:
    if value not in User.Language.values:
        raise ValidationFailed(fields={"language": [_("Unknown language.")]})
    return value


def apply_person_fields(user: User, changes: dict[str, Any]) -> None:
    """Name, phone and language: what both an administrator and the user may change."""
    if "full_name" in changes:
        user.full_name = clean_name(changes["full_name"], "full_name")
    if "phone" in changes:
        user.phone = clean_phone(changes["phone"])
    if "language" in changes:
        user.language = _clean_language(changes["language"])


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def user_create(
    *, actor: User, email: str, full_name: str, org_unit_id: int, role_ids: list[int],
    password: str | None = None, phone: str = "", language: str = User.Language.ZH_HANS,
) -> tuple[User, str | None]:
    """Create a user; when no password is given one is generated and returned once."""
    access.require(actor, "users.create")
    unit = _unit_for_user(actor, org_unit_id, "users.create")
    email = clean_email(email)
    full_name = clean_name(full_name, "full_name")
    phone = clean_phone(phone)
    language = _clean_language(language)
    holder = User.objects.filter(email__iexact=email).values_list("tenant_id", flat=True).first()
    if holder is not None:
        # Emails are unique across companies (sign-in is by email alone), but an admin
        # learns only about their own company: another company's user is not revealed.
        raise Conflict(fields={"email": [
            _("A user with this email already exists in your company.")
            if holder == actor.tenant_id else _("This email cannot be used.")]})
    roles = _roles_for(actor, role_ids)
    generated = None
    if password is None:
        password = generated = generate_password()
    user = User(tenant_id=actor.tenant_id, org_unit=unit, email=email, full_name=full_name,
                phone=phone, language=language)
    check_password(password, user)
    user.set_password(password)
    user.save()
    user.roles.set(roles, through_defaults={"tenant_id": user.tenant_id})
    access.ensure_still_visible(user, actor)
    after = audit.snapshot(user) | {"roles": sorted(r.pk for r in roles)}
    audit.record(actor=actor, action="user.create", obj=user,
                 changes=audit.diff(User, {}, after))
    return user, generated


@transaction.atomic
def user_update(
    *, actor: User, user_id: int, expected_version: int | None = None, **changes: Any
) -> User:
    """Change a user's name, phone, language, unit, roles or active flag."""
    access.require(actor, "users.change")
    user = access.get_for(User, actor, user_id, "change", for_update=True)
    check_version(user, expected_version)
    _ensure_may_manage(actor, user)
    before = audit.snapshot(user) | {"roles": sorted(user.roles.values_list("pk", flat=True))}
    apply_person_fields(user, changes)
    if "org_unit_id" in changes and changes["org_unit_id"] != user.org_unit_id:
        user.org_unit = _unit_for_user(actor, changes["org_unit_id"], "users.change")
    if "is_active" in changes and bool(changes["is_active"]) != user.is_active:
        if user.pk == actor.pk and not changes["is_active"]:
            raise ValidationFailed(fields={"is_active": [_("You cannot deactivate yourself.")]})
        user.is_active = bool(changes["is_active"])
        if not user.is_active:
            _end_access(user)
    if "role_ids" in changes:
        if user.pk == actor.pk:
            raise ValidationFailed(fields={"role_ids": [_("You cannot change your own roles.")]})
        roles = _roles_for(actor, list(changes["role_ids"]))
        user.roles.set(roles, through_defaults={"tenant_id": user.tenant_id})
    diff = save_changes(
        user, before, {"roles": sorted(user.roles.values_list("pk", flat=True))}
    )
    if not diff:
        return user
    if "role_ids" in changes or "is_active" in changes:
        _keep_an_administrator(user.tenant_id)
    if user.is_active:
        access.ensure_still_visible(user, actor)
    audit.record(actor=actor, action="user.update", obj=user, changes=diff)
    return user


def _end_access(user: User) -> None:
    """Deactivation revokes every API token now; sessions end on the user's next request,
    because the auth backend refuses inactive users (kehu.core.auth.EmailBackend)."""
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_deactivate(*, actor: User, user_id: int, expected_version: int | None = None) -> User:
    return user_update(actor=actor, user_id=user_id, expected_version=expected_version,
                       is_active=False)


@transaction.atomic
def user_unlock(*, actor: User, user_id: int) -> User:
    access.require(actor, "users.admin")
    user = access.get_for(User, actor, user_id, "admin", for_update=True)
    _ensure_may_manage(actor, user)
    user.failed_login_count = 0
    user.locked_until = None
    bump_version(user)
    audit.record(actor=actor, action="user.unlock", obj=user)
    return user


@transaction.atomic
def user_reset_two_factor(*, actor: User, user_id: int) -> User:
    """An administrator turns off a user's second factor (a lost phone and lost recovery
    codes): the user signs in with the password alone and may enrol again."""
    access.require(actor, "users.admin")
    user = access.get_for(User, actor, user_id, "admin", for_update=True)
    _ensure_may_manage(actor, user)
    was_on = user.totp_enabled
    user.totp_enabled = False
    user.totp_secret = ""
    user.totp_recovery_codes = []
    bump_version(user)
    audit.record(actor=actor, action="user.totp_reset", obj=user,
                 changes={"totp_enabled": [was_on, False]})
    return user


@transaction.atomic
def user_reset_password(*, actor: User, user_id: int) -> tuple[User, str]:
    """An administrator sets a new generated password, shown once. Sessions end (Django
    checks the password hash per request) and API tokens are revoked: a reset follows a
    suspected compromise."""
    access.require(actor, "users.admin")
    user = access.get_for(User, actor, user_id, "admin", for_update=True)
    _ensure_may_manage(actor, user)
    password = generate_password()
    user.set_password(password)
    _end_access(user)
    bump_version(user)
    audit.record(actor=actor, action="user.reset_password", obj=user)
    return user, password

