"""Deterministic, realistic benchmark data: one tenant with its org tree, users, customers,
contacts and their links, written through the fastest safe path.

Everything random comes from one ``random.Random(seed)``, so the same seed and scale give
the same rows (the encrypted ID numbers differ byte for byte because Fernet uses a random
IV, but decrypt to the same numbers). Derived columns are computed by the product's own
functions (``normalize.search_document``, ``normalize.name_key``, ``quality.assess``,
``crypto``), exactly as ``services.refresh_derived`` would.

Rows are written with PostgreSQL ``COPY`` (psycopg 3) or, on SQLite, ``executemany`` in
one transaction; the FTS5 search tables fill through the migration's triggers and the
PostgreSQL GIN indexes update during the COPY.

Interactions (calls, visits, meetings…) are spread over the customers, about
``Scale.interactions_per_customer`` each, and one customer (the first group's root) gets
exactly ``HEAVY_INTERACTIONS`` of them for the unified-view workload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction

from kehu.activities.models import (
    Channel,
    Direction,
    Interaction,
    InteractionContact,
    InteractionKind,
)
from kehu.core import crypto, identifiers, pii
from kehu.core.models import OrgUnit, Role, Tenant, User, UserRole
from kehu.core.services import tenants as tenant_services
from kehu.customers import normalize, quality, reference
from kehu.customers.models import (
    Contact,
    Customer,
    CustomerContact,
    CustomerTag,
    DecisionRole,
    Kind,
    Size,
    Status,
    StatusChange,
    Tag,
    Tier,
    VipGrade,
)

BENCH_PASSWORD = "Kehu-bench-pass-2026"  # noqa: S105 -- the bench tenant's admin, documented
DEFAULT_TENANT = "基准测试集团"
CHUNK = 5000
# A fixed "now" keeps dates deterministic across runs.
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    provinces: int
    cities_per_province: int  # 0: every prefecture of the province
    teams_per_city: int
    reps_per_team: int
    import_rows: int  # rows of the import workload's CSV
    contacts_per_customer: float = 2.0
    interactions_per_customer: float = 5.0


SCALES: dict[str, Scale] = {
    # The unit tests' scale: a few hundred rows, a second or two.
    "tiny": Scale("tiny", 300, provinces=3, cities_per_province=2, teams_per_city=1,
                  reps_per_team=2, import_rows=200, interactions_per_customer=2.0),
    "S": Scale("S", 10_000, provinces=31, cities_per_province=0, teams_per_city=1,
               reps_per_team=2, import_rows=10_000),
    "M": Scale("M", 1_000_000, provinces=31, cities_per_province=0, teams_per_city=3,
               reps_per_team=5, import_rows=100_000),
    "L": Scale("L", 10_000_000, provinces=31, cities_per_province=0, teams_per_city=6,
               reps_per_team=10, import_rows=100_000),
}


# ---------------------------------------------------------------------------- vocabulary

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
            "蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
            "雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文博子轩浩然"
         "欣怡梓涵雨萱宇轩一诺思远晨阳佳怡俊杰嘉怡欣然天宇诗涵晓东海燕春梅红霞玉兰立新")
BRANDS = ("华信", "恒通", "中科", "金鼎", "远航", "博达", "创新", "鑫源", "天成", "汇丰", "永盛",
          "东方", "长城", "海纳", "宏图", "瑞丰", "盛世", "龙腾", "腾达", "新元", "万象", "星辰",
          "鼎盛", "联创", "华宇", "安泰", "德润", "嘉禾", "正泰", "力拓", "卓越", "中天", "明珠",
          "凯旋", "盈科", "振华", "光明", "同创", "融通", "锦程", "信达", "和谐", "天润", "九州",
          "云帆", "百川", "飞扬", "启明", "晶科", "银河", "朗润", "泰康", "昊天", "蓝海", "智远")
INDUSTRY_WORDS = (
    ("科技", "65"), ("信息技术", "65"), ("网络技术", "64"), ("通信", "63"), ("电子", "39"),
    ("建设工程", "48"), ("建筑", "47"), ("物流", "58"), ("运输", "54"), ("贸易", "51"),
    ("商贸", "52"), ("医药", "27"), ("生物科技", "73"), ("能源", "44"), ("电力", "44"),
    ("化工", "26"), ("机械制造", "34"), ("汽车", "36"), ("食品", "14"), ("农业发展", "01"),
    ("房地产开发", "70"), ("物业管理", "70"), ("金融服务", "69"), ("投资", "72"),
    ("文化传媒", "86"), ("教育咨询", "83"), ("环保", "77"), ("新材料", "30"), ("纺织", "17"),
    ("酒店管理", "61"),
)
LEGAL_SUFFIXES = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司")
GOV_BODIES = ("人民医院", "中医院", "教育局", "第一中学", "实验小学", "税务局", "公安局",
              "人力资源和社会保障局", "交通运输局", "卫生健康委员会", "政务服务中心", "图书馆")
TITLES = ("总经理", "副总经理", "信息中心主任", "采购经理", "财务总监", "技术总监", "办公室主任",
          "IT经理", "运维工程师", "行政主管", "董事长", "项目经理")
DEPARTMENTS = ("总经办", "信息中心", "采购部", "财务部", "技术部", "办公室", "运维部", "行政部")
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "长江路", "滨江大道",
         "科技园路", "高新大道", "创业路", "迎宾大道")
TAGS = ("战略客户", "重点跟进", "续约风险", "新签约", "政企", "5G专网", "云服务", "信用良好")
LANDLINE_AREAS = ("010", "020", "021", "022", "023", "024", "025", "027", "028", "029",
                  "0571", "0755", "0531", "0371", "0731", "0591")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                   "151", "152", "155", "157", "158", "159", "166", "173", "177", "180",
                   "181", "185", "186", "187", "188", "189", "191", "199")

KIND_WEIGHTS = ((Kind.ENTERPRISE, 85), (Kind.GOVERNMENT, 5), (Kind.INDIVIDUAL, 10))
STATUS_WEIGHTS = ((Status.POTENTIAL, 30), (Status.CUSTOMER, 35), (Status.REPEAT, 12),
                  (Status.SUPPORTER, 6), (Status.LOYAL, 5), (Status.DORMANT, 7),
                  (Status.CHURNED, 4), (Status.BLACKLISTED, 1))
TIER_WEIGHTS = ((Tier.PROVINCE, 5), (Tier.LOCAL, 15), (Tier.ORDINARY, 80))
VIP_WEIGHTS = (("", 80), (VipGrade.SILVER, 10), (VipGrade.GOLD, 6), (VipGrade.PLATINUM, 3),
               (VipGrade.DIAMOND, 1))
SIZE_WEIGHTS = ((Size.MICRO, 20), (Size.SMALL, 40), (Size.MEDIUM, 25), (Size.LARGE, 10),
                (Size.GIANT, 5))


def _weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _w in table], [w for _v, w in table])[0]


def tenant_slug(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def persona_email(tenant_name: str, key: str) -> str:
    """Deterministic e-mails let workloads find the generated personas again."""
    return f"{key}@b{tenant_slug(tenant_name)}.bench.test"


# ---------------------------------------------------------------------------- identifiers


def make_uscc(rng: random.Random, region_code: str, government: bool = False) -> str:
    """A credit code with a correct GB 32100 check character: registry 9 (industry and
    commerce) or 1 (government bodies), class, region, 9-character organisation code."""
    alphabet = identifiers.USCC_ALPHABET
    head = ("11" if government else "9" + rng.choice("123")) + region_code
    body = "".join(rng.choice(alphabet[:10] if i < 8 else alphabet) for i in range(9))
    first17 = head + body
    return first17 + identifiers.uscc_check_char(first17)


def make_id_number(rng: random.Random, county_code: str, born: dt.date, male: bool) -> str:
    """A resident ID number with a correct GB 11643 check character."""
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{county_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + identifiers.id_check_char(first17)


def make_mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def make_landline(rng: random.Random) -> str:
    # Every area code listed has eight-digit local numbers starting 2–8.
    return rng.choice(LANDLINE_AREAS) + str(rng.randint(2, 8)) + f"{rng.randrange(10**7):07d}"


def phone(number: str, kind: str, ext: str = "") -> dict[str, str]:
    """The stored shape ``normalize.parse_phone`` produces."""
    return {"number": number, "kind": kind, "ext": ext}


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def birth_date(rng: random.Random, youngest: int = 22, oldest: int = 70) -> dt.date:
    days = rng.randint(youngest * 365, oldest * 365)
    return (EPOCH - dt.timedelta(days=days)).date()


# ---------------------------------------------------------------------------- org tree


@dataclass
class Team:
    unit_id: int
    path: str
    city_unit_id: int
    province_unit_id: int
    region_code: str  # the city's
    province_code: str
    rep_ids: list[int]
    city_manager_id: int


@dataclass
class BenchWorld:
    """What the workloads need to find again in a generated tenant."""

    tenant_id: int
    tenant_name: str
    hq_unit_id: int
    admin_id: int
    hq_manager_id: int
    province_units: list[int]
    province_manager_ids: list[int]
    teams: list[Team] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, tenant_name: str = DEFAULT_TENANT) -> BenchWorld:
        tenant = Tenant.objects.get(name_key=Tenant.key_for(tenant_name))
        admin = User.objects.get(email=persona_email(tenant_name, "admin"))
        hq_manager = User.objects.get(email=persona_email(tenant_name, "hq"))
        provinces = list(OrgUnit.objects.filter(tenant=tenant, kind=OrgUnit.Kind.PROVINCE)
                         .order_by("pk").values_list("pk", flat=True))
        managers = dict(User.objects.filter(tenant=tenant, org_unit_id__in=provinces,
                                            email__startswith="pm").values_list("org_unit_id",
                                                                                 "pk"))
        units = {u.pk: u for u in OrgUnit.objects.filter(tenant=tenant)}
        members: dict[int, list[int]] = {}
        city_managers: dict[int, int] = {}
        for pk, unit_id, email in User.objects.filter(tenant=tenant).order_by("pk") \
                .values_list("pk", "org_unit_id", "email"):
            if email.startswith("am"):
                members.setdefault(unit_id, []).append(pk)
            elif email.startswith("cm"):
                city_managers[unit_id] = pk
        teams = []
        for unit in sorted(units.values(), key=lambda u: u.pk):
            if unit.kind != OrgUnit.Kind.TEAM or unit.parent_id is None:
                continue
            city = units[unit.parent_id]
            province = units[city.parent_id] if city.parent_id else city
            teams.append(Team(unit_id=unit.pk, path=unit.path, city_unit_id=city.pk,
                              province_unit_id=province.pk, region_code=city.code,
                              province_code=province.code, rep_ids=members.get(unit.pk, []),
                              city_manager_id=city_managers.get(city.pk, admin.pk)))
        return cls(tenant_id=tenant.pk, tenant_name=tenant_name,
                   hq_unit_id=admin.org_unit_id, admin_id=admin.pk,
                   hq_manager_id=hq_manager.pk, province_units=provinces,
                   province_manager_ids=[managers[p] for p in provinces if p in managers],
                   teams=teams,
                   counts={"customers": Customer.objects.filter(tenant=tenant).count()})


def _pick_cities(scale: Scale, province: reference.Region) -> list[reference.Region]:
    children = reference.region_children(province.code)
    municipality = bool(children) and children[0].level == 3
    # A municipality's cities are its first districts (Beijing, Shanghai, Tianjin, Chongqing).
    children = children[:4] if municipality else [c for c in children if c.level == 2]
    if scale.cities_per_province:
        children = children[:scale.cities_per_province]
    return children


def _role_ids(tenant: Tenant) -> dict[str, int]:
    return dict(Role.objects.filter(tenant=tenant).exclude(builtin_key="")
                .values_list("builtin_key", "pk"))


def build_org(scale: Scale, tenant_name: str, rng: random.Random,
              say: Callable[[str], None]) -> BenchWorld:
    """The tenant (through the real sign-up service), then units and users in bulk."""
    started = time.perf_counter()
    tenant, admin = tenant_services.tenant_signup(
        company_name=tenant_name, admin_name="基准管理员",
        email=persona_email(tenant_name, "admin"), password=BENCH_PASSWORD)
    hq = admin.org_unit
    roles = _role_ids(tenant)
    unusable = make_password(None)
    users: list[User] = []
    user_roles: list[tuple[int, str]] = []  # (index in users, role key)

    def add_user(key: str, name: str, unit: OrgUnit, role: str) -> int:
        users.append(User(tenant=tenant, org_unit=unit, email=persona_email(tenant_name, key),
                          full_name=name, password=unusable, phone=make_mobile(rng)))
        user_roles.append((len(users) - 1, role))
        return len(users) - 1

    def make_units(parent: OrgUnit, specs: list[tuple[str, str, str]]) -> list[OrgUnit]:
        units = OrgUnit.objects.bulk_create([
            OrgUnit(tenant=tenant, parent=parent, name=name, kind=kind, code=code,
                    depth=parent.depth + 1) for name, kind, code in specs])
        for unit in units:
            unit.path = f"{parent.path}{unit.pk}/"
        OrgUnit.objects.bulk_update(units, ["path"])
        return units

    add_user("hq", "总部经理", hq, "hq_manager")
    add_user("analyst", "总部分析员", hq, "analyst")
    provinces = reference.provinces()[:scale.provinces]
    province_units = make_units(hq, [(f"{p.name}公司", OrgUnit.Kind.PROVINCE, p.code)
                                     for p in provinces])
    team_specs: list[tuple[int, int, str, str, int]] = []  # unit index, city, codes, manager
    team_units: list[OrgUnit] = []
    for p_index, (province, p_unit) in enumerate(zip(provinces, province_units, strict=True)):
        add_user(f"pm{p_index:02d}", f"{province.name}经理", p_unit, "province_manager")
        cities = _pick_cities(scale, province)
        city_units = make_units(p_unit, [(f"{c.name}分公司", OrgUnit.Kind.CITY, c.code)
                                         for c in cities])
        for c_index, (city, c_unit) in enumerate(zip(cities, city_units, strict=True)):
            manager = add_user(f"cm{p_index:02d}{c_index:03d}", f"{city.name}经理", c_unit,
                               "city_manager")
            city_teams = make_units(c_unit, [(f"政企{t + 1}组", OrgUnit.Kind.TEAM, "")
                                             for t in range(scale.teams_per_city)])
            for t_index, t_unit in enumerate(city_teams):
                team_units.append(t_unit)
                team_specs.append((len(team_units) - 1, c_unit.pk, city.code, province.code,
                                   manager))
                for r in range(scale.reps_per_team):
                    add_user(f"am{p_index:02d}{c_index:03d}{t_index}{r}", person_name(rng),
                             t_unit, "account_manager")
    created = User.objects.bulk_create(users, batch_size=1000)
    UserRole.objects.bulk_create([UserRole(tenant_id=tenant.pk, user_id=created[i].pk,
                                           role_id=roles[key])
                                  for i, key in user_roles], batch_size=2000)
    by_unit: dict[int, list[int]] = {}
    for user in created:
        if user.email.split("@")[0].startswith("am"):
            by_unit.setdefault(user.org_unit_id, []).append(user.pk)
    province_of = {u.pk: p.code for u, p in zip(province_units, provinces, strict=True)}
    teams = []
    for index, city_unit_id, city_code, province_code, manager in team_specs:
        unit = team_units[index]
        p_unit_id = int(unit.path.strip("/").split("/")[1])
        assert province_of[p_unit_id] == province_code
        teams.append(Team(unit_id=unit.pk, path=unit.path, city_unit_id=city_unit_id,
                          province_unit_id=p_unit_id, region_code=city_code,
                          province_code=province_code, rep_ids=by_unit.get(unit.pk, []),
                          city_manager_id=created[manager].pk))
    managers = [u.pk for u in created if u.email.startswith("pm")]
    n_cities = len({spec[1] for spec in team_specs})
    say(f"org: {len(province_units)} provinces, {n_cities} cities, {len(team_specs)} teams, "
        f"{len(created) + 1} users in {time.perf_counter() - started:.1f}s")
    return BenchWorld(tenant_id=tenant.pk, tenant_name=tenant_name, hq_unit_id=hq.pk,
                      admin_id=admin.pk, hq_manager_id=created[0].pk,
                      province_units=[u.pk for u in province_units],
                      province_manager_ids=managers, teams=teams)


# ---------------------------------------------------------------------------- loading


def _next_id(model: type[models.Model]) -> int:
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
    return int(top or 0) + 1


class Loader:
    """Bulk writer: COPY on PostgreSQL, executemany on SQLite; values converted once per
    column from the model's field types."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.vendor = connection.vendor
        self.loaded: dict[str, int] = {}

    def _converter(self, f: models.Field) -> Callable[[Any], Any]:
        internal = f.get_internal_type()
        if internal == "JSONField":
            return lambda v: json.dumps(v, ensure_ascii=False)
        if self.vendor == "sqlite":
            if internal == "DateTimeField":
                return lambda v: None if v is None else \
                    v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
            if internal == "DateField":
                return lambda v: None if v is None else v.isoformat()
            if internal == "BooleanField":
                return lambda v: int(v)
        return lambda v: v

    def load(self, model: type[models.Model], rows: Iterable[dict[str, Any]],
             total: int | None = None) -> int:
        table = model._meta.db_table
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return 0
        # Every column is written (Django keeps defaults in Python, not in the schema),
        # except an auto id the rows do not give.
        fields = [f for f in model._meta.concrete_fields
                  if not (f.primary_key and f.attname not in first)]
        columns = [str(f.column) for f in fields]
        plan = [(f.attname, self._converter(f),
                 f.get_default() if f.attname not in first else None) for f in fields]

        def values(row: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(convert(row[name]) if name in row else convert(default)
                         for name, convert, default in plan)

        started = last = time.perf_counter()
        count = 0
        column_list = ", ".join(columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if self.vendor == "postgresql":
                with raw.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                    for row in _chain(first, iterator):
                        copy.write_row(values(row))
                        count += 1
                        if count % 50_000 == 0 and time.perf_counter() - last > 2:
                            last = time.perf_counter()
                            self._progress(table, count, total, started)
            else:
                sql = (f"INSERT INTO {table} ({column_list}) "  # noqa: S608 -- model names
                       f"VALUES ({', '.join('?' * len(columns))})")
                batch: list[tuple[Any, ...]] = []
                for row in _chain(first, iterator):
                    batch.append(values(row))
                    count += 1
                    if len(batch) >= CHUNK:
                        raw.executemany(sql, batch)
                        batch = []
                        if time.perf_counter() - last > 2:
                            last = time.perf_counter()
                            self._progress(table, count, total, started)
                if batch:
                    raw.executemany(sql, batch)
        self._progress(table, count, total, started, done=True)
        self.loaded[table] = self.loaded.get(table, 0) + count
        return count

    def _progress(self, table: str, count: int, total: int | None, started: float,
                  done: bool = False) -> None:
        elapsed = max(time.perf_counter() - started, 1e-6)
        of = f"/{total:,}" if total and not done else ""
        self.say(f"  {table}: {count:,}{of} rows, {count / elapsed:,.0f} rows/s"
                 + (f" ({elapsed:.1f}s)" if done else ""))

    def finish(self, touched: list[type[models.Model]]) -> None:
        """Sequences past the explicit ids, fresh planner statistics."""
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), touched):
                cursor.execute(sql)
            cursor.execute("ANALYZE")


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


