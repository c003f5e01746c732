"""Test personas shared by every app's tests (architecture.md, "Tests").

Group HQ ─┬─ Province A ─── City A1 ─── Team A1-1
          └─ Province B ─── City B1
plus a second tenant. Built through the real services, so they exercise them too.
"""

from __future__ import annotations

from dataclasses import dataclass

from kehu.core.models import OrgUnit, Role, Tenant, User
from kehu.core.services.org import org_unit_create
from kehu.core.services.tenants import tenant_signup
from kehu.core.services.users import user_create

PASSWORD = "Kehu-test-pass-2026"  # noqa: S105 -- test personas only


@dataclass
class World:
    tenant: Tenant
    hq: OrgUnit
    prov_a: OrgUnit
    city_a1: OrgUnit
    team_a1: OrgUnit
    prov_b: OrgUnit
    city_b1: OrgUnit
    hq_admin: User
    prov_a_manager: User
    city_a1_manager: User
    city_a1_rep: User
    prov_b_manager: User
    analyst: User
    other_tenant: Tenant
    other_tenant_admin: User
    other_unit: OrgUnit

    def role(self, key: str, tenant: Tenant | None = None) -> Role:
        return Role.objects.get(tenant=tenant or self.tenant, builtin_key=key)


def make_user(admin: User, email: str, name: str, unit: OrgUnit, role_key: str) -> User:
    role = Role.objects.get(tenant_id=admin.tenant_id, builtin_key=role_key)
    user, _ = user_create(
        actor=admin, email=email, full_name=name, org_unit_id=unit.pk, role_ids=[role.pk],
        password=PASSWORD,
    )
    return user


def build_world() -> World:
    tenant, hq_admin = tenant_signup(
        company_name="华夏通信集团", admin_name="总部管理员", email="hq_admin@huaxia.test",
        password=PASSWORD,
    )
    hq = hq_admin.org_unit
    unit = org_unit_create
    prov_a = unit(actor=hq_admin, parent_id=hq.pk, name="广东省公司", kind="province")
    city_a1 = unit(actor=hq_admin, parent_id=prov_a.pk, name="广州分公司", kind="city")
    team_a1 = unit(actor=hq_admin, parent_id=city_a1.pk, name="政企一组", kind="team")
    prov_b = unit(actor=hq_admin, parent_id=hq.pk, name="浙江省公司", kind="province")
    city_b1 = unit(actor=hq_admin, parent_id=prov_b.pk, name="杭州分公司", kind="city")
    other_tenant, other_admin = tenant_signup(
        company_name="远方科技有限公司", admin_name="远方管理员", email="admin@yuanfang.test",
        password=PASSWORD,
    )
    return World(
        tenant=tenant, hq=hq, prov_a=prov_a, city_a1=city_a1, team_a1=team_a1, prov_b=prov_b,
        city_b1=city_b1, hq_admin=hq_admin,
        prov_a_manager=make_user(hq_admin, "prov_a@huaxia.test", "广东经理", prov_a,
                                 "province_manager"),
        city_a1_manager=make_user(hq_admin, "city_a1@huaxia.test", "广州经理", city_a1,
                                  "city_manager"),
        city_a1_rep=make_user(hq_admin, "rep_a1@huaxia.test", "李客户经理", city_a1,
                              "account_manager"),
        prov_b_manager=make_user(hq_admin, "prov_b@huaxia.test", "浙江经理", prov_b,
                                 "province_manager"),
        analyst=make_user(hq_admin, "analyst@huaxia.test", "王分析", hq, "analyst"),
        other_tenant=other_tenant, other_tenant_admin=other_admin,
        other_unit=unit(actor=other_admin, parent_id=other_admin.org_unit_id, name="远方北京",
                        kind="province"),
    )


def fresh(user: User) -> User:
    """The user as the next request would load it (grants recomputed)."""
    return User.objects.select_related("org_unit", "tenant").get(pk=user.pk)


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The code ``steps_ahead`` 30-second steps from now: codes are single-use, so a test
    that enrols with one code signs in with the next."""
    import pyotp
    from django.utils import timezone

    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(timezone.now()) + steps_ahead)
