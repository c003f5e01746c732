"""Every spreadsheet cell Kehu writes goes through kehu.core.spreadsheets (issue 11,
item 7): CSV through ``csv_lines``, XLSX cells through ``xlsx_value``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kehu.core.spreadsheets import FORMULA_TRIGGERS, csv_lines, xlsx_value


def test_csv_lines_neutralise_header_and_data_cells():
    body = "".join(csv_lines([["=HYPERLINK(\"http://evil.example\")", "名称"],
                              ["+1", "@SUM(A1)"], [3, None]]))
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][0] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1] == ["'+1", "'@SUM(A1)"] and rows[2] == ["3", ""]
    assert not any(cell[:1] in FORMULA_TRIGGERS for row in rows for cell in row)


def test_xlsx_values_are_neutralised_but_numbers_stay():
    assert xlsx_value("=1+1") == "'=1+1" and xlsx_value(7) == 7
    assert xlsx_value("a\x00b") == "ab"


def test_only_the_spreadsheet_helper_writes_csv():
    # Every spreadsheet cell goes through kehu.core.spreadsheets (issue 11, item 7):
    # CSV through csv_lines, XLSX cells through xlsx_value.
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if "/tests/" in relative or relative.startswith(("bench/", "core/spreadsheets.py")):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "csv.writer(" in line or "csv.DictWriter(" in line:
                offenders.append(relative)
            if ("sheet.append(" in line or "WriteOnlyCell(" in line) \
                    and "xlsx_value(" not in line and "sheet.append(header)" not in line:
                offenders.append(relative)
    assert offenders == []
