"""Helpers for files that people open in a spreadsheet (Excel, WPS, LibreOffice).

Every cell Kehu writes (audit log, customers, contacts, import reports; headers as well
as data) goes through ``safe_cell`` so that text a spreadsheet would run as a formula is
shown as text (CSV / formula injection): CSV through ``csv_lines``, XLSX through
``xlsx_value``. No other module makes a ``csv.writer`` (a test checks).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
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


def csv_lines(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> Iterator[str]:
    """``rows`` as CSV text chunks (a byte-order mark first, so that Excel reads UTF-8),
    every cell, header included, through ``safe_cell``."""
    writer = csv.writer(Echo())
    if bom:
        yield UTF8_BOM
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def xlsx_value(value: Any) -> Any:
    """A cell for an XLSX sheet: numbers stay numbers, text goes through ``safe_cell``
    and loses the control characters XLSX does not allow (a pasted note may carry some)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value))
