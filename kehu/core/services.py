"""Writes for tenants, org units, users, roles and API tokens.

Each service is atomic, checks access through kehu.core.access, records its audit event
in the same transaction and re-checks that the result stays visible to its writer.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kehu.core import access, audit, permissions, selectors, throttle
from kehu.core.auth import TOKEN_PREFIX, hash_token, verify_totp
from kehu.core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from kehu.core.models import ApiToken, AuditEvent, OrgUnit, RecordShare, Role, Tenant, User
from kehu.core.permissions import Scope
from kehu.core.validators import check_password, clean_email, clean_name, clean_phone
from kehu.core.versions import bump_version, check_version


def _save_changes(obj: Any, before: dict[str, Any], extra_after: dict[str, Any] | None = None,
                  ) -> dict[str, list[Any]]:
    """Save ``obj`` if anything changed since ``before``; the audit diff, empty when
    nothing did (then no new version and no audit row: a no-op save is not an event)."""
    changes = audit.diff(type(obj), before, audit.snapshot(obj) | (extra_after or {}))
    if changes:
        bump_version(obj)
    return changes


# ---------------------------------------------------------------------------- tenants


def builtin_roles_create(tenant: Tenant) -> dict[str, Role]:
    """The built-in roles of a new tenant. Their stored names are in the default language
    whatever the signer's language; pages show ``Role.display_name`` in the reader's."""
    roles = {}
    with translation.override(settings.LANGUAGE_CODE):
        for key, spec in permissions.BUILTIN_ROLES.items():
            roles[key] = Role.objects.create(
                tenant=tenant, name=str(spec.label), description=str(spec.description),
                builtin_key=key, data_scope=spec.scope,
            )
    return roles


@transaction.atomic
def builtin_roles_sync() -> int:
    """Give every tenant the built-in roles registered since it signed up, and keep their
    scopes as registered. Runs after every ``migrate``; returns the roles created."""
    created = 0
    with translation.override(settings.LANGUAGE_CODE):
        for tenant_id in Tenant.objects.values_list("pk", flat=True):
            have = dict(Role.objects.filter(tenant_id=tenant_id)
                        .exclude(builtin_key="").values_list("builtin_key", "data_scope"))
            for key, spec in permissions.BUILTIN_ROLES.items():
                if key not in have:
                    name = str(spec.label)
                    if Role.objects.filter(tenant_id=tenant_id, name=name).exists():
                        name = f"{name} ({key})"  # a custom role already took the name
                    Role.objects.create(tenant_id=tenant_id, name=name, builtin_key=key,
                                        description=str(spec.description),
                                        data_scope=spec.scope)
                    created += 1
                elif have[key] != spec.scope:
                    Role.objects.filter(tenant_id=tenant_id, builtin_key=key).update(
                        data_scope=spec.scope, version=F("version") + 1)
    return created


@transaction.atomic
def tenant_signup(
    *, company_name: str, admin_name: str, email: str, password: str, phone: str = "",
    language: str = User.Language.ZH_HANS,
) -> tuple[Tenant, User]:
    """Create a tenant, its root unit, its built-in roles and its first administrator."""
    throttle.sign_up()
    company = clean_name(company_name, "company_name", max_length=200)
    name = clean_name(admin_name, "admin_name")
    email = clean_email(email)
    phone = clean_phone(phone)
    if Tenant.objects.filter(name_key=Tenant.key_for(company)).exists():
        raise Conflict(
            fields={"company_name": [_("A company with this name is already registered.")]}
        )
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(fields={"email": [_("This email address is already registered.")]})
    check_password(password, User(email=email, full_name=name))
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=company, name_key=Tenant.key_for(company))
    except IntegrityError:
        raise Conflict(
            fields={"company_name": [_("A company with this name is already registered.")]}
        ) from None
    root = OrgUnit.objects.create(tenant=tenant, name=company, kind=OrgUnit.Kind.GROUP)
    root.path = f"/{root.pk}/"
    root.save(update_fields=["path"])
    roles = builtin_roles_create(tenant)
    user = User(tenant=tenant, org_unit=root, email=email, full_name=name, phone=phone,
                language=language)
    user.set_password(password)
    user.save()
    user.roles.add(roles["tenant_admin"])
    audit.record(actor=user, action="tenant.signup", obj=tenant,
                 changes={"name": [None, company]})
    audit.record(actor=user, action="user.create", obj=user,
                 changes=audit.diff(User, {}, audit.snapshot(user)))
    return tenant, user


# ---------------------------------------------------------------------------- org units


def _lock_tree(tenant_id: int) -> None:
    """Serialise a tenant's tree writes (create, move, (de)activate, user placement) so
    that concurrent moves cannot build a cycle or write a path from a stale parent.
    PostgreSQL locks the tenant row; SQLite's IMMEDIATE transactions already serialise."""
    list(Tenant.objects.select_for_update().filter(pk=tenant_id).values_list("pk"))


