"""Sign-up of a new tenant, and the built-in roles every tenant has."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext_lazy as _lazy

from kehu.core import audit, permissions
from kehu.core.exceptions import Conflict
from kehu.core.models import OrgUnit, Role, Tenant, User
from kehu.core.validators import check_password, clean_email, clean_name, clean_phone


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


COMPANY_TAKEN = _lazy("A company with this name is already registered.")
EMAIL_TAKEN = _lazy("This email address is already registered.")


@transaction.atomic
def tenant_signup(
    *, company_name: str, admin_name: str, email: str, password: str, phone: str = "",
    language: str = User.Language.ZH_HANS,
) -> tuple[Tenant, User]:
    """Create a tenant, its root unit, its built-in roles and its first administrator at
    once: for the command line, the demo and tests. Anonymous sign-up confirms the email
    first (kehu.core.services.signup), then calls ``tenant_create``."""
    company = clean_name(company_name, "company_name", max_length=200)
    name = clean_name(admin_name, "admin_name")
    email = clean_email(email)
    check_company_free(company)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(fields={"email": [str(EMAIL_TAKEN)]})
    check_password(password, User(email=email, full_name=name))
    return tenant_create(company_name=company, admin_name=name, email=email,
                         password_hash=make_password(password), phone=phone,
                         language=language)


def check_company_free(company: str) -> None:
    if Tenant.objects.filter(name_key=Tenant.key_for(company)).exists():
        raise Conflict(fields={"company_name": [str(COMPANY_TAKEN)]})


@transaction.atomic
def tenant_create(*, company_name: str, admin_name: str, email: str, password_hash: str,
                  phone: str = "", language: str = User.Language.ZH_HANS) -> tuple[Tenant, User]:
    """The company, its root unit and roles, and its administrator with ``password_hash``
    (checked and hashed by the caller)."""
    company = clean_name(company_name, "company_name", max_length=200)
    name = clean_name(admin_name, "admin_name")
    email = clean_email(email)
    phone = clean_phone(phone)
    check_company_free(company)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(fields={"email": [str(EMAIL_TAKEN)]})
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=company, name_key=Tenant.key_for(company))
    except IntegrityError:
        raise Conflict(fields={"company_name": [str(COMPANY_TAKEN)]}) from None
    root = OrgUnit.objects.create(tenant=tenant, name=company, kind=OrgUnit.Kind.GROUP)
    root.path = f"/{root.pk}/"
    root.save(update_fields=["path"])
    roles = builtin_roles_create(tenant)
    user = User(tenant=tenant, org_unit=root, email=email, full_name=name, phone=phone,
                language=language, password=password_hash)
    user.save()
    user.roles.add(roles["tenant_admin"], through_defaults={"tenant_id": tenant.pk})
    audit.record(actor=user, action="tenant.signup", obj=tenant,
                 changes={"name": [None, company]})
    audit.record(actor=user, action="user.create", obj=user,
                 changes=audit.diff(User, {}, audit.snapshot(user)))
    return tenant, user
