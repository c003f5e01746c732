"""Helpers for files that people open in a spreadsheet (Excel, WPS, LibreOffice).

Any export (audit log, customers, contacts, import reports) writes its cells through
``safe_cell`` so that text a spreadsheet would run as a formula is shown as text
(CSV / formula injection), and streams CSV through ``Echo``.
"""

from __future__ import annotations

from typing import Any

# Characters that make a spreadsheet treat a cell as a formula (or, for tab and CR, that
# shift it into one), with the full-width forms that Excel and WPS also accept.
FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")

# Excel reads a CSV file as UTF-8 only when it starts with a byte-order mark.
UTF8_BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """``value`` as text; a leading apostrophe when it would start a formula.

    Chinese phone numbers are stored without "+" (``13812345678``), so only foreign
    numbers in E.164 (``+4420…``) get the apostrophe, which spreadsheets hide.
    """
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_TRIGGERS else text


class Echo:
    """A file-like object whose ``write`` returns the text: ``csv.writer(Echo())``
    then yields each row as a string, for a streamed response."""

    def write(self, value: str) -> str:
        return value
