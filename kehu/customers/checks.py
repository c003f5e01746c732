"""Start-up checks of what customer search needs from the database.

pg_trgm sees no trigrams in Chinese text unless the database's character type is UTF-8
(in a "C" or other single-byte ctype, every CJK character is a non-word byte): search
would then silently fall back to scanning. Runs with ``migrate``, ``check --database``
and ``kehu serve``.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connections


def ctype_is_utf8(ctype: str) -> bool:
    normalised = ctype.lower().replace("-", "")
    return normalised.endswith(".utf8") or normalised in {"utf8", "ucs_basic"}


@register(Tags.database)
def check_search_database(app_configs: Any = None, databases: Any = None,
                          **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_encoding_to_char(encoding), datctype FROM pg_database "
                           "WHERE datname = current_database()")
            encoding, ctype = cursor.fetchone()
        if encoding.upper() != "UTF8" or not ctype_is_utf8(ctype):
            errors.append(Error(
                f"Database '{connection.settings_dict['NAME']}' has encoding {encoding} and "
                f"LC_CTYPE {ctype}; Chinese search needs UTF8 with a UTF-8 ctype.",
                hint="Create it with: CREATE DATABASE kehu ENCODING 'UTF8' "
                     "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0;",
                id="kehu.E001",
            ))
    return errors
