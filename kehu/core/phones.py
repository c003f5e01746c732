"""The one phone normaliser: every phone number any app stores goes through ``parse``.

Numbers are read with ``phonenumbers`` (default region China): Chinese numbers are kept
in national form (``13812345678``, landlines and service numbers with the trunk 0:
``01088886666``), others in E.164 (``+442079460958``); an extension (``转123``,
``ext. 123``, ``x123``, ``#123``) is kept apart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

MOBILE = "mobile"
LANDLINE = "landline"
OTHER = "other"

_EXTENSION_RE = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


class InvalidPhone(ValueError):
    """Not a valid phone number."""


@dataclass(frozen=True)
class Phone:
    number: str
    kind: str  # MOBILE, LANDLINE or OTHER
    ext: str = ""


def parse(raw: str | None) -> Phone:
    """``raw`` as a ``Phone``, or ``InvalidPhone``."""
    text = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    ext = ""
    match = _EXTENSION_RE.search(text)
    if match:
        ext, text = match.group(1), text[: match.start()]
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(raw)
    ext = ext or (parsed.extension or "")
    number_type = phonenumbers.number_type(parsed)
    if number_type == phonenumbers.PhoneNumberType.MOBILE:
        kind = MOBILE
    elif number_type in (phonenumbers.PhoneNumberType.FIXED_LINE,
                         phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        kind = LANDLINE
    else:
        kind = OTHER
    if parsed.country_code == 86:
        national = str(parsed.national_number)
        # Mobiles are dialled as is; landlines and service numbers with the trunk 0.
        number = "0" + national if kind == LANDLINE else national
    else:
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(number=number, kind=kind, ext=ext)
