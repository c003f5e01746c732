"""Customers for the test personas: one per place in the org tree, built through the
services (so that every test also exercises them)."""

from __future__ import annotations

from dataclasses import dataclass

from kehu.core.testing import World
from kehu.customers.models import Contact, Customer
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

# A valid credit code and ID number (check characters correct).
USCC = "91350100M000100Y43"
ID_NUMBER = "11010519491231002X"


@dataclass
class Book:
    """The main tenant's customers by owner, and one in the other tenant."""

    hq: Customer
    prov_a: Customer
    city_a1: Customer
    rep: Customer
    prov_b: Customer
    person: Customer
    other_tenant: Customer
    rep_contact: Contact

    def all_main(self) -> list[Customer]:
        return [self.hq, self.prov_a, self.city_a1, self.rep, self.prov_b, self.person]


def build_book(world: World) -> Book:
    create = customer_services.customer_create
    hq = create(actor=world.hq_admin, name="中国电信股份有限公司", short_name="中国电信",
                uscc=USCC, phones=["010-58501234"], industry="63", region="110000",
                tier="group")
    rep = create(actor=world.city_a1_rep, name="广州市白云机场股份有限公司",
                 phones=["13812345678"], parent_id=None, region="440100")
    return Book(
        hq=hq,
        prov_a=create(actor=world.prov_a_manager, name="广东移动通信有限责任公司",
                      phones=["020-83331234"], region="440000"),
        city_a1=create(actor=world.city_a1_manager, name="广州地铁集团有限公司",
                       phones=["13900001111"], region="440100"),
        rep=rep,
        prov_b=create(actor=world.prov_b_manager, name="杭州阿里巴巴网络技术有限公司",
                      phones=["0571-85022088"], region="330100"),
        person=create(actor=world.city_a1_rep, name="张三", kind="individual",
                      id_number=ID_NUMBER, phones=["13700001234"],
                      addresses=["广州市天河区体育西路1号"]),
        other_tenant=create(actor=world.other_tenant_admin, name="中国电信远方分公司",
                            phones=["13800009999"]),
        rep_contact=contact_services.contact_create(actor=world.city_a1_rep, name="王经理",
                                                    customer_id=rep.pk, phones=["13611112222"],
                                                    link={"title": "采购总监", "is_primary": True}),
    )