def _owned_record_counts(unit: OrgUnit) -> dict[str, int]:
    """Active records any app keeps under ``unit``: users, sub-units, business records."""
    counts: dict[str, int] = {}
    users = User.objects.filter(org_unit=unit, is_active=True).count()
    if users:
        counts[str(User._meta.verbose_name_plural)] = users
    children = OrgUnit.objects.filter(parent=unit, is_active=True).count()
    if children:
        counts[str(OrgUnit._meta.verbose_name_plural)] = children
    for model in apps.get_models():
        if model in (User, OrgUnit) or not issubclass(model, models.Model):
            continue
        field_names = {f.name for f in model._meta.concrete_fields}
        if "org_unit" not in field_names or not hasattr(model, "access_module"):
            continue
        if model._meta.model_name == "auditevent":
            continue
        qs = model._default_manager.filter(org_unit=unit)
        if "is_active" in field_names:
            qs = qs.filter(is_active=True)
        n = qs.count()
        if n:
            counts[str(model._meta.verbose_name_plural)] = n
    return counts


@transaction.atomic
def org_unit_create(
    *, actor: User, parent_id: int, name: str, kind: str = OrgUnit.Kind.OTHER, code: str = ""
) -> OrgUnit:
    access.require(actor, "org.create")
    _lock_tree(actor.tenant_id)
    parent = access.get_for(OrgUnit, actor, parent_id, "create")
    if not parent.is_active:
        raise ValidationFailed(fields={"parent_id": [_("The parent unit is deactivated.")]})
    name = clean_name(name, "name")
    if kind not in OrgUnit.Kind.values:
        raise ValidationFailed(fields={"kind": [_("Unknown unit type.")]})
    if _sibling_name_taken(actor.tenant_id, parent.pk, name):
        raise Conflict(fields={"name": [_("A unit with this name already exists here.")]})
    unit = OrgUnit.objects.create(
        tenant_id=actor.tenant_id, parent=parent, name=name, kind=kind, code=_clean_code(code),
        depth=parent.depth + 1,
    )
    unit.path = f"{parent.path}{unit.pk}/"
    unit.save(update_fields=["path"])
    access.ensure_still_visible(unit, actor)
    audit.record(actor=actor, action="org_unit.create", obj=unit,
                 changes=audit.diff(OrgUnit, {}, audit.snapshot(unit)))
    return unit


@transaction.atomic
def org_unit_update(
    *, actor: User, unit_id: int, expected_version: int | None = None, **changes: Any
) -> OrgUnit:
    """Rename or retype a unit, change its code, or (de)activate it."""
    access.require(actor, "org.change")
    _lock_tree(actor.tenant_id)
    unit = access.get_for(OrgUnit, actor, unit_id, "change", for_update=True)
    check_version(unit, expected_version)
    before = audit.snapshot(unit)
    if "name" in changes:
        name = clean_name(changes["name"], "name")
        if name != unit.name and _sibling_name_taken(
            unit.tenant_id, unit.parent_id, name, exclude_pk=unit.pk
        ):
            raise Conflict(fields={"name": [_("A unit with this name already exists here.")]})
        unit.name = name
    if "code" in changes:
        unit.code = _clean_code(changes["code"])
    if "kind" in changes:
        if changes["kind"] not in OrgUnit.Kind.values:
            raise ValidationFailed(fields={"kind": [_("Unknown unit type.")]})
        unit.kind = changes["kind"]
    if "is_active" in changes and changes["is_active"] != unit.is_active:
        if changes["is_active"]:
            if unit.parent_id and not OrgUnit.objects.get(pk=unit.parent_id).is_active:
                raise ValidationFailed(
                    fields={"is_active": [_("Reactivate the parent unit first.")]}
                )
        else:
            _refuse_deactivation(unit)
        unit.is_active = bool(changes["is_active"])
    diff = _save_changes(unit, before)
    if diff:
        audit.record(actor=actor, action="org_unit.update", obj=unit, changes=diff)
    return unit


