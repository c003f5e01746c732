"""``kehu createuser``: add a user to a tenant, acting as that tenant's administrator."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from kehu.core.management.base import call_service
from kehu.core.models import OrgUnit, Role, Tenant, User
from kehu.core.services.users import user_create


def find_admin(tenant_ref: str) -> User:
    """The tenant administrator who acts (and is audited) for the command.

    ``tenant_ref`` is a tenant id, or the email of one of its users: an administrator's
    own email makes that administrator the actor; any other user's email picks the
    tenant's first active administrator.
    """
    ref = tenant_ref.strip()
    if ref.isdigit():
        tenant = Tenant.objects.filter(pk=int(ref)).first()
        if tenant is None:
            raise CommandError(f"No tenant with id {ref}.")
    else:
        user = User.objects.filter(email__iexact=ref).select_related("tenant").first()
        if user is None:
            raise CommandError(f"No user with email {ref}; give a tenant id or a user's email.")
        tenant = user.tenant
        if user.is_active and user.roles.filter(builtin_key="tenant_admin").exists():
            return user
    if not tenant.is_active:
        raise CommandError(f"Tenant {tenant.name} (id {tenant.pk}) is deactivated.")
    admin = (
        User.objects.filter(tenant=tenant, is_active=True, roles__builtin_key="tenant_admin")
        .order_by("pk").first()
    )
    if admin is None:
        raise CommandError(f"Tenant {tenant.name} has no active administrator.")
    return admin


def find_unit(tenant: Tenant, ref: str) -> OrgUnit:
    ref = ref.strip()
    query = Q(name=ref) | Q(code=ref) if ref else Q(pk=None)
    if ref.isdigit():
        query |= Q(pk=int(ref))
    units = list(OrgUnit.objects.filter(query, tenant=tenant)[:5])
    if not units:
        raise CommandError(f"No org unit “{ref}” in {tenant.name}; give its id or name.")
    if len(units) > 1:
        listing = ", ".join(f"{u.name} (id {u.pk})" for u in units)
        raise CommandError(f"Several org units match “{ref}”: {listing}. Give the id.")
    return units[0]


def find_role(tenant: Tenant, ref: str) -> Role:
    ref = ref.strip()
    role = Role.objects.filter(Q(builtin_key=ref) | Q(name=ref), tenant=tenant).first()
    if role is None:
        keys = ", ".join(
            Role.objects.filter(tenant=tenant).exclude(builtin_key="")
            .values_list("builtin_key", flat=True)
        )
        raise CommandError(f"No role “{ref}” in {tenant.name}. Built-in roles: {keys}.")
    return role


class Command(BaseCommand):
    help = (
        "Create a user in a tenant as that tenant's administrator (who is recorded in the "
        "audit log). Without --password a password is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant-email", required=True, metavar="EMAIL_OR_ID",
                            help="The tenant: its id, or the email of its administrator.")
        parser.add_argument("--email", required=True, help="The new user's email (login).")
        parser.add_argument("--name", required=True, help="The new user's full name.")
        parser.add_argument("--unit", required=True, metavar="UNIT",
                            help="The user's org unit: id, name or code.")
        parser.add_argument("--role", required=True, action="append", dest="roles",
                            metavar="ROLE", help="Built-in role key (e.g. city_manager) or "
                            "role name; repeat for several roles.")
        parser.add_argument("--password", help="The user's password (else generated).")
        parser.add_argument("--phone", default="", help="The user's mobile phone.")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = find_admin(options["tenant_email"])
        unit = find_unit(admin.tenant, options["unit"])
        roles = [find_role(admin.tenant, ref) for ref in options["roles"]]
        user, generated = call_service(
            user_create, actor=admin, email=options["email"], full_name=options["name"],
            org_unit_id=unit.pk, role_ids=[r.pk for r in roles], password=options["password"],
            phone=options["phone"],
        )
        self.stdout.write(self.style.SUCCESS(
            f"Created user {user.full_name} <{user.email}> (id {user.pk}) in {unit.name} "
            f"with role(s) {', '.join(r.name for r in roles)}, acting as {admin.email}."
        ))
        if generated:
            self.stdout.write(f"Password: {generated}")
            self.stdout.write("This password is shown only now.")