# ---------------------------------------------------------------------------- customers


@dataclass(slots=True)
class CustomerPlan:
    """One generated customer, before its row is written (contacts need a few fields)."""

    id: int
    kind: str
    name: str
    team: Team
    owner_id: int
    org_unit_id: int
    contacts: int
    group_root: int | None


class CustomerFactory:
    """Streams customer rows (and the facts their contacts need) in id order, so group
    hierarchies get their materialised paths without a second pass."""

    def __init__(self, scale: Scale, world: BenchWorld, rng: random.Random, first_id: int,
                 tag_ids: list[int]) -> None:
        self.scale, self.world, self.rng = scale, world, rng
        self.next_id = self.first_id = first_id
        self.tag_ids = tag_ids
        self.plans: list[CustomerPlan] = []
        self.tag_rows: list[dict[str, Any]] = []
        self.status_rows: list[dict[str, Any]] = []
        self.counties: dict[str, list[str]] = {}

    def county(self, city_code: str) -> str:
        if city_code not in self.counties:
            children = [c.code for c in reference.region_children(city_code)]
            self.counties[city_code] = children or [city_code]
        return self.rng.choice(self.counties[city_code])

    def _short_place(self, code: str) -> str:
        found = reference.region(code)
        name = found.name if found else ""
        for suffix in ("特别行政区", "自治区", "自治州", "地区", "省", "市", "区", "县", "盟"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                return name[: -len(suffix)]
        return name

    def rows(self) -> Iterator[dict[str, Any]]:
        n = self.scale.customers
        produced = 0
        while produced < n:
            if self.rng.random() < 0.02 and n - produced > 5:
                size = min(n - produced, self.rng.randint(4, 25))
                yield from self._group(size)
                produced += size
            else:
                yield self._single()
                produced += 1

    def _team(self) -> Team:
        return self.rng.choice(self.world.teams)

    def _group(self, size: int) -> Iterator[dict[str, Any]]:
        brand = self.rng.choice(BRANDS) + self.rng.choice(BRANDS)[0]
        word, industry = self.rng.choice(INDUSTRY_WORDS)
        home = self._team()
        root_id = self.next_id
        root = self._row(Kind.ENTERPRISE, f"{brand}{word}集团有限公司", home, industry,
                         parent=None, path=f"/{root_id}/", tier=Tier.GROUP,
                         short=f"{brand}{word}", contacts=self.rng.randint(5, 20),
                         root=root_id)
        yield root
        parents = [(root_id, root["hierarchy_path"])]
        for _ in range(size - 1):
            team = self._team()
            place = self._short_place(team.region_code)
            parent_id, parent_path = self.rng.choice(parents)
            cid = self.next_id
            branch = parent_id != root_id
            name = (f"{brand}{word}集团{place}分公司" if branch or self.rng.random() < 0.5
                    else f"{place}{brand}{word}有限公司")
            row = self._row(Kind.ENTERPRISE, name, team, industry, parent=parent_id,
                            path=f"{parent_path}{cid}/", tier=Tier.PROVINCE, short="",
                            root=root_id)
            yield row
            if len(parents) < 4 and not branch:
                parents.append((cid, row["hierarchy_path"]))

    def _single(self) -> dict[str, Any]:
        kind = _weighted(self.rng, KIND_WEIGHTS)
        team = self._team()
        place = self._short_place(team.region_code)
        cid = self.next_id
        if kind == Kind.INDIVIDUAL:
            return self._row(kind, person_name(self.rng), team, "", None, f"/{cid}/",
                             tier=Tier.ORDINARY, short="")
        if kind == Kind.GOVERNMENT:
            return self._row(kind, f"{place}市{self.rng.choice(GOV_BODIES)}", team, "92",
                             None, f"/{cid}/", tier=_weighted(self.rng, TIER_WEIGHTS),
                             short="")
        brand = self.rng.choice(BRANDS)
        word, industry = self.rng.choice(INDUSTRY_WORDS)
        name = f"{place}{brand}{word}{self.rng.choice(LEGAL_SUFFIXES)}"
        return self._row(kind, name, team, industry, None, f"/{cid}/",
                         tier=_weighted(self.rng, TIER_WEIGHTS), short=f"{brand}{word}")

    def _row(self, kind: str, name: str, team: Team, industry: str, parent: int | None,
             path: str, *, tier: str, short: str, contacts: int | None = None,
             root: int | None = None) -> dict[str, Any]:
        rng = self.rng
        cid = self.next_id
        self.next_id += 1
        ordinal = cid - self.first_id + 1  # ids depend on the database; content must not
        if team.rep_ids and rng.random() < 0.9:
            owner_id, unit_id = rng.choice(team.rep_ids), team.unit_id
        else:
            owner_id, unit_id = team.city_manager_id, team.city_unit_id
        county = self.county(team.region_code)
        organisation = kind != Kind.INDIVIDUAL
        uscc = make_uscc(rng, county, kind == Kind.GOVERNMENT) if organisation and \
            rng.random() < 0.9 else ""
        id_number = ""
        if not organisation and rng.random() < 0.85:
            id_number = make_id_number(rng, county, birth_date(rng), rng.random() < 0.5)
        phones: list[dict[str, str]] = []
        if rng.random() < 0.92:
            phones.append(phone(make_mobile(rng), "mobile") if not organisation or
                          rng.random() < 0.4 else
                          phone(make_landline(rng), "landline",
                                str(rng.randint(800, 8999)) if rng.random() < 0.1 else ""))
        if organisation and rng.random() < 0.3:
            phones.append(phone(make_mobile(rng), "mobile"))
        emails = [f"contact{ordinal}@{'corp' if organisation else 'mail'}.example.cn"] \
            if rng.random() < 0.5 else []
        place = reference.region(county)
        addresses = [{"kind": "registered",
                      "text": f"{place.full_name if place else ''}{rng.choice(ROADS)}"
                              f"{rng.randint(1, 999)}号"}] if rng.random() < 0.8 else []
        status = _weighted(rng, STATUS_WEIGHTS)
        created = EPOCH - dt.timedelta(days=rng.randint(1, 5 * 365),
                                       seconds=rng.randint(0, 86399))
        status_at = created + dt.timedelta(days=rng.randint(0, 300))
        n_contacts = contacts if contacts is not None else rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4))
        size = _weighted(rng, SIZE_WEIGHTS) if organisation and rng.random() < 0.8 else ""
        code = f"C{cid:08d}"
        digits = normalize.phone_digits(phones)[:500]
        search_text, search_grams = normalize.search_document([name, short],
                                                              [code, uscc, digits])
        facts = SimpleNamespace(kind=kind, uscc=uscc, id_number_hash="x" if id_number else "",
                                phones=phones, region=county, industry=industry,
                                addresses=addresses, emails=emails, short_name=short,
                                size=size, owner_id=owner_id)
        score, _failed = quality.assess(cast(Customer, facts), n_contacts > 0)
        self.plans.append(CustomerPlan(cid, kind, name, team, owner_id, unit_id, n_contacts,
                                       root))
        self.status_rows.append({"tenant_id": self.world.tenant_id, "customer_id": cid,
                                 "from_status": "", "to_status": status, "reason": "",
                                 "actor_id": owner_id, "changed_at": status_at})
        if rng.random() < 0.15:
            for tag in rng.sample(self.tag_ids, rng.randint(1, 2)):
                self.tag_rows.append({"tenant_id": self.world.tenant_id, "customer_id": cid,
                                      "tag_id": tag})
        return {
            "id": cid, "tenant_id": self.world.tenant_id, "org_unit_id": unit_id,
            "owner_id": owner_id, "created_at": created, "updated_at": status_at,
            "version": 1, "kind": kind, "name": name, "short_name": short, "code": code,
            "uscc": uscc, "id_number_encrypted": crypto.encrypt(id_number),
            "id_number_hash": crypto.blind_hash(id_number),
            "id_number_masked": pii.mask_id_number(id_number) if id_number else "",
            "industry": industry, "region": county, "size": size, "addresses": addresses,
            "phones": phones, "phone_digits": digits, "emails": emails,
            "website": f"https://www.c{ordinal}.example.cn" if organisation and
            rng.random() < 0.3 else "",
            "tier": tier, "vip_grade": _weighted(rng, VIP_WEIGHTS), "status": status,
            "status_changed_at": status_at,
            "consent": {"call": True, "sms": rng.random() < 0.6, "email": bool(emails)},
            "notes": "", "parent_id": parent, "hierarchy_path": path, "merged_into_id": None,
            "name_key": normalize.name_key(name), "quality_score": score,
            "search_text": search_text, "search_grams": search_grams,
        }


