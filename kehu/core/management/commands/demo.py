"""``kehu demo``: create the demo company once, with an org tree and one user per role."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from kehu.core import permissions
from kehu.core.demo import BUILDERS, DemoCompany
from kehu.core.management.base import call_service, table
from kehu.core.models import OrgUnit, Role, Tenant
from kehu.core.services.org import org_unit_create
from kehu.core.services.tenants import tenant_signup
from kehu.core.services.users import generate_password, user_create

DEMO_COMPANY = "演示集团"
DEMO_DOMAIN = "demo.kehu.local"

# (name, kind, parent name or None for the group HQ)
DEMO_UNITS: list[tuple[str, str, str | None]] = [
    ("广东省公司", OrgUnit.Kind.PROVINCE, None),
    ("广州分公司", OrgUnit.Kind.CITY, "广东省公司"),
    ("广州政企一组", OrgUnit.Kind.TEAM, "广州分公司"),
    ("深圳分公司", OrgUnit.Kind.CITY, "广东省公司"),
    ("浙江省公司", OrgUnit.Kind.PROVINCE, None),
    ("杭州分公司", OrgUnit.Kind.CITY, "浙江省公司"),
    ("江苏省公司", OrgUnit.Kind.PROVINCE, None),
    ("南京分公司", OrgUnit.Kind.CITY, "江苏省公司"),
]

# Built-in role key → (person's name, unit name or None for the group HQ).
DEMO_PEOPLE: dict[str, tuple[str, str | None]] = {
    "tenant_admin": ("赵管理", None),
    "hq_manager": ("钱总部", None),
    "province_manager": ("孙广东", "广东省公司"),
    "city_manager": ("李广州", "广州分公司"),
    "account_manager": ("周客户", "广州政企一组"),
    "callcenter_agent": ("吴坐席", None),
    "service_agent": ("郑服务", "广州分公司"),
    "marketing_specialist": ("王市场", "广东省公司"),
    "analyst": ("冯分析", None),
}


def demo_email(role_key: str) -> str:
    return f"{role_key}@{DEMO_DOMAIN}"


def org_tree() -> str:
    """The demo organisation as an indented tree."""
    lines = [f"  {DEMO_COMPANY} ({OrgUnit.Kind.GROUP.label})"]

    def walk(parent: str | None, indent: str) -> None:
        children = [(name, kind) for name, kind, up in DEMO_UNITS if up == parent]
        for i, (name, kind) in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"  {indent}{'└─' if last else '├─'} {name} ({OrgUnit.Kind(kind).label})")
            walk(name, indent + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        f"Create the demo company {DEMO_COMPANY} (org tree and one user per built-in role) "
        "once; passwords are generated and printed only this time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if Tenant.objects.filter(name_key=Tenant.key_for(DEMO_COMPANY)).exists():
            self.stdout.write(
                f"Demo company {DEMO_COMPANY} already exists; nothing was created. "
                "(Its passwords were printed when it was created.)"
            )
            return
        rows, summaries = self._create()
        self.stdout.write(self.style.SUCCESS(f"Created demo company {DEMO_COMPANY}:"))
        self.stdout.write(org_tree())
        for summary in summaries:
            self.stdout.write(summary)
        self.stdout.write(
            "Sign in with one of these accounts. The passwords are shown only now: "
            "keep them somewhere safe."
        )
        self.stdout.write(table(["Role", "Email", "Unit", "Password"], rows))

    @transaction.atomic
    def _create(self) -> tuple[list[list[str]], list[str]]:
        admin_password = generate_password()
        admin_name = DEMO_PEOPLE["tenant_admin"][0]
        tenant, admin = call_service(
            tenant_signup, company_name=DEMO_COMPANY, admin_name=admin_name,
            email=demo_email("tenant_admin"), password=admin_password,
        )
        units: dict[str | None, OrgUnit] = {None: admin.org_unit}
        for name, kind, parent in DEMO_UNITS:
            units[name] = call_service(
                org_unit_create, actor=admin, parent_id=units[parent].pk, name=name,
                kind=kind,
            )
        rows = [["tenant_admin", admin.email, admin.org_unit.name, admin_password]]
        users = {"tenant_admin": admin}
        roles = {r.builtin_key: r for r in Role.objects.filter(tenant=tenant).exclude(
            builtin_key="")}
        for key in permissions.BUILTIN_ROLES:
            if key == "tenant_admin":
                continue
            # Roles registered by apps that this list does not know yet go to the HQ.
            person, unit_name = DEMO_PEOPLE.get(key, (f"演示{key}", None))
            user, password = call_service(
                user_create, actor=admin, email=demo_email(key), full_name=person,
                org_unit_id=units[unit_name].pk, role_ids=[roles[key].pk],
            )
            rows.append([key, user.email, units[unit_name].name, str(password)])
            users[key] = user
        company = DemoCompany(admin=admin, users=users, units=units)
        return rows, [builder(company) for builder in BUILDERS]
