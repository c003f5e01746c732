"""Normalisation of customer and contact fields: phones, emails, names, search text.

Shared by services, imports and search so that every door agrees on what a value is.
Messages are translatable and name the field they belong to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from kehu.core import phones
from kehu.core.exceptions import ValidationFailed
from kehu.customers.models import PhoneKind

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PUNCT_RE = re.compile(r"[\s\W_]+", re.UNICODE)

# Legal-form and branch suffixes that do not tell two companies apart (longest first).
NAME_SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "子公司", "总公司",
    "集团", "公司", "股份", " company limited", " limited", " ltd", " inc", " corporation",
    " corp", " group", " company", " co",
)


def fold(text: str | None) -> str:
    """NFKC (full-width to half-width), collapsed spaces, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def name_key(name: str) -> str:
    """The name without punctuation, spacing and legal suffixes: duplicate detection's key.

    ``中国电信股份有限公司北京分公司`` → ``中国电信北京``; brackets such as （北京） are kept
    as their content.
    """
    text = fold(name).lower()
    changed = True
    while changed:
        changed = False
        stripped = text.rstrip(" .,()（）")
        for suffix in NAME_SUFFIXES:
            if stripped.endswith(suffix) and len(stripped) > len(suffix):
                text, changed = stripped[: -len(suffix)], True
                break
    # Branch names: "X股份有限公司北京分公司" — drop the inner legal form as well.
    for suffix in NAME_SUFFIXES[:4]:
        text = text.replace(suffix, "")
    return _PUNCT_RE.sub("", text)


# ---------------------------------------------------------------------------- phones


def parse_phone(raw: str, field: str = "phones") -> dict[str, str]:
    """One phone as ``{"number", "kind", "ext"}`` (``kehu.core.phones`` reads it)."""
    try:
        phone = phones.parse(raw)
    except phones.InvalidPhone:
        raise ValidationFailed(fields={field: [
            _("“%(value)s” is not a valid phone number.") % {"value": raw}]}) from None
    return {"number": phone.number, "kind": phone.kind, "ext": phone.ext}


def clean_phones(values: Iterable[Any] | None, field: str = "phones") -> list[dict[str, str]]:
    """Phones from strings or ``{"number", "kind", "ext"}`` dicts; duplicates dropped."""
    result: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for value in values or []:
        if isinstance(value, dict):
            raw = str(value.get("number") or "")
            if value.get("ext"):
                raw = f"{raw} 转{value['ext']}"
        else:
            raw = str(value or "")
        if not raw.strip():
            continue
        phone = parse_phone(raw, field)
        if isinstance(value, dict) and value.get("kind") in PhoneKind.values:
            phone["kind"] = str(value["kind"])
        key = (phone["number"], phone["ext"])
        if key not in seen:
            seen.add(key)
            result.append(phone)
    return result


def phone_digits(phones: list[dict[str, str]]) -> str:
    return " ".join(p["number"].lstrip("+") for p in phones)


def query_digits(text: str) -> str | None:
    """A search query that is a phone number or fragment, as digits; else None."""
    folded = fold(text)
    if not re.fullmatch(r"[+\d][\d\s\-()]*", folded):
        return None
    digits = re.sub(r"\D", "", folded)
    if folded.startswith("+86") or (digits.startswith("86") and len(digits) == 13):
        digits = digits[2:]
    return digits or None


# ---------------------------------------------------------------------------- others


def clean_emails(values: Iterable[Any] | None, field: str = "emails") -> list[str]:
    result: list[str] = []
    for value in values or []:
        text = fold(str(value or "")).lower()
        if not text:
            continue
        try:
            validate_email(text)
        except DjangoValidationError:
            raise ValidationFailed(fields={field: [
                _("“%(value)s” is not a valid email address.") % {"value": value}]}) from None
        if text not in result:
            result.append(text)
    return result


def clean_email(value: Any, field: str = "email") -> str:
    emails = clean_emails([value], field)
    return emails[0] if emails else ""


def clean_website(value: Any, field: str = "website") -> str:
    text = fold(str(value or ""))
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    try:
        URLValidator(schemes=["http", "https"])(text)
    except DjangoValidationError:
        raise ValidationFailed(fields={field: [_("Enter a valid web address.")]}) from None
    return text[:200]


# ---------------------------------------------------------------------------- search


def pinyin_forms(text: str) -> tuple[str, str]:
    """Full pinyin and initials of ``text`` (other characters kept): 中国电信 →
    (zhongguodianxin, zgdx). One pypinyin call per Chinese run (phrase-aware, so 银行 is
    yinhang): the initials are the first letters of its syllables."""
    if not _CJK_RE.search(text):
        return "", ""
    full: list[str] = []
    initials: list[str] = []
    position = 0
    for match in _CJK_RE.finditer(text):
        other = text[position:match.start()]
        full.append(other)
        initials.append(other)
        syllables = lazy_pinyin(match.group())
        full.extend(syllables)
        initials.extend(syllable[:1] for syllable in syllables)
        position = match.end()
    full.append(text[position:])
    initials.append(text[position:])
    return (_PUNCT_RE.sub("", "".join(full).lower()),
            _PUNCT_RE.sub("", "".join(initials).lower()))


def _grams_of(name: str, initials: str, found: dict[str, None]) -> None:
    for run in _CJK_RE.findall(name):
        for i, char in enumerate(run):
            found[char] = None
            if i + 1 < len(run):
                found[run[i:i + 2]] = None
    for i in range(len(initials) - 1):
        found[initials[i:i + 2]] = None


def grams(texts: Iterable[str]) -> str:
    """Single characters and pairs of each Chinese run, plus letter pairs of pinyin
    initials: the index entries that serve one- and two-character queries."""
    found: dict[str, None] = {}
    for text in texts:
        folded = fold(text)
        _grams_of(folded, pinyin_forms(folded)[1], found)
    return " ".join(found)


def search_document(names: Iterable[str], others: Iterable[str]) -> tuple[str, str]:
    """``(search_text, search_grams)`` for a record with these names and other
    searchable values (codes, phone digits)."""
    parts: list[str] = []
    found: dict[str, None] = {}
    for name in (fold(n) for n in names if n):
        full, initials = pinyin_forms(name)
        parts.extend(p for p in (name.lower(), full, initials) if p)
        _grams_of(name, initials, found)
    parts.extend(fold(o).lower() for o in others if o)
    return "|".join(dict.fromkeys(parts)), " ".join(found)