def _sibling_name_taken(tenant_id: int, parent_id: int | None, name: str,
                        exclude_pk: int | None = None) -> bool:
    """Sibling units have distinct names (the constraint core_unique_sibling_name)."""
    siblings = OrgUnit.objects.filter(tenant_id=tenant_id, parent_id=parent_id, name=name)
    if exclude_pk is not None:
        siblings = siblings.exclude(pk=exclude_pk)
    return siblings.exists()


def _clean_code(value: str | None) -> str:
    code = (value or "").strip()
    if len(code) > 50:
        raise ValidationFailed(fields={"code": [_("At most %(n)d characters.") % {"n": 50}]})
    return code


def _refuse_deactivation(unit: OrgUnit) -> None:
    if unit.parent_id is None:
        raise ValidationFailed(
            fields={"is_active": [_("The company's root unit cannot be deactivated.")]}
        )
    counts = _owned_record_counts(unit)
    if counts:
        detail = _(", ").join(f"{label}: {n}" for label, n in counts.items())
        raise Conflict(
            _("This unit still owns active records (%(detail)s). Move or deactivate them first.")
            % {"detail": detail},
            fields={"is_active": [detail]},
        )


def org_unit_deactivate(*, actor: User, unit_id: int,
                        expected_version: int | None = None) -> OrgUnit:
    return org_unit_update(actor=actor, unit_id=unit_id, expected_version=expected_version,
                           is_active=False)


