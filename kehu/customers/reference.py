"""Reference data for customers: administrative regions (GB/T 2260) and industries (GB/T 4754).

Both are read once from the JSON files in ``data/`` (see its README for sources and
refreshing) and kept in memory; nothing here touches the database.

Regions have three levels: 1 province, 2 prefecture, 3 county. Where the standard has a
placeholder between province and county (the 市辖区/县 of the four municipalities and the
省直辖县级行政区划 of Henan, Hubei, Hainan and Xinjiang), the data leaves it out, so
those counties' parent is the province itself: 110105 朝阳区's parent is 110000 北京市.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.utils import translation

DATA_DIR = Path(__file__).with_name("data")

# Names of intermediate entries that say nothing about the place (kept out of full_name).
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def _load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


# --- Regions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A province (level 1), prefecture (2) or county-level unit (3), by its 6-digit code."""

    code: str
    name: str
    level: int
    parent_code: str | None

    @property
    def full_name(self) -> str:
        """Ancestors' names and its own, province first: "广东省 深圳市 南山区"."""
        return " ".join(
            r.name for r in region_ancestors(self.code) if r.name not in PLACEHOLDER_NAMES
        ) or self.name

    def __str__(self) -> str:
        return self.full_name


@cache
def _regions() -> dict[str, Region]:
    data = _load("regions.json")
    return {
        code: Region(code=code, name=name, level=level, parent_code=parent)
        for code, name, level, parent in data["regions"]
    }


@cache
def _children() -> dict[str | None, list[Region]]:
    children: dict[str | None, list[Region]] = {}
    for r in sorted(_regions().values(), key=lambda r: r.code):
        children.setdefault(r.parent_code, []).append(r)
    return children


def region(code: str) -> Region | None:
    return _regions().get((code or "").strip())


def provinces() -> list[Region]:
    return list(_children()[None])


def region_children(code: str) -> list[Region]:
    """Direct children in code order; a municipality's are its districts and counties."""
    return list(_children().get((code or "").strip(), []))


@cache
def _ancestors(code: str) -> tuple[Region, ...]:
    regions = _regions()
    chain: list[Region] = []
    current = regions.get(code)
    while current is not None:
        chain.append(current)
        current = regions.get(current.parent_code) if current.parent_code else None
    return tuple(reversed(chain))


def region_ancestors(code: str) -> list[Region]:
    """The province first, the region itself last; empty for an unknown code."""
    return list(_ancestors((code or "").strip()))


def region_province_code(code: str) -> str | None:
    chain = _ancestors((code or "").strip())
    return chain[0].code if chain else None


# Ethnic groups as they appear in autonomous areas' names (自治区/州/县/旗), longest first
# so that 土家 is tried before 土. Stripping them gives the short name people use.
_ETHNIC_GROUPS = sorted(
    [
        "壮", "回", "维吾尔", "藏", "蒙古", "满", "苗", "彝", "土家", "布依",
        "侗", "瑶", "朝鲜", "白", "哈尼", "哈萨克", "黎", "傣", "畲", "傈僳",
        "仡佬", "东乡", "高山", "拉祜", "水", "佤", "纳西", "羌", "土", "仫佬",
        "锡伯", "柯尔克孜", "达斡尔", "景颇", "毛南", "撒拉", "布朗", "塔吉克",
        "阿昌", "普米", "鄂温克", "怒", "京", "基诺", "德昂", "保安", "俄罗斯",
        "裕固", "乌孜别克", "门巴", "鄂伦春", "独龙", "塔塔尔", "赫哲", "珞巴",
        "各",
    ],
    key=len,
    reverse=True,
)
_AUTONOMOUS_RE = re.compile(r"自治(?:区|州|县|旗)$")
_SUFFIXES = ("特别行政区", "地区", "林区", "特区", "新区", "省", "市", "区", "县", "旗", "盟")