def contact_rows(plans: list[CustomerPlan], world: BenchWorld, rng: random.Random,
                 first_id: int, links: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Contacts of each planned customer; one in twenty people of a group member also
    sits at the group's root (a person can be a contact of several customers)."""
    cid = first_id
    for plan in plans:
        for n in range(plan.contacts):
            name = person_name(rng)
            mobile = make_mobile(rng)
            phones = [phone(mobile, "mobile")]
            if rng.random() < 0.2:
                phones.append(phone(make_landline(rng), "landline",
                                    str(rng.randint(800, 8999))))
            email = f"p{cid - first_id + 1}@corp.example.cn" if rng.random() < 0.6 else ""
            wechat = f"wx_{mobile[-6:]}{n}" if rng.random() < 0.5 else ""
            digits = normalize.phone_digits(phones)[:500]
            search_text, search_grams = normalize.search_document([name],
                                                                  [digits, email, wechat])
            created = EPOCH - dt.timedelta(days=rng.randint(1, 1500))
            yield {
                "id": cid, "tenant_id": world.tenant_id, "org_unit_id": plan.org_unit_id,
                "owner_id": plan.owner_id, "created_at": created, "updated_at": created,
                "version": 1, "name": name, "gender": rng.choice(("male", "female", "")),
                "phones": phones, "phone_digits": digits, "email": email, "wechat": wechat,
                "preferred_channel": rng.choice(("call", "wechat", "email", "")),
                "birthday": birth_date(rng, 25, 60) if rng.random() < 0.4 else None,
                "notes": "", "search_text": search_text, "search_grams": search_grams,
            }
            links.append({"tenant_id": world.tenant_id, "customer_id": plan.id,
                          "contact_id": cid, "title": rng.choice(TITLES),
                          "department": rng.choice(DEPARTMENTS),
                          "decision_role": rng.choice(DecisionRole.values),
                          "is_primary": n == 0, "created_at": created})
            if plan.group_root and plan.group_root != plan.id and rng.random() < 0.05:
                links.append({"tenant_id": world.tenant_id, "customer_id": plan.group_root,
                              "contact_id": cid, "title": rng.choice(TITLES),
                              "department": "集团对接", "decision_role": "influencer",
                              "is_primary": False, "created_at": created})
            cid += 1


# ---------------------------------------------------------------------------- interactions

# The unified-view workload's customer has this many interactions (issue 5: 1,000).
HEAVY_INTERACTIONS = 1000
KIND_MIX = ((InteractionKind.CALL, 40), (InteractionKind.VISIT, 20),
            (InteractionKind.MEETING, 8), (InteractionKind.EMAIL, 10),
            (InteractionKind.SMS, 5), (InteractionKind.WECHAT, 12), (InteractionKind.NOTE, 5))
CHANNEL_OF = {InteractionKind.CALL: Channel.PHONE, InteractionKind.VISIT: Channel.FACE_TO_FACE,
              InteractionKind.MEETING: Channel.FACE_TO_FACE,
              InteractionKind.EMAIL: Channel.EMAIL, InteractionKind.SMS: Channel.SMS,
              InteractionKind.WECHAT: Channel.WECHAT, InteractionKind.NOTE: Channel.OTHER}
TOPICS = ("专线扩容", "5G专网方案", "云服务续约", "宽带提速", "话费账单核对", "物联网卡采购",
          "IDC机房参观", "故障回访", "年度合作洽谈", "集团短信服务", "视频会议系统", "网络安全评估")
SUBJECTS = {InteractionKind.CALL: "电话沟通{}", InteractionKind.VISIT: "上门拜访：{}",
            InteractionKind.MEETING: "{}项目会议", InteractionKind.EMAIL: "发送{}资料",
            InteractionKind.SMS: "短信提醒{}", InteractionKind.WECHAT: "微信沟通{}",
            InteractionKind.NOTE: "备注：{}"}
OUTCOMES = ("客户有意向", "需要再次跟进", "已发送报价", "客户暂无需求", "约定下周面谈", "")


def interaction_rows(plans: list[CustomerPlan], world: BenchWorld, rng: random.Random,
                     first_id: int, per_customer: float, first_contact: dict[int, int],
                     contact_links: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """About ``per_customer`` interactions per customer over the two years before EPOCH,
    by the customer's owner; half name the customer's primary contact."""
    iid = first_id
    heavy = next((p.id for p in plans if p.group_root == p.id), plans[0].id if plans else None)
    top = max(1, round(per_customer * 2))
    for plan in plans:
        n = HEAVY_INTERACTIONS if plan.id == heavy else rng.randint(0, top)
        contact_id = first_contact.get(plan.id)
        for _ in range(n):
            kind = _weighted(rng, KIND_MIX)
            at = EPOCH - dt.timedelta(minutes=rng.randint(1, 730 * 24 * 60))
            topic = rng.choice(TOPICS)
            yield {
                "id": iid, "tenant_id": world.tenant_id, "org_unit_id": plan.org_unit_id,
                "owner_id": plan.owner_id, "created_at": at, "updated_at": at, "version": 1,
                "kind": kind, "channel": CHANNEL_OF[kind],
                "direction": Direction.INBOUND if rng.random() < 0.2 else Direction.OUTBOUND,
                "occurred_at": at,
                "duration_minutes": rng.randint(2, 120) if kind != InteractionKind.NOTE
                else None,
                "customer_id": plan.id, "subject": SUBJECTS[kind].format(topic),
                "content": f"与客户沟通{topic}相关事宜，记录要点并安排后续。",
                "outcome": rng.choice(OUTCOMES), "next_step": "", "created_by_id": plan.owner_id,
            }
            if contact_id is not None and rng.random() < 0.5:
                contact_links.append({"tenant_id": world.tenant_id, "interaction_id": iid,
                                      "contact_id": contact_id})
            iid += 1


# ---------------------------------------------------------------------------- entry point


def generate(scale: Scale | str, seed: int = 1, tenant_name: str = DEFAULT_TENANT,
             say: Callable[[str], None] | None = None) -> BenchWorld:
    """Write one benchmark tenant into the current database."""
    scale = SCALES[scale] if isinstance(scale, str) else scale
    echo: Callable[[str], None] = say or (lambda text: print(text, file=sys.stderr))
    rng = random.Random(seed)  # noqa: S311 -- reproducible data, not secrets
    started = time.perf_counter()
    loader = Loader(echo)
    with transaction.atomic():
        world = build_org(scale, tenant_name, rng, echo)
        tags = Tag.objects.bulk_create([Tag(tenant_id=world.tenant_id, name=name)
                                        for name in TAGS])
        factory = CustomerFactory(scale, world, rng, _next_id(Customer), [t.pk for t in tags])
        echo(f"customers ({scale.customers:,}):")
        n_customers = loader.load(Customer, factory.rows(), scale.customers)
        loader.load(StatusChange, factory.status_rows)
        loader.load(CustomerTag, factory.tag_rows)
        expected = sum(p.contacts for p in factory.plans)
        links: list[dict[str, Any]] = []
        echo(f"contacts (~{expected:,}):")
        n_contacts = loader.load(Contact, contact_rows(factory.plans, world, rng,
                                                       _next_id(Contact), links), expected)
        n_links = loader.load(CustomerContact, links)
        first_contact = {link["customer_id"]: link["contact_id"] for link in links
                         if link["is_primary"]}
        del links
        expected_interactions = round(scale.interactions_per_customer * len(factory.plans))
        echo(f"interactions (~{expected_interactions:,}):")
        interaction_contacts: list[dict[str, Any]] = []
        n_interactions = loader.load(
            Interaction, interaction_rows(factory.plans, world, rng, _next_id(Interaction),
                                          scale.interactions_per_customer, first_contact,
                                          interaction_contacts), expected_interactions)
        loader.load(InteractionContact, interaction_contacts)
        loader.finish([Customer, Contact, CustomerContact, StatusChange,
                       CustomerTag, Interaction, InteractionContact])
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # GIN indexes take a COPY into their pending list; searches scan that list until
        # a vacuum merges it (autovacuum would, later): merge it now, as after a quiet
        # night. (Inside a test's transaction VACUUM cannot run; ANALYZE has run.)
        started_vacuum = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Customer, Contact, CustomerContact, Interaction):
                cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
        echo(f"vacuum: {time.perf_counter() - started_vacuum:.1f}s")
    world.counts = {"customers": n_customers, "contacts": n_contacts, "contact_links": n_links,
                    "status_changes": len(factory.status_rows), "users": User.objects.filter(
                        tenant_id=world.tenant_id).count(),
                    "org_units": OrgUnit.objects.filter(tenant_id=world.tenant_id).count(),
                    "interactions": n_interactions}
    elapsed = time.perf_counter() - started
    echo(f"generated scale {scale.name} (seed {seed}) in {elapsed:.1f}s: "
         + ", ".join(f"{k} {v:,}" for k, v in world.counts.items()))
    world.counts["seconds"] = round(elapsed, 2)  # type: ignore[assignment]
    return world
