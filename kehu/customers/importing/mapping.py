"""The fields a spreadsheet column can go to, the proposed mapping of headers to them,
and how a cell's text is read for a field (choice labels and synonyms, lists).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers import normalize
from kehu.customers.models import (
    Channel,
    DecisionRole,
    ImportJob,
    Kind,
    Size,
    Status,
    Tier,
    VipGrade,
)


@dataclass(frozen=True)
class Target:
    key: str
    label: Any
    aliases: tuple[str, ...]


CUSTOMER_TARGETS: tuple[Target, ...] = (
    Target("name", gettext_lazy("Name"), ("客户名称", "公司名称", "名称", "客户", "单位名称",
                                          "企业名称", "客户全称", "name", "customer",
                                          "customer name", "company", "company name")),
    Target("short_name", gettext_lazy("Short name"), ("简称", "客户简称", "short name",
                                                      "short_name", "abbreviation")),
    Target("kind", gettext_lazy("Kind"), ("客户类型", "类型", "客户类别", "kind", "type",
                                          "customer type")),
    Target("uscc", gettext_lazy("Unified social credit code"),
           ("统一社会信用代码", "信用代码", "社会信用代码", "uscc", "credit code")),
    Target("id_number", gettext_lazy("ID number"), ("身份证号", "身份证", "身份证号码",
                                                    "证件号码", "id number", "id_number",
                                                    "id card")),
    Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry")),
    Target("region", gettext_lazy("Region"), ("地区", "所在地区", "省市", "区域", "所在地",
                                              "region")),
    Target("size", gettext_lazy("Size"), ("规模", "企业规模", "size")),
    Target("addresses", gettext_lazy("Address"), ("地址", "注册地址", "办公地址", "address",
                                                  "addresses")),
    Target("phones", gettext_lazy("Phones"), ("电话", "手机", "联系电话", "手机号", "电话号码",
                                              "phone", "phones", "mobile", "tel")),
    Target("emails", gettext_lazy("Emails"), ("邮箱", "电子邮箱", "电子邮件", "email",
                                              "emails", "e-mail")),
    Target("website", gettext_lazy("Website"), ("网址", "网站", "官网", "website", "url",
                                                "web")),
    Target("tier", gettext_lazy("Key-account tier"), ("客户等级", "大客户等级", "等级",
                                                      "tier", "key-account tier")),
    Target("vip_grade", gettext_lazy("VIP grade"), ("vip等级", "vip", "vip grade",
                                                    "vip_grade")),
    Target("status", gettext_lazy("Lifecycle status"), ("状态", "客户状态", "status")),
    Target("tags", gettext_lazy("Tags"), ("标签", "tags", "tag")),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remarks")),
    Target("code", gettext_lazy("Customer code"), ("客户编码", "客户编号", "编码", "code",
                                                   "customer code")),
    Target("owner", gettext_lazy("Account manager"), ("客户经理", "负责人", "归属人",
                                                      "owner", "account manager")),
    Target("org_unit", gettext_lazy("Owning unit"), ("归属单位", "所属单位", "归属部门",
                                                     "org unit", "unit", "owning unit")),
)

CONTACT_TARGETS: tuple[Target, ...] = (
    Target("name", gettext_lazy("Name"), ("姓名", "联系人", "联系人姓名", "名字", "name",
                                          "contact", "contact name")),
    Target("gender", gettext_lazy("Gender"), ("性别", "gender", "sex")),
    Target("phones", gettext_lazy("Phones"), ("手机", "电话", "手机号", "联系电话", "电话号码",
                                              "phone", "phones", "mobile", "tel")),
    Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "电子邮件", "email",
                                            "e-mail")),
    Target("wechat", gettext_lazy("WeChat"), ("微信", "微信号", "wechat")),
    Target("preferred_channel", gettext_lazy("Preferred channel"),
           ("首选渠道", "偏好渠道", "联系偏好", "preferred channel", "preferred_channel")),
    Target("birthday", gettext_lazy("Birthday"), ("生日", "出生日期", "birthday")),
    Target("title", gettext_lazy("Title"), ("职务", "职位", "title", "job title")),
    Target("department", gettext_lazy("Department"), ("部门", "department")),
    Target("decision_role", gettext_lazy("Role in decisions"),
           ("决策角色", "角色", "decision role", "decision_role", "role")),
    Target("customer", gettext_lazy("Customer"), ("所属客户", "客户", "客户名称", "公司",
                                                  "公司名称", "customer", "company")),
    Target("is_primary", gettext_lazy("Primary contact"), ("主要联系人", "首要联系人",
                                                           "primary", "is primary",
                                                           "primary contact")),
    Target("tags", gettext_lazy("Tags"), ("标签", "tags", "tag")),
    Target("notes", gettext_lazy("Notes"), ("备注", "说明", "notes", "note", "remarks")),
    Target("owner", gettext_lazy("Account manager"), ("客户经理", "负责人", "owner")),
)

TARGETS = {ImportJob.Entity.CUSTOMERS: CUSTOMER_TARGETS,
           ImportJob.Entity.CONTACTS: CONTACT_TARGETS}


@dataclass(frozen=True)
class ImportKind:
    """An import a later app adds to the wizard, the API, the CLI and the worker (e.g.
    interactions): its fields, the permission it needs besides ``imports.create``, why a
    mapping cannot run, and its processor (a ``processor.Processor`` subclass)."""

    key: str
    label: Any
    targets: tuple[Target, ...]
    permission: str
    reveal_permission: str
    missing: Callable[[set[str]], str]  # the mapped fields → what is missing ("" if none)
    processor: Any


IMPORT_KINDS: dict[str, ImportKind] = {}


def register_import_kind(kind: ImportKind) -> None:
    IMPORT_KINDS[kind.key] = kind


def entity_choices() -> list[tuple[str, Any]]:
    """What can be imported: customers, contacts, then the registered kinds."""
    return [*ImportJob.Entity.choices, *((k.key, k.label) for k in IMPORT_KINDS.values())]


def entity_label(entity: str) -> Any:
    return dict(entity_choices()).get(entity, entity)


def targets(entity: str) -> tuple[Target, ...]:
    if entity in IMPORT_KINDS:
        return IMPORT_KINDS[entity].targets
    return TARGETS[ImportJob.Entity(entity)]


def missing_fields(entity: str, mapped: set[str]) -> str:
    """Why a mapping onto ``mapped`` fields cannot run ("" when it can)."""
    if entity in IMPORT_KINDS:
        return IMPORT_KINDS[entity].missing(mapped)
    return "" if "name" in mapped else str(_("Map one column to the name."))


def _header_key(text: str) -> str:
    return re.sub(r"[\s_*:：()（）\[\]【】]+", " ", normalize.fold(text).casefold()).strip()


def propose_mapping(headers: list[str], entity: str) -> dict[str, str]:
    """Each header → the field it names ("" when unknown); each field used once."""
    index: dict[str, str] = {}
    for target in targets(entity):
        for alias in (target.key, *target.aliases):
            index.setdefault(_header_key(alias), target.key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = index.get(_header_key(header), "")
        if key in used:
            key = ""
        mapping[header] = key
        if key:
            used.add(key)
    return mapping



def entity_permission(entity: str) -> str:
    if entity in IMPORT_KINDS:
        return IMPORT_KINDS[entity].permission
    return "customers.create" if entity == ImportJob.Entity.CUSTOMERS else "contacts.create"


def reveal_permission(entity: str) -> str:
    if entity in IMPORT_KINDS:
        return IMPORT_KINDS[entity].reveal_permission
    return "customers.reveal_pii" if entity == ImportJob.Entity.CUSTOMERS \
        else "contacts.reveal_pii"



_SPLIT_RE = re.compile(r"[;；,，、/／|\n]+")

# Words spreadsheets use for the choice fields besides the labels of either language.
SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {"企业": "enterprise", "公司": "enterprise", "企业客户": "enterprise",
             "政府": "government", "政府机关": "government", "事业单位": "government",
             "政企": "government", "个人": "individual", "自然人": "individual",
             "个人客户": "individual"},
    "tier": {"集团": "group", "集团客户": "group", "集团大客户": "group", "省级": "province",
             "省级大客户": "province", "省重点": "province", "本地": "local", "地市": "local",
             "本地大客户": "local", "普通": "ordinary", "普通客户": "ordinary"},
    "vip_grade": {"银": "silver", "银卡": "silver", "金": "gold", "金卡": "gold",
                  "白金": "platinum", "白金卡": "platinum", "钻石": "diamond",
                  "钻石卡": "diamond", "无": ""},
    "status": {"潜在": "potential", "潜在客户": "potential", "客户": "customer",
               "正式客户": "customer", "成交客户": "customer", "复购": "repeat",
               "复购客户": "repeat", "支持者": "supporter", "忠诚": "loyal",
               "忠诚客户": "loyal", "休眠": "dormant", "沉睡": "dormant", "流失": "churned",
               "已流失": "churned", "黑名单": "blacklisted"},
    "size": {"微型": "micro", "小型": "small", "中型": "medium", "大型": "large",
             "特大型": "giant", "超大型": "giant"},
    "decision_role": {"决策者": "decision_maker", "决策人": "decision_maker",
                      "影响者": "influencer", "使用者": "user", "用户": "user",
                      "财务": "finance", "技术": "technical", "采购": "procurement",
                      "把关者": "gatekeeper", "其他": "other"},
    "preferred_channel": {"电话": "call", "短信": "sms", "邮件": "email", "邮箱": "email",
                          "微信": "wechat", "邮寄": "post", "拜访": "visit"},
}
CHOICES: dict[str, Any] = {"kind": Kind, "size": Size, "tier": Tier, "vip_grade": VipGrade,
                           "status": Status, "decision_role": DecisionRole,
                           "preferred_channel": Channel}


@cache
def _choice_index(name: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for key, label in CHOICES[name].choices:
                index[normalize.fold(str(label)).casefold()] = str(key)
    index.update(SYNONYMS.get(name, {}))
    return index


def choice_value(name: str, raw: str) -> str:
    """A choice cell as its stored value when it is a label (English or Chinese) or a
    common synonym; otherwise as given, for the service to accept or refuse."""
    if name not in CHOICES or not raw:
        return raw
    return _choice_index(name).get(normalize.fold(raw).casefold(), raw)


def split_values(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT_RE.split(text or "") if part.strip()]