def _short_name(name: str) -> str | None:
    """The name without its administrative suffix ("深圳市" → "深圳", "延边朝鲜族自治州" →
    "延边", "管城回族区" → "管城"), or None when that would leave fewer than two
    characters ("郊区", "赵县")."""
    stem = _AUTONOMOUS_RE.sub("", name)
    autonomous = stem != name
    if not autonomous:
        stem = next((stem[: -len(s)] for s in _SUFFIXES if stem.endswith(s)), stem)
    stripping = True
    while stripping:
        stripping = False
        for group in _ETHNIC_GROUPS:
            # Without 族 only in autonomous areas' names (巴音郭楞蒙古自治州) and only for
            # names of two or more characters, so that 白 or 水 is never cut off a name.
            tokens = [group + "族"] + ([group] if autonomous and len(group) > 1 else [])
            token = next((t for t in tokens if stem.endswith(t) and len(stem) > len(t) + 1), None)
            if token:
                stem = stem[: -len(token)]
                stripping = True
                break
    if stem.endswith("族") and stem[:-1] in _ETHNIC_GROUPS and len(stem) > 2:
        stem = stem[:-1]  # 东乡族自治县 → 东乡
    return stem if len(stem) >= 2 and stem != name else None


@cache
def _name_index() -> dict[str, list[tuple[Region, bool]]]:
    """Full and short names → [(region, matched the full name)]."""
    index: dict[str, list[tuple[Region, bool]]] = {}
    for r in _regions().values():
        if r.name in PLACEHOLDER_NAMES:
            continue
        index.setdefault(r.name, []).append((r, True))
        short = _short_name(r.name)
        if short:
            index.setdefault(short, []).append((r, False))
    return index


@cache
def _longest_name() -> int:
    return max(len(name) for name in _name_index())


_SEPARATORS_RE = re.compile(r"[\s,，、/\\|｜·•\-—_>＞()（）]+")
_FILLERS = ("省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划", "市辖区")
_COUNTRY_PREFIXES = ("中华人民共和国", "中国")
_MAX_TEXT = 80  # an address's region comes first; the rest of a long cell is not read

_Parse = tuple[int, tuple[Region, ...], tuple[bool, ...]]


def _parses(text: str) -> list[_Parse]:
    """Every way to read a prefix of text as a chain of names, each region inside the
    one before it (levels may be skipped): (characters read, regions, full-name flags)."""
    index = _name_index()
    longest = _longest_name()
    found: list[_Parse] = []
    seen: set[tuple[int, tuple[Region, ...], tuple[bool, ...]]] = set()

    def walk(pos: int, chain: tuple[Region, ...], full: tuple[bool, ...]) -> None:
        if (pos, chain, full) in seen:
            return
        seen.add((pos, chain, full))
        found.append((pos, chain, full))
        for filler in _FILLERS:
            if text.startswith(filler, pos):
                walk(pos + len(filler), chain, full)
        for end in range(min(len(text), pos + longest), pos + 1, -1):
            for candidate, is_full in index.get(text[pos:end], ()):
                if not chain:
                    walk(end, (candidate,), (is_full,))
                elif candidate == chain[-1]:
                    walk(end, chain, full)  # "上海 上海市 浦东新区": the repeat adds nothing
                elif chain[-1] in _ancestors(candidate.code):
                    walk(end, (*chain, candidate), (*full, is_full))

    walk(0, (), ())
    return found


