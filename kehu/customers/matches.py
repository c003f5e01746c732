"""Why a search hit matched: the field, how, and its value with the match highlighted.

Computed from the hit's own columns (no query), in the order the search ranks
(kehu.customers.selectors.search). Values are escaped HTML with the match in ``<mark>``.
Masked values stay masked: a phone shows its mask (``138****4591``) and only characters
the mask shows are ever marked — for a phone *ending* with the query, the visible end
(the result already says the number ends with the digits searched); for a phone merely
*containing* it, nothing unless the whole match is visible, as marking a visible digit
next to hidden ones would tell where in the hidden part the rest of the query lies.
ID numbers and e-mail addresses show their mask unmarked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kehu.core import pii
from kehu.customers import normalize

FIELDS = {
    "name": _("Name"),
    "short_name": _("Short name"),
    "code": _("Customer code"),
    "uscc": _("Credit code"),
    "phone": _("Phone"),
    "id_number": _("ID number"),
    "pinyin": _("Pinyin or initials"),
    "email": _("Email"),
    "wechat": _("WeChat"),
    "other": _("Other names"),
}
HOWS = {
    "exact": _("is"),
    "starts": _("starts with the query"),
    "ends": _("ends with the digits searched"),
    "contains": _("contains the query"),
}


@dataclass(frozen=True)
class Match:
    field: str
    how: str
    html: SafeString

    @property
    def label(self) -> str:
        return str(FIELDS[self.field])

    @property
    def how_label(self) -> str:
        return str(HOWS[self.how])

    @property
    def sentence(self) -> SafeString:
        """One line for a results page: 电话结尾与所搜数字相同：138****<mark>4591</mark>."""
        if not self.html:
            return format_html(gettext("{field} {how}"), field=self.label, how=self.how_label)
        return format_html(gettext("{field} {how}: {value}"), field=self.label, how=self.how_label,
                           value=self.html)


def _marked(value: str, marked: Iterable[int]) -> SafeString:
    """``value`` escaped, with the characters at ``marked`` positions in ``<mark>``."""
    positions = set(marked)
    out: list[str] = []
    run = ""
    for i, char in enumerate(value):
        if i in positions:
            run += char
            continue
        if run:
            out.append(format_html("<mark>{}</mark>", run))
            run = ""
        out.append(escape(char))
    if run:
        out.append(format_html("<mark>{}</mark>", run))
    return mark_safe("".join(out))  # noqa: S308 -- every piece escaped above


def _text_match(field: str, value: str, text: str) -> Match | None:
    """``value`` (a name, code…) holding ``text`` case-insensitively, or None."""
    if not value or not text:
        return None
    folded = normalize.fold(value).lower()
    start = folded.find(text)
    if start < 0:
        return None
    shown = value if len(folded) == len(value) else normalize.fold(value)
    how = "exact" if folded == text else "starts" if start == 0 else "contains"
    return Match(field, how, _marked(shown, range(start, start + len(text))))


def _phone_match(phones: Any, digits: str | None) -> Match | None:
    """The first phone ending with ``digits``, else the first holding them, shown masked
    (see the module's docstring for what is marked)."""
    if not digits:
        return None
    numbers = [str(p.get("number", "")) for p in phones or [] if isinstance(p, dict)]
    for number in numbers:
        if number.lstrip("+").endswith(digits):
            masked = pii.mask_phone(number)
            visible = {i for i, char in enumerate(masked) if char != "*"}
            span = range(len(number) - len(digits), len(number))
            return Match("phone", "ends", _marked(masked, visible.intersection(span)))
    for number in numbers:
        bare = number.lstrip("+")
        start = bare.find(digits)
        if start >= 0:
            masked = pii.mask_phone(number)
            visible = {i for i, char in enumerate(masked) if char != "*"}
            offset = len(number) - len(bare) + start
            span = range(offset, offset + len(digits))
            return Match("phone", "contains",
                         _marked(masked, span if visible.issuperset(span) else ()))
    return None


def _first(*candidates: Match | None) -> Match | None:
    return next((m for m in candidates if m is not None), None)


def _by_how(matches: Iterable[Match | None], *hows: str) -> Match | None:
    return next((m for m in matches if m is not None and m.how in hows), None)


def _pinyin(search_text: str, text: str) -> Match | None:
    # search_text holds the names' pinyin and initials as all-letter parts; only those
    # are shown (its other parts are names, codes and phone digits, handled before).
    for part in search_text.split("|"):
        if part.isascii() and part.isalpha() and text in part:
            start = part.find(text)
            how = "exact" if part == text else "starts" if start == 0 else "contains"
            return Match("pinyin", how, _marked(part, range(start, start + len(text))))
    return None


def _other() -> Match:
    # Found through a value the result does not show (a former name…): say so, no value.
    return Match("other", "contains", mark_safe(""))


def customer_match(customer: Any, text: str, digits: str | None, phone_digits: str | None,
                   id_hash: str | None) -> Match:
    """Why ``customer`` matched a query whose match text is ``text``; ``digits`` are its
    digits (3+), ``phone_digits`` the same when the query asks for a phone (4+)."""
    id_number = Match("id_number", "exact", escape(customer.id_number_masked))
    if id_hash and customer.id_number_hash == id_hash:
        return id_number
    code = _text_match("code", customer.code, text)
    uscc = _text_match("uscc", customer.uscc, text)
    name = _text_match("name", customer.name, text)
    short = _text_match("short_name", customer.short_name, text)
    found = _first(
        _by_how((code, uscc), "exact"),
        _phone_match(customer.phones, phone_digits),
        _by_how((name,), "exact"),
        _by_how((name, short), "starts", "exact"),
        _by_how((code, uscc), "starts"),
        name, short, code, uscc,
        _phone_match(customer.phones, digits),
        _pinyin(customer.search_text, text),
        id_number if id_hash else None,  # a former ID number (an alias) of the customer's
    )
    return found or _other()


def contact_match(contact: Any, text: str, digits: str | None, phone_digits: str | None,
                  id_hash: str | None = None) -> Match:
    """Why ``contact`` matched (see ``customer_match``)."""
    name = _text_match("name", contact.name, text)
    email = contact.email and text in contact.email.lower()
    found = _first(
        _phone_match(contact.phones, phone_digits),
        name,
        _phone_match(contact.phones, digits),
        Match("email", "contains", escape(pii.mask_email(contact.email))) if email else None,
        _text_match("wechat", contact.wechat, text),
        _pinyin(contact.search_text, text),
    )
    return found or _other()
