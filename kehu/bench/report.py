"""Benchmark results: the machine, the commit, the figures, as JSON and a Markdown table.

Targets (issue 5, at scale M on PostgreSQL) are checked here so that every result file
says plainly which are met and which are missed, by how much.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import django
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,  # noqa: S603, S607
                              timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def database_version() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT version()")
            return str(cursor.fetchone()[0]).split(" on ")[0]
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": _memory_gb(),
        "os": platform.platform(), "python": platform.python_version(),
        "django": django.get_version(), "database": database_version(),
        "vendor": connection.vendor,
        "commit": _git("rev-parse", "HEAD"),
        "commit_subject": _git("log", "-1", "--format=%s"),
        "worktree_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


# ---------------------------------------------------------------------------- targets


def _by(results: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((r for r in results if r.get("workload") == name), None)


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with the measured value and met / missed (None: not measured)."""
    rows: list[dict[str, Any]] = []

    def add(target: str, measured: str, met: bool | None, note: str = "") -> None:
        rows.append({"target": target, "measured": measured, "met": met, "note": note})

    found = _by(results, "search")
    if found:
        for case in found["cases"]:
            add(f"search {case['case']}: p95 < 50 ms", f"{case['p95_ms']:.1f} ms",
                case["p95_ms"] < 50)
            r = case["ratio_p95"]
            add(f"search {case['case']}: within 2× of raw SQL (p95)",
                f"{r}×" if r is not None else "n/a", r is not None and r <= 2,
                "" if case["same_result_as_floor"] else "floor returned other rows")
    found = _by(results, "unified_view")
    if found:
        worst = max((c["p95_ms"] for c in found["cases"]), default=0.0)
        add("unified view: p95 < 150 ms", f"{worst:.1f} ms", worst < 150)
        add("unified view: query count independent of size",
            ", ".join(f"{c['case']}: {c['queries']}" for c in found["cases"]),
            found["query_count_independent_of_size"],
            ", ".join(f"{c['case']}: {c.get('interactions', 0):,} interactions"
                      for c in found["cases"]))
    found = _by(results, "list_api_http")
    if found:
        r = found["ratio"]
        add(f"list API: within 2× of the bare view (req/s, concurrency "
            f"{found['concurrency']})",
            f"{r}× ({found['api']['requests_per_s']} vs {found['bare']['requests_per_s']} "
            "req/s)", r is not None and r <= 2)
    found = _by(results, "list_api")
    if found:
        whole = found["unfiltered"]
        add("list API: no exact count past 10,000 rows",
            f"unfiltered count {whole['count']:,}, capped {whole['count_capped']}",
            whole["count"] <= 10_000)
    found = _by(results, "import")
    if found:
        share = found["share_of_floor"]
        add("import: ≥ 10% of raw COPY throughput",
            f"{share:.1%} ({found['rows_per_s']:,} vs {found['floor_rows_per_s']:,} rows/s)",
            share >= 0.10)
    found = _by(results, "mixed")
    if found:
        worst = max((a["p95_ms"] for a in found["actions"].values()), default=0.0)
        add("mixed load: p95 < 300 ms per action", f"worst {worst:.1f} ms", worst < 300)
        add("mixed load: no errors", str(found["errors"]), found["errors"] == 0)
    return rows


# ---------------------------------------------------------------------------- output


def document(*, scale: str, seed: int, generated: dict[str, Any],
             results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"scale": scale, "seed": seed,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(), "data": generated, "results": results,
            "targets": targets(results),
            "notes": ["Targets are set for scale M on PostgreSQL; smaller scales are "
                      "reported against them for orientation.",
                      "Each missed target is explained, with its cause and fix candidates, "
                      "in bench/README.md (\"Results on this machine\").",
                      "The benchmark server runs with CONN_MAX_AGE=0: Kehu's default of 60 "
                      "leaks PostgreSQL connections under ASGI (bench/README.md, "
                      "\"Findings\")."]}


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:.1f}"


