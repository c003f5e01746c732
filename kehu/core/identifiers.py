"""Chinese identifiers: unified social credit codes and resident ID numbers.

Both carry a check character; normalising and validating them here lets imports, forms
and the API agree on what a valid identifier is (requirement B1).
"""

from __future__ import annotations

import datetime as dt
import re

# GB 32100-2015: 18 characters from this 31-character alphabet (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}$")

# GB 11643-1999: 17 digits and a check character (0-9 or X).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_ID15_RE = re.compile(r"^\d{15}$")


def _squeeze(value: str) -> str:
    """Upper case, no spaces or dashes, full-width characters folded to ASCII."""
    folded = "".join(
        chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else ch for ch in value or ""
    )
    return re.sub(r"[\s\-]", "", folded).upper()


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str | None:
    """The code in canonical form, or None when it is not a valid credit code."""
    code = _squeeze(value)
    if not _USCC_RE.match(code):
        return None
    return code if uscc_check_char(code[:17]) == code[17] else None


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _valid_birth_date(text: str) -> bool:
    try:
        born = dt.datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 -- a date only
    except ValueError:
        return False
    # A day of slack for time zones: ID numbers carry the local birth date.
    return dt.date(1900, 1, 1) <= born <= dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def normalize_id_number(value: str) -> str | None:
    """The 18-digit resident ID number, or None when invalid. 15-digit numbers (issued
    before 1999, born 19xx) are converted by inserting "19" and computing the check."""
    number = _squeeze(value)
    if _ID15_RE.match(number):
        number = number[:6] + "19" + number[6:]
        number += id_check_char(number)
    if not _ID18_RE.match(number) or not _valid_birth_date(number[6:14]):
        return None
    return number if id_check_char(number[:17]) == number[17] else None