@transaction.atomic
def org_unit_move(
    *, actor: User, unit_id: int, new_parent_id: int, expected_version: int | None = None
) -> OrgUnit:
    """Move a unit with its whole subtree under another parent: one UPDATE of the paths."""
    access.require(actor, "org.change")
    _lock_tree(actor.tenant_id)
    unit = access.get_for(OrgUnit, actor, unit_id, "change", for_update=True)
    check_version(unit, expected_version)
    new_parent = access.get_for(OrgUnit, actor, new_parent_id, "change")
    if unit.parent_id is None:
        raise ValidationFailed(fields={"parent_id": [_("The root unit cannot be moved.")]})
    if unit.parent_id == new_parent.pk:
        return unit  # already there: nothing to do, nothing to audit
    if new_parent.path.startswith(unit.path):
        raise ValidationFailed(
            fields={"parent_id": [_("A unit cannot be moved under itself or its own sub-unit.")]}
        )
    if not new_parent.is_active:
        raise ValidationFailed(fields={"parent_id": [_("The new parent unit is deactivated.")]})
    if _sibling_name_taken(unit.tenant_id, new_parent.pk, unit.name, exclude_pk=unit.pk):
        raise Conflict(
            fields={"parent_id": [_("The new parent already has a unit with this name.")]}
        )
    old_parent_id = unit.parent_id
    old_path = unit.path
    new_path = f"{new_parent.path}{unit.pk}/"
    depth_delta = new_parent.depth + 1 - unit.depth
    OrgUnit.objects.filter(tenant_id=unit.tenant_id, path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    unit.refresh_from_db()
    unit.parent = new_parent
    bump_version(unit)
    access.ensure_still_visible(unit, actor)
    audit.record(actor=actor, action="org_unit.move", obj=unit,
                 changes={"parent": [old_parent_id, new_parent.pk]})
    return unit


# ---------------------------------------------------------------------------- users


def _refuse(actor: User, permission: str, message: str) -> Forbidden:
    """A refusal that is audited as a denial (it survives the rollback)."""
    audit.record_denial(actor, permission)
    return Forbidden(message)


def _roles_for(actor: User, role_ids: list[int]) -> list[Role]:
    """Roles the actor may hand out: visible, and granting nothing the actor lacks."""
    roles = list(Role.objects.filter(tenant_id=actor.tenant_id, pk__in=set(role_ids)))
    if len(roles) != len(set(role_ids)):
        raise ValidationFailed(fields={"role_ids": [_("Unknown role.")]})
    for role in roles:
        if not access.can_grant(actor, role.effective_permissions(), role.data_scope):
            raise _refuse(
                actor, "users.change",
                _("You cannot grant the role “%(role)s”: it has rights you do not have.")
                % {"role": role.display_name},
            )
    return roles


def _ensure_may_manage(actor: User, subject: User) -> None:
    if access.is_above(actor, subject):
        raise _refuse(
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
    _lock_tree(actor.tenant_id)  # the unit cannot be deactivated while a user joins it
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


def _apply_person_fields(user: User, changes: dict[str, Any]) -> None:
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
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(fields={"email": [_("This email address is already registered.")]})
    roles = _roles_for(actor, role_ids)
    generated = None
    if password is None:
        password = generated = generate_password()
    user = User(tenant_id=actor.tenant_id, org_unit=unit, email=email, full_name=full_name,
                phone=phone, language=language)
    check_password(password, user)
    user.set_password(password)
    user.save()
    user.roles.set(roles)
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
    _apply_person_fields(user, changes)
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
        user.roles.set(roles)
    diff = _save_changes(
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


@transaction.atomic
def profile_update(*, actor: User, expected_version: int | None = None, **changes: Any) -> User:
    """A user's own settings: name, phone, language, password."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    check_version(user, expected_version)
    before = audit.snapshot(user)
    _apply_person_fields(user, changes)
    if changes.get("new_password"):
        if not user.check_password(changes.get("current_password") or ""):
            raise ValidationFailed(
                fields={"current_password": [_("The current password is wrong.")]}
            )
        user.set_password(check_password(changes["new_password"], user, "new_password"))
        before["password"], after_password = "***", {"password": "***changed***"}
    else:
        after_password = {}
    changed = _save_changes(user, before, after_password)
    if changed:
        audit.record(actor=user, action="user.profile_update", obj=user, changes=changed)
    return user


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
def totp_enable(*, actor: User, code: str) -> User:
    user = User.objects.select_for_update().get(pk=actor.pk)
    if not user.totp_secret or not verify_totp(user, code):
        raise ValidationFailed(fields={"code": [_("The code is wrong or has expired.")]})
    user.totp_enabled = True
    bump_version(user)
    audit.record(actor=user, action="user.totp_enable", obj=user)
    return user


@transaction.atomic
def totp_disable(*, actor: User, password: str) -> User:
    user = User.objects.select_for_update().get(pk=actor.pk)
    if not user.check_password(password or ""):
        raise ValidationFailed(fields={"password": [_("The password is wrong.")]})
    user.totp_enabled = False
    user.totp_secret = ""
    bump_version(user)
    audit.record(actor=user, action="user.totp_disable", obj=user)
    return user


# ---------------------------------------------------------------------------- roles


def _clean_role_fields(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = clean_name(changes["name"], "name")
    if "description" in changes:
        description = (changes["description"] or "").strip()
        if len(description) > 300:
            raise ValidationFailed(
                fields={"description": [_("At most %(n)d characters.") % {"n": 300}]}
            )
        cleaned["description"] = description
    if "permissions" in changes:
        known = set(permissions.all_permissions())
        wanted = list(dict.fromkeys(changes["permissions"] or []))
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise ValidationFailed(
                fields={"permissions": [_("Unknown permission: %(p)s") % {"p": ", ".join(unknown)}]}
            )
        cleaned["permissions"] = sorted(wanted)
    if "data_scope" in changes:
        if changes["data_scope"] not in Scope.ORDER:
            raise ValidationFailed(fields={"data_scope": [_("Unknown data scope.")]})
        cleaned["data_scope"] = changes["data_scope"]
    return cleaned


def _ensure_can_grant_role(actor: User, wanted: set[str] | frozenset[str], scope: str) -> None:
    if not access.can_grant(actor, wanted, scope):
        raise _refuse(actor, "roles.change",
                      _("A role cannot hold rights you do not have yourself."))


def _unique_role_name(tenant_id: int, name: str, exclude_pk: int | None = None) -> None:
    qs = Role.objects.filter(tenant_id=tenant_id, name=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise Conflict(fields={"name": [_("A role with this name already exists.")]})


@transaction.atomic
def role_create(
    *, actor: User, name: str, permissions: list[str], data_scope: str, description: str = ""
) -> Role:
    access.require(actor, "roles.create")
    fields = _clean_role_fields(
        {"name": name, "permissions": permissions, "data_scope": data_scope,
         "description": description}
    )
    _ensure_can_grant_role(actor, set(fields["permissions"]), fields["data_scope"])
    _unique_role_name(actor.tenant_id, fields["name"])
    role = Role.objects.create(tenant_id=actor.tenant_id, **fields)
    audit.record(actor=actor, action="role.create", obj=role,
                 changes=audit.diff(Role, {}, audit.snapshot(role)))
    return role


@transaction.atomic
def role_update(
    *, actor: User, role_id: int, expected_version: int | None = None, **changes: Any
) -> Role:
    access.require(actor, "roles.change")
    role = access.get_for(Role, actor, role_id, "change", for_update=True)
    check_version(role, expected_version)
    if role.is_builtin:
        raise Conflict(_("Built-in roles cannot be changed; create a custom role instead."))
    fields = _clean_role_fields(changes)
    # The role as it is and as it will be must both lie within the editor's own rights.
    _ensure_can_grant_role(actor, role.effective_permissions(), role.data_scope)
    _ensure_can_grant_role(
        actor, set(fields.get("permissions", role.permissions)),
        fields.get("data_scope", role.data_scope),
    )
    if "name" in fields:
        _unique_role_name(actor.tenant_id, fields["name"], role.pk)
    before = audit.snapshot(role)
    for key, value in fields.items():
        setattr(role, key, value)
    diff = _save_changes(role, before)
    if diff:
        audit.record(actor=actor, action="role.update", obj=role, changes=diff)
    return role


@transaction.atomic
def role_delete(*, actor: User, role_id: int, expected_version: int | None = None) -> Role:
    """Delete a custom role nobody holds; returns it (unsaved) for the caller's message."""
    access.require(actor, "roles.delete")
    role = access.get_for(Role, actor, role_id, "delete", for_update=True)
    check_version(role, expected_version)
    if role.is_builtin:
        raise Conflict(_("Built-in roles cannot be deleted."))
    holders = role.users.count()
    if holders:
        raise Conflict(
            _("The role is still held by %(n)d users; take it from them first.") % {"n": holders}
        )
    audit.record(actor=actor, action="role.delete", obj=role,
                 changes=audit.diff(Role, audit.snapshot(role), {}))
    role.delete()
    return role


# ---------------------------------------------------------------------------- audit


@transaction.atomic
def audit_export(*, actor: User, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """The events to export; the export itself is an audited event."""
    access.require(actor, "audit.export")
    events = selectors.audit_event_list(actor=actor, for_export=True, **filters)
    audit.record(actor=actor, action="audit.export", object_type="auditevent", changes={
        "filters": {k: str(v) for k, v in filters.items() if v not in (None, "")},
        "rows": events.count(),
    })
    return events


# ---------------------------------------------------------------------------- shares


@transaction.atomic
def record_share(
    *, actor: User, obj: models.Model, user_id: int, can_change: bool = False
) -> RecordShare:
    """Open one record the actor may change to a colleague of the same company."""
    from django.contrib.contenttypes.models import ContentType

    record = access.get_for(type(obj), actor, obj.pk, "change")
    target = User.objects.visible_to(actor).filter(pk=user_id, is_active=True).first()
    if target is None:
        raise ValidationFailed(fields={"user_id": [_("Unknown user.")]})
    share, _created = RecordShare.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk,
        user=target,
        defaults={"tenant_id": actor.tenant_id, "can_change": can_change, "created_by": actor},
    )
    audit.record(actor=actor, action="share.grant", obj=record,
                 changes={"shared_with": [None, target.email], "can_change": [None, can_change]})
    return share


@transaction.atomic
def record_unshare(*, actor: User, obj: models.Model, user_id: int) -> None:
    from django.contrib.contenttypes.models import ContentType

    record = access.get_for(type(obj), actor, obj.pk, "change")
    deleted, _details = RecordShare.objects.filter(
        tenant_id=actor.tenant_id, content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk, user_id=user_id,
    ).delete()
    if deleted:
        audit.record(actor=actor, action="share.revoke", obj=record,
                     changes={"shared_with": [user_id, None]})


# ---------------------------------------------------------------------------- API tokens


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