def _share(case: dict[str, Any]) -> str:
    share = case.get("relevance")
    if share is None:
        return "—"
    return f"{share:.0%} ({case['expected_in_top']}/{case['expected_possible']})"


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        f"# Kehu benchmark — scale {doc['scale']}, {m['vendor']} ({doc['date']})", "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['os']}",
        f"- Database: {m['database']}; Python {m['python']}, Django {m['django']}",
        f"- Commit: `{m['commit'][:12]}` {m['commit_subject']}"
        + (" (with uncommitted changes)" if m["worktree_dirty"] else ""),
        f"- Data (seed {doc['seed']}): "
        + ", ".join(f"{k} {v:,}" for k, v in doc["data"].items() if isinstance(v, int)),
        "",
    ]
    for result in doc["results"]:
        name = result["workload"]
        if name == "search":
            lines += [f"## Search ({result['persona']}, {result['visible_customers']:,} "
                      "visible customers, first 20 results)", "",
                      "| query kind | examples | median ms | p95 ms | raw SQL median | raw SQL "
                      "p95 | ratio (median / p95) | full scan ms | results | same rows | "
                      "relevance (expected in top 20) |",
                      "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
            for c in result["cases"]:
                lines.append(
                    f"| {c['case']} | {', '.join(c['examples'])} | {_ms(c['median_ms'])} | "
                    f"{_ms(c['p95_ms'])} | {_ms(c['floor_median_ms'])} | "
                    f"{_ms(c['floor_p95_ms'])} | {c['ratio']}× / {c['ratio_p95']}× | "
                    f"{_ms(c['ceiling_full_scan_median_ms'])} | {c['avg_results']} | "
                    f"{'yes' if c['same_result_as_floor'] else 'no'} | {_share(c)} |")
            lines += ["", "Relevance: of the records each query should put first (below), "
                      "the share found in the first 20 (all of them when fewer than 20).", ""]
            lines += [f"- {c['case']}: {c.get('expected', '—')}" for c in result["cases"]]
            lines += ["", "### Floor queries (the first example of each kind)", ""]
            for c in result["cases"]:
                if c.get("floor_sql"):
                    lines += [f"{c['case']}:", "", "```sql", c["floor_sql"], "```", ""]
        elif name == "unified_view":
            lines += ["## Unified customer view (`GET /api/v1/customers/{id}/view`, "
                      "in-process client)", "",
                      "| customer | median ms | p95 ms | queries | contacts | group members |",
                      "|---|---:|---:|---:|---:|---:|"]
            for c in result["cases"]:
                lines.append(f"| {c['case']} (#{c['customer_id']}) | {_ms(c['median_ms'])} | "
                             f"{_ms(c['p95_ms'])} | {c['queries']} | {c['contacts']} | "
                             f"{c['group_members']} |")
        elif name == "list_api":
            lines += ["## Customer list API (50 per page, org subtree + status; in-process)",
                      "", "| | median ms | p95 ms | queries | count |", "|---|---:|---:|---:|---:|",
                      f"| API | {_ms(result['median_ms'])} | {_ms(result['p95_ms'])} | "
                      f"{result['queries']} | {result['count']:,}"
                      f"{' (capped)' if result['count_capped'] else ''} |",
                      f"| raw SQL | {_ms(result['floor_median_ms'])} | "
                      f"{_ms(result['floor_p95_ms'])} | 1 | — |",
                      f"| API, whole company unfiltered | "
                      f"{_ms(result['unfiltered']['median_ms'])} | "
                      f"{_ms(result['unfiltered']['p95_ms'])} | | "
                      f"{result['unfiltered']['count']:,}"
                      f"{' (capped)' if result['unfiltered']['count_capped'] else ''} |",
                      "", f"Ratio (median): {result['ratio']}×; same rows as the floor: "
                      f"{'yes' if result['same_rows_as_floor'] else 'no'}."]
        elif name == "list_api_http":
            a, b = result["api"], result["bare"]
            lines += ["## Customer list through the ASGI server (concurrency "
                      f"{result['concurrency']})", "",
                      "| | req/s | median ms | p95 ms | errors |", "|---|---:|---:|---:|---:|",
                      f"| list API | {a['requests_per_s']} | {_ms(a['median_ms'])} | "
                      f"{_ms(a['p95_ms'])} | {a['errors']} |",
                      f"| bare view (floor) | {b['requests_per_s']} | {_ms(b['median_ms'])} | "
                      f"{_ms(b['p95_ms'])} | {b['errors']} |",
                      "", f"Ratio (bare / API req/s): {result['ratio']}×."]
        elif name == "mixed":
            lines += [f"## Mixed load ({result['users']} users, {result['seconds']} s, think "
                      f"time {result['think_time_s'][0]}–{result['think_time_s'][1]} s, "
                      f"{result['requests_per_s']} req/s offered; create = "
                      f"{result['create_is']})", "",
                      "| action | requests | median ms | p95 ms | errors |",
                      "|---|---:|---:|---:|---:|"]
            for action, a in result["actions"].items():
                lines.append(f"| {action} | {a['n']} | {_ms(a['median_ms'])} | "
                             f"{_ms(a['p95_ms'])} | {a['errors']} |")
            lines.append(f"| **all** | {result['requests']} | "
                         f"{_ms(result['overall']['median_ms'])} | "
                         f"{_ms(result['overall']['p95_ms'])} | {result['errors']} |")
        elif name == "import":
            lines += [f"## Import of a {result['rows']:,}-row customer CSV", "",
                      "| path | ms | rows/s |", "|---|---:|---:|",
                      f"| upload + dry run + run (product) | "
                      f"{result['upload_ms'] + result['check_ms'] + result['run_ms']:,} | "
                      f"{result['rows_per_s']:,} |",
                      f"| — of which dry run | {result['check_ms']:,} | |",
                      f"| — of which run | {result['run_ms']:,} | "
                      f"{result['run_only_rows_per_s']:,} |",
                      f"| {result['floor']} (floor) | {result['floor_ms']:,} | "
                      f"{result['floor_rows_per_s']:,} |",
                      "", f"Share of the floor: {result['share_of_floor']:.1%}. Outcome: "
                      f"{result['state']}, {result['counts']}."]
        lines.append("")
    lines += ["## Targets (set for scale M on PostgreSQL)", "", "| target | measured | met |",
              "|---|---|---|"]
    for t in doc["targets"]:
        met = {True: "yes", False: "**no**", None: "—"}[t["met"]]
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['measured']}{note} | {met} |")
    lines += ["", *[f"- {n}" for n in doc["notes"]], ""]
    return "\n".join(lines)


def write(doc: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{doc['date'][:10]}-{doc['scale']}-{doc['machine']['vendor']}"
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n",
                         encoding="utf-8")
    md_path.write_text(markdown(doc), encoding="utf-8")
    return json_path, md_path
