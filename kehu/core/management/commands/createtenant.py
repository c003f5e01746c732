"""``kehu createtenant``: register a company and its first administrator."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kehu.core.management.base import call_service
from kehu.core.services.tenants import tenant_signup
from kehu.core.services.users import generate_password


class Command(BaseCommand):
    help = (
        "Create a tenant (company) with its root unit, built-in roles and first administrator. "
        "Without --password a password is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, help="Company name, e.g. 华夏通信集团.")
        parser.add_argument("--admin-name", required=True, help="The administrator's full name.")
        parser.add_argument("--email", required=True, help="The administrator's email (login).")
        parser.add_argument("--password", help="The administrator's password (else generated).")
        parser.add_argument("--phone", default="", help="The administrator's mobile phone.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        generated = password is None
        if generated:
            password = generate_password()
        tenant, admin = call_service(
            tenant_signup, company_name=options["company"],
            admin_name=options["admin_name"], email=options["email"], password=password,
            phone=options["phone"],
        )
        self.stdout.write(self.style.SUCCESS(
            f"Created tenant {tenant.name} (id {tenant.pk}) with root unit "
            f"{admin.org_unit.name} (id {admin.org_unit_id})."
        ))
        self.stdout.write(f"Administrator: {admin.full_name} <{admin.email}>")
        if generated:
            self.stdout.write(f"Password: {password}")
            self.stdout.write("This password is shown only now.")
