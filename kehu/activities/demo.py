"""Demo engagement for ``kehu demo``: a customer timeline, follow-ups (one overdue), tasks
a manager gave an account manager, and a submitted weekly plan — so every engagement page
has something to show on the first sign-in."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.activities.services import followups, interactions, tasks, workplans
from kehu.core.demo import DemoCompany
from kehu.customers import demo as customer_demo

# (days ago, kind, channel, subject, outcome)
TIMELINE = [
    (40, "visit", "face_to_face", "首次拜访信息中心", "了解到专线扩容需求"),
    (21, "call", "phone", "电话确认扩容带宽", "客户需要 1G 专线两条"),
    (14, "email", "email", "发送专线扩容方案", "方案已发送，等待反馈"),
    (6, "meeting", "face_to_face", "方案评审会", "客户同意进入商务阶段"),
    (2, "wechat", "wechat", "微信沟通报价细节", "客户希望年付优惠"),
]


def build(company: DemoCompany) -> str:
    rep, manager = company.users["account_manager"], company.users["city_manager"]
    tenant_id = company.admin.tenant_id
    airport = customer_demo.demo_customer(tenant_id, "白云机场")
    kugou = customer_demo.demo_customer(tenant_id, "酷狗")
    contact = customer_demo.demo_first_contact(tenant_id, airport)
    now = timezone.now().replace(second=0, microsecond=0)
    for days, kind, channel, subject, outcome in TIMELINE:
        interactions.interaction_create(
            actor=rep, customer_id=airport.pk, kind=kind, subject=subject, channel=channel,
            contact_ids=[contact.pk] if contact else [], outcome=outcome,
            occurred_at=now - dt.timedelta(days=days, hours=3), duration_minutes=30,
            content=f"{subject}：{outcome}。")
    followups.followup_create(actor=rep, customer_id=airport.pk, subject="回访报价反馈",
                              due_at=now + dt.timedelta(days=2, hours=2),
                              contact_id=contact.pk if contact else None)
    followups.followup_create(actor=rep, customer_id=kugou.pk, subject="了解云服务续约意向",
                              due_at=now - dt.timedelta(days=1))
    followups.followup_create(actor=rep, customer_id=airport.pk, subject="月度客情回访",
                              due_at=now + dt.timedelta(days=7), recur_every=1,
                              recur_unit="month")
    tasks.task_create(actor=manager, assignee_id=rep.pk, title="准备白云机场专线报价",
                      priority="high", due_at=now + dt.timedelta(days=1),
                      customer_id=airport.pk, description="按年付与月付两种方式报价。")
    tasks.task_create(actor=rep, title="整理本周拜访记录", due_at=now + dt.timedelta(days=4))
    plan = workplans.workplan_create(
        actor=rep, week_start=now.date(),
        goals="1. 白云机场专线报价\n2. 回访酷狗云服务续约\n3. 拜访两家新客户")
    workplans.workplan_submit(actor=rep, plan_id=plan.pk)
    return (f"  {len(TIMELINE)} interactions, 3 follow-ups (1 overdue), 2 tasks and a weekly "
            "plan for the account manager.")
