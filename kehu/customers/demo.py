"""Demo customers for ``kehu demo``: a national group with provincial subsidiaries,
local key accounts per branch, individuals, contacts and a few relationships."""

from __future__ import annotations

from kehu.core.demo import DemoCompany
from kehu.customers.models import Contact, Customer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services
from kehu.customers.services import relationships as relationship_services

# (name, short name, credit code, region, industry, tier, owner role, phones)
GROUP = ("中国华信通信集团有限公司", "华信集团", "91110000100000000X", "110000", "63", "group")
SUBSIDIARIES = [
    ("中国华信通信集团广东有限公司", "华信广东", "440000", "province_manager"),
    ("中国华信通信集团浙江有限公司", "华信浙江", "330000", "tenant_admin"),
]
LOCAL = [
    ("广州市白云国际机场股份有限公司", "白云机场", "440100", "56", "local", "account_manager",
     "020-36066999"),
    ("广州地铁集团有限公司", "广州地铁", "440100", "54", "province", "city_manager",
     "020-83289999"),
    ("深圳市南山区人民政府", "南山区政府", "440305", "S", "local", "province_manager",
     "0755-26661111"),
    ("广东省人民医院", "省人民医院", "440104", "84", "province", "province_manager",
     "020-83827812"),
    ("杭州市城市大脑有限公司", "城市大脑", "330100", "65", "local", "tenant_admin",
     "0571-87006666"),
    ("南京银行股份有限公司", "南京银行", "320100", "66", "province", "tenant_admin",
     "025-96400"),
    ("广州酷狗计算机科技有限公司", "酷狗", "440106", "64", "ordinary", "account_manager",
     "13802345678"),
]
PEOPLE = [("陈晓明", "13922223333", "account_manager"), ("林美华", "13600001111",
                                                        "account_manager")]
CONTACTS = [("白云机场", "黄志强", "信息中心主任", "decision_maker", "13711112222"),
            ("白云机场", "刘芳", "采购部经理", "procurement", "13822223333"),
            ("广州地铁", "张伟", "通信处处长", "decision_maker", "13533334444")]


def _with_check(first17: str) -> str:
    from kehu.core.identifiers import uscc_check_char

    return first17 + uscc_check_char(first17)


def build(company: DemoCompany) -> str:
    admin, users = company.admin, company.users
    created = {}
    group = customer_services.customer_create(
        actor=admin, name=GROUP[0], short_name=GROUP[1], uscc=_with_check(GROUP[2][:17]),
        region=GROUP[3], industry=GROUP[4], tier=GROUP[5], status="loyal",
        phones=["010-68880000"], owner_id=users["hq_manager"].pk, size="giant")
    for i, (name, short, region, role) in enumerate(SUBSIDIARIES):
        created[short] = customer_services.customer_create(
            actor=admin, name=name, short_name=short, region=region, industry="63",
            tier="province", parent_id=group.pk, owner_id=users[role].pk, size="large",
            uscc=_with_check(f"9144000010000{i:03d}0"))
    for i, (name, short, region, industry, tier, role, phone) in enumerate(LOCAL):
        kind = "government" if "政府" in name else "enterprise"
        created[short] = customer_services.customer_create(
            actor=admin, name=name, short_name=short, region=region, industry=industry,
            tier=tier, kind=kind, phones=[phone], owner_id=users[role].pk, status="customer",
            uscc=_with_check(f"9144010020000{i:03d}1"), tags=["演示"])
    for name, phone, role in PEOPLE:
        customer_services.customer_create(actor=admin, name=name, kind="individual", phones=[phone],
                                          owner_id=users[role].pk, region="440100")
    for customer_short, name, title, decision_role, phone in CONTACTS:
        contact_services.contact_create(actor=admin, name=name,
                                        customer_id=created[customer_short].pk,
                                        phones=[phone], link={"title": title,
                                                              "decision_role": decision_role,
                                                              "is_primary": True})
    relationship_services.relationship_add(actor=admin, source_id=created["白云机场"].pk,
                                           target_id=created["广州地铁"].pk, kind="partner")
    total = 1 + len(SUBSIDIARIES) + len(LOCAL) + len(PEOPLE)
    return f"  {total} demo customers and {len(CONTACTS)} contacts."


def demo_customer(tenant_id: int, short_name: str) -> Customer:
    """A customer of the demo company by its short name (for other apps' demo data)."""
    return Customer.objects.get(tenant_id=tenant_id, short_name=short_name)


def demo_first_contact(tenant_id: int, customer: Customer) -> Contact | None:
    """The first contact linked to a demo customer (for other apps' demo data)."""
    return Contact.objects.filter(tenant_id=tenant_id, customer_links__customer=customer) \
        .order_by("pk").first()