def find_region(text: str) -> Region | None:
    """The region a person meant by text: a code ("440305") or names, with or without
    suffixes and separators ("深圳", "深圳市", "广东深圳南山", "广东省 深圳市 南山区").

    The reading that covers the most of the text wins (trailing text such as a street is
    ignored); None when nothing matches or the names fit several regions ("朝阳区" is in
    Beijing and in Changchun). A name shared by places of different levels means the
    larger ("海南" is the province, not 海南藏族自治州; "西安" the city, not 辽源's
    西安区). When same-level candidates share an ancestor that the text names ("江苏
    鼓楼" fits two districts of Jiangsu) that ancestor is the answer.
    """
    cleaned = _SEPARATORS_RE.sub("", (text or "").strip())
    cleaned = cleaned.translate({ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９"})
    if not cleaned:
        return None
    cleaned = cleaned[:_MAX_TEXT]
    if cleaned.isdigit():
        return region(cleaned) if len(cleaned) == 6 else None
    for prefix in _COUNTRY_PREFIXES:
        if cleaned.startswith(prefix) and len(cleaned) > len(prefix):
            cleaned = cleaned[len(prefix) :]
            break

    parses = [p for p in _parses(cleaned) if p[1]]
    if not parses:
        return None
    most = max(pos for pos, _, _ in parses)
    best = [p for p in parses if p[0] == most]
    # A full name ("吉林市") is a better reading than a short one for the same text.
    if any(full[-1] for _, _, full in best):
        best = [p for p in best if p[2][-1]]
    finals = {chain[-1] for _, chain, _ in best}
    # A name shared by places of different levels most often means the larger one.
    shallowest = min(r.level for r in finals)
    top = [r for r in finals if r.level == shallowest]
    if len(top) == 1:
        return top[0]

    paths = [_ancestors(r.code) for r in top]
    common: Region | None = None
    for step in zip(*paths, strict=False):
        if any(r != step[0] for r in step):
            break
        common = step[0]
    named = {r for _, chain, _ in best for r in chain}
    return common if common in named else None


# --- Industries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Industry:
    """A section (门类, code "A"–"T") or a division (大类, code "01"–"97") of GB/T 4754."""

    code: str
    name_zh: str
    name_en: str
    section: str

    @property
    def is_section(self) -> bool:
        return self.code == self.section

    @property
    def label(self) -> str:
        """The name in the active language: English for "en…", Chinese otherwise."""
        language = translation.get_language() or ""
        return self.name_en if language.lower().startswith("en") else self.name_zh

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


@cache
def _industries() -> dict[str, Industry]:
    data = _load("industries.json")
    entries = [Industry(code, zh, en, code) for code, zh, en in data["sections"]]
    entries += [Industry(code, zh, en, section) for code, zh, en, section in data["divisions"]]
    return {i.code: i for i in entries}


def industry(code: str) -> Industry | None:
    return _industries().get((code or "").strip().upper())


def industry_sections() -> list[Industry]:
    return [i for i in _industries().values() if i.is_section]


def industry_divisions(section: str | None = None) -> list[Industry]:
    wanted = section.strip().upper() if section else None
    return [
        i for i in _industries().values()
        if not i.is_section and (wanted is None or i.section == wanted)
    ]


def industry_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a select in the active language: one group per section, its
    first option the section itself, then its divisions ("63 电信、广播电视和卫星传输服务")."""
    return [
        (
            section.label,
            [(section.code, str(section))]
            + [(d.code, str(d)) for d in industry_divisions(section.code)],
        )
        for section in industry_sections()
    ]


_INDUSTRY_CODE_RE = re.compile(r"^([A-T])?(\d{1,4})?$")
_NAME_NOISE_RE = re.compile(r"[\s、,，;；/()（）\-]+")


def _fold(text: str) -> str:
    return _NAME_NOISE_RE.sub("", text).casefold()


def _resolve_industries(candidates: set[Industry]) -> Industry | None:
    """One division, or the section when several of its entries fit; None across sections."""
    sections = {i.section for i in candidates}
    if len(sections) != 1:
        return None
    divisions = [i for i in candidates if not i.is_section]
    if len(divisions) == 1:
        return divisions[0]
    return _industries()[sections.pop()]


def find_industry(text: str) -> Industry | None:
    """The industry text names, for imports: a code ("I", "63", "I63"; a group or class
    code such as "6311" gives its division), or a Chinese or English name, exact or
    partial ("软件" → 65). None when unknown or when names in several sections fit."""
    raw = (text or "").strip()
    if not raw:
        return None
    match = _INDUSTRY_CODE_RE.match(raw.upper())
    if match and (match.group(1) or match.group(2)):
        letter, digits = match.groups()
        if digits:
            # A spreadsheet may have dropped the leading zero: 1 is division 01.
            found = industry(digits.zfill(2)[:2])
            if found and (letter is None or found.section == letter):
                return found
            return None
        return industry(letter)

    folded = _fold(raw)
    if not folded:
        return None
    everything = list(_industries().values())
    exact = {i for i in everything if folded in (_fold(i.name_zh), _fold(i.name_en))}
    if exact:
        # Some divisions share their section's name (房地产业, 教育, 国际组织): the
        # division is the more precise answer.
        return _resolve_industries(exact)
    if len(folded) >= 2:
        within = {i for i in everything if folded in _fold(i.name_zh) or folded in _fold(i.name_en)}
        if within:
            return _resolve_industries(within)
    # The text contains a name ("软件和信息技术服务业（外包）"): the longest such names, if
    # they are most of the text ("体育用品制造" is not 体育).
    containing = [
        (len(name), i)
        for i in everything
        for name in (_fold(i.name_zh), _fold(i.name_en))
        if len(name) >= 2 and name in folded and 2 * len(name) >= len(folded)
    ]
    if not containing:
        return None
    longest = max(length for length, _ in containing)
    return _resolve_industries({i for length, i in containing if length == longest})
