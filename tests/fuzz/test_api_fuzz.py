"""Property-based fuzzing of every operation of /api/v1/openapi.json (schemathesis).

Each operation gets ``FUZZ_EXAMPLES`` generated requests (default 6; plus ``FUZZ_NEGATIVE``
invalid ones, default half as many) as a tenant admin and as an account manager, sent
in-process to the WSGI app. Checks: no 5xx, the response matches its declared schema, no
undocumented status code.

* Every case runs in a savepoint that is rolled back, so a case that revokes the caller's
  own token (DELETE /auth/tokens/{id}, a password change, deactivating oneself) never
  outlives that case: credentials stay valid for the whole run.
* Path ids are usually replaced by ids of seeded records and ``If-Match`` by ``*``, so
  generated requests reach the handlers instead of stopping at 404/412.
* Edge values plain generation seldom produces are mixed in: dates at year 1 and 9999,
  integers beyond a database column, and free text full of NUL, control and format
  characters in a free-text query parameter (one case in three, each such parameter in
  turn).
* The share of cases that reached the handler (not 401/403/404/422) is reported per
  operation (terminal summary and ``$KEHU_DATA_DIR/fuzz/report.txt``). An operation no
  persona reached fails the test unless ``UNREACHED`` says why.
* Failures are grouped by bug class in the failure message.

Generation is derandomised (``FUZZ_SEED`` changes the seed), so CI runs are reproducible.
``make fuzz FUZZ_EXAMPLES=100`` runs only this test, with more examples.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from kehu.core.services.profile import api_token_create
from kehu.core.testing import World

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# Schema-violating requests per operation and persona: they must get 4xx, never 5xx.
NEGATIVE = int(os.environ.get("FUZZ_NEGATIVE", str(max(EXAMPLES // 2, 1))))
SEED = int(os.environ.get("FUZZ_SEED", "0"))
# Only the operations whose "METHOD /path" matches this regular expression (e.g. "customers").
ONLY = re.compile(os.environ.get("FUZZ_OPERATIONS", ""))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
NOT_REACHED = {401, 403, 404, 422}

# Operations that no persona may reach, with the reason (checked: listed ones must be unreached,
# so the list cannot go stale silently).
# Reached by few generated cases (1 in 6 at the suite's budget), so whether a run reaches
# them depends on the database's ids: neither "unreached" nor "listed but reached" fails.
SELDOM_REACHED: dict[str, str] = {
    "POST /api/v1/users": "a generated user passes only with a free email, a 10-character "
                          "password, a valid phone and roles of the company",
}

UNREACHED: dict[str, str] = {
    "POST /api/v1/auth/token": "needs a real email and password: random ones are refused (401)",
    "POST /api/v1/auth/signup/confirm": "needs the token of an emailed link: random ones are "
                                        "refused (422)",
    "GET /api/v1/customers/lookup": "answers 404 unless system and id name an existing "
                                    "external id",
    "GET /api/v1/calendar": "end must fall within 62 days after start: independent random "
                            "dates almost never do (422)",
    "POST /api/v1/imports": "needs a real spreadsheet: random bytes are mostly 422",
    **{f"{method} /api/v1/imports/{{job_id}}{tail}": "the seed has no import job (an upload "
       "needs a real spreadsheet)"
       for method, tail in [("GET", ""), ("POST", "/mapping"), ("POST", "/duplicates"),
                            ("POST", "/check"), ("POST", "/run"), ("GET", "/issues"),
                            ("GET", "/report")]},
}

# Path parameter → model whose seeded rows the fuzzer uses as ids.
SEEDED: dict[str, str] = {
    "token_id": "core.ApiToken",
    "unit_id": "core.OrgUnit",
    "user_id": "core.User",
    "role_id": "core.Role",
    "event_id": "core.AuditEvent",
    "customer_id": "customers.Customer",
    "relationship_id": "customers.Relationship",
    "external_id_pk": "customers.ExternalId",
    "contact_id": "customers.Contact",
    "job_id": "customers.ImportJob",
    "interaction_id": "activities.Interaction",
    "followup_id": "activities.FollowUp",
    "task_id": "activities.Task",
    "plan_id": "activities.WorkPlan",
    "notification_id": "notifications.Notification",
    "document_id": "documents.Document",
}

# Body fields that name a seeded record, by the path parameter whose ids they take.
BODY_IDS: dict[str, str] = {
    "parent_id": "unit_id", "org_unit_id": "unit_id", "unit_id": "unit_id",
    "new_parent_id": "unit_id", "owner_id": "user_id", "user_id": "user_id",
    "assignee_id": "user_id", "reviewer_id": "user_id", "customer_id": "customer_id",
    "target_id": "customer_id", "survivor_id": "customer_id", "loser_id": "customer_id",
    "source_id": "customer_id",
    "contact_id": "contact_id", "role_id": "role_id", "task_id": "task_id",
    "interaction_id": "interaction_id", "followup_id": "followup_id",
    "participant_id": "user_id",
}

# Dates and times at the edges of what Python and the time zone conversion can hold: one
# generated value in four is one of these (plain generation almost never reaches them).
EDGE_DATETIMES = ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                  "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999Z"]
EDGE_DATES = ["0001-01-01", "9999-12-31"]


def _with_edges(edges: list[str], usual: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.integers(0, 3).flatmap(lambda n: st.sampled_from(edges) if n == 0 else usual)


schemathesis.openapi.format("date-time", _with_edges(EDGE_DATETIMES, st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                               timezone(timedelta(hours=-5))])).map(datetime.isoformat)))
schemathesis.openapi.format("date", _with_edges(EDGE_DATES, st.dates(
    min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)).map(date.isoformat)))

# Integers beyond what a database column holds, for integer query parameters the spec leaves
# unbounded (one case in four).
EDGE_INTS = [2**63, 10**20, -(2**63) - 1]


def _unbounded_int_params(raw: dict[str, Any]) -> list[str]:
    names = []
    for param in raw.get("parameters", []):
        schema = param.get("schema", {})
        variants = schema.get("anyOf", [schema])
        if param.get("in") == "query" and any(
            v.get("type") == "integer" and "maximum" not in v for v in variants
        ):
            names.append(param["name"])
    return names


# Free text with NUL, other control and format characters (every third case, in every
# free-text query parameter): plain generation seldom puts them in a short string, and a
# search box must take any text (issue 11, item 14).
HOSTILE_TEXT = st.lists(st.one_of(
    st.just("\x00"), st.characters(max_codepoint=0x1F),
    st.sampled_from(["\x7f", "\x85", "\u200b", "\u200e", "\u202e", "\u2028", "\ufeff"]),
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
), min_size=2, max_size=12).map("".join)


def _free_text_params(raw: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
    """Query parameters taking any text (no enum, format or pattern): name → (minLength,
    maxLength)."""
    found = {}
    for param in raw.get("parameters", []):
        schema = param.get("schema", {})
        texts = [v for v in schema.get("anyOf", [schema]) if v.get("type") == "string"]
        if param.get("in") == "query" and texts and not any(
            {"enum", "format", "pattern", "const"} & set(v) for v in texts
        ):
            found[param["name"]] = (texts[0].get("minLength", 0), texts[0].get("maxLength"))
    return found


# Bug classes, recognised by the text of the exception behind a 500.
CLASSES: list[tuple[str, tuple[str, ...]]] = [
    ("item 11 · datetime out of range", (
        "year", "date value out of range", "OverflowError: date", "timestamp out of range",
        "out of range for", "datetime",
    )),
    ("item 12 · integer overflow", (
        "too large to convert", "datatype mismatch", "integer out of range", "int too big",
        "NumericValueOutOfRange",
        "Python int too large", "OverflowError: int",
    )),
    ("item 13 · encoding", ("LookupError", "codec", "encoding")),
    ("item 14 · search NUL / FTS", ("fts5", "NUL", "null character", "0x00",
                                    "unterminated string")),
    ("item 15 · XLSX", ("openpyxl", "xlsx", "zipfile", "BadZipFile")),
]


@dataclass
class Stats:
    cases: int = 0
    reached: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)  # 422: the fields named


@dataclass
class Finding:
    bug_class: str
    operation: str
    persona: str
    detail: str
    reproduction: str


def classify(detail: str) -> str:
    if "ServerError" not in detail and "Server error" not in detail and "500" not in detail:
        return "response does not match the spec"
    lowered = detail.lower()
    for name, needles in CLASSES:
        if any(needle.lower() in lowered for needle in needles):
            return name
    return "other 5xx"


def seeded_ids(world: World) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for param, label in SEEDED.items():
        model = apps.get_model(label)
        rows = model.objects.all()
        if any(f.name == "tenant" for f in model._meta.get_fields()):
            rows = rows.filter(tenant=world.tenant)
        ids[param] = sorted(rows.values_list("pk", flat=True))[:20]
    return ids


@pytest.fixture
def seeded(world: World, book: Any, engagement: Any) -> dict[str, list[int]]:
    from kehu.customers.services import relationships

    rep = world.city_a1_rep
    relationships.relationship_add(actor=rep, source_id=book.rep.pk, target_id=book.person.pk,
                                   kind="partner")
    relationships.external_id_add(actor=rep, customer_id=book.rep.pk, system="erp",
                                  external_id="E-1")
    return seeded_ids(world)


class _Exceptions:
    """The exception behind the last 500, as Django's test client hears of it."""

    def __init__(self) -> None:
        self.last: str = ""

    def __call__(self, **kwargs: Any) -> None:
        self.last = "".join(traceback.format_exception(*sys.exc_info())[-3:])


@pytest.mark.django_db
def test_fuzz_every_operation(
    world: World, seeded: dict[str, list[int]], fuzz_report: list[str], settings: Any
) -> None:
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    personas = {
        "admin": world.hq_admin,
        "account_manager": world.city_a1_rep,
    }
    tokens = {name: api_token_create(actor=user, name="fuzzer")[1]
              for name, user in personas.items()}
    seeded["token_id"] = seeded_ids(world)["token_id"]  # the fuzzer's own tokens too
    app = get_wsgi_application()
    # As Django's test client does: requests must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    exceptions = _Exceptions()
    got_request_exception.connect(exceptions)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        stats, findings, operations, elapsed = _run(schema, tokens, seeded, exceptions)
    finally:
        got_request_exception.disconnect(exceptions)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    assert operations, f"no operation matches FUZZ_OPERATIONS={ONLY.pattern!r}"
    unreached = [op for op in operations
                 if all(stats[(op, p)].reached == 0 for p in personas)
                 and op not in UNREACHED and op not in SELDOM_REACHED]
    stale = [op for op in UNREACHED
             if op in operations and any(stats[(op, p)].reached for p in personas)]
    fuzz_report[:] = _report(operations, personas, stats, findings, elapsed)
    problems = _problems(findings, unreached, stale)
    assert not problems, problems


def _run(schema: Any, tokens: dict[str, str], seeded: dict[str, list[int]],
         exceptions: _Exceptions) -> tuple[dict[tuple[str, str], Stats], list[Finding],
                                           list[str], float]:
    stats: dict[tuple[str, str], Stats] = defaultdict(Stats)
    findings: list[Finding] = []
    operations: list[str] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if not ONLY.search(label):
            continue
        operations.append(label)
        for persona, token in tokens.items():
            _fuzz_operation(operation, label, persona, token, seeded, exceptions,
                            stats[(label, persona)], findings, GenerationMode.POSITIVE)
            _fuzz_operation(operation, label, persona, token, seeded, exceptions,
                            stats[(label, f"{persona} (invalid data)")], findings,
                            GenerationMode.NEGATIVE)
    return stats, findings, operations, time.monotonic() - started


def _fuzz_operation(operation: Any, label: str, persona: str, token: str,
                    seeded: dict[str, list[int]], exceptions: _Exceptions, stat: Stats,
                    findings: list[Finding], mode: GenerationMode) -> None:
    seen: set[str] = set()
    negative = mode is GenerationMode.NEGATIVE
    checks = [not_a_server_error] if negative else CHECKS
    id_params = [p for p in seeded if "{" + p + "}" in operation.path]
    big_params = [] if negative else _unbounded_int_params(operation.definition.raw)
    text_params = {} if negative else _free_text_params(operation.definition.raw)
    made = [0]

    @hypothesis.settings(
        max_examples=NEGATIVE if negative else EXAMPLES, derandomize=True, database=None,
        deadline=None, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.seed(SEED)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), steer=st.integers(0, 3),
                      pick=st.integers(0),
                      # Drawn only where used: other operations generate as without it.
                      hostile=st.lists(HOSTILE_TEXT, min_size=1, max_size=1) if text_params
                      else st.just([""]))
    def fuzz(case: Any, steer: int, pick: int, hostile: list[str]) -> None:
        made[0] += 1
        # Every third case carries hostile text (not a drawn choice: a few draws may all
        # miss it), and then no out-of-range integer that would get it refused first.
        hostile_case = made[0] % 3 == 1 and bool(text_params)
        # Three cases in four use seeded ids and a matching If-Match; the rest stay as generated.
        if not steer and big_params and case.query is not None and not hostile_case:
            for n, param in enumerate(big_params):
                case.query[param] = EDGE_INTS[(pick + n) % len(EDGE_INTS)]
        if hostile_case:  # in one parameter at a time, so others' checks don't hide it
            param = list(text_params)[(made[0] // 3) % len(text_params)]
            low, high = text_params[param]
            case.query = dict(case.query or {})
            case.query[param] = hostile[0][:high].ljust(low, "a")
        if steer:
            for param in id_params:
                if seeded[param]:
                    case.path_parameters[param] = seeded[param][pick % len(seeded[param])]
            if case.headers and "If-Match" in case.headers:
                case.headers["If-Match"] = "*"
            if isinstance(case.body, dict):
                _steer_body(case.body, seeded, pick)
        headers = {"Authorization": f"Bearer {token}"}
        cache.clear()  # throttling counters: each case starts afresh
        exceptions.last = ""
        with transaction.atomic():
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=checks, headers=headers)
                failures: list[BaseException] = []
            except FailureGroup as group:
                failures = list(group.exceptions)
            except Failure as single:
                failures = [single]
            transaction.set_rollback(True)
        stat.cases += 1
        stat.statuses[response.status_code] += 1
        if response.status_code not in NOT_REACHED:
            stat.reached += 1
        if response.status_code == 422:
            try:
                error = response.json().get("error", {})
                stat.rejected.update(list(error.get("fields") or [error.get("code", "?")]))
            except (ValueError, AttributeError):
                stat.rejected["(not JSON)"] += 1
        for failure in failures:
            detail = f"{type(failure).__name__}: {getattr(failure, 'title', '')} " \
                     f"{getattr(failure, 'message', failure)}"
            if response.status_code >= 500:
                detail = f"ServerError {response.status_code}: {exceptions.last}"
            bug_class = classify(detail)
            key = f"{bug_class}|{detail[-200:]}"
            if key in seen:
                continue
            seen.add(key)
            findings.append(Finding(bug_class, label, persona + (" (invalid data)" if negative
                                                                  else ""), detail.strip(),
                                    case.as_curl_command(headers={"Authorization": "Bearer …"})))

    # An operation without inputs has no invalid request: nothing to generate.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        fuzz()


def _steer_body(body: dict[str, Any], seeded: dict[str, list[int]], pick: int) -> None:
    # Path ids take ids[pick]; each body field the next ones, so a relationship or a merge
    # names two different customers.
    for shift, (key, value) in enumerate(body.items(), start=1):
        ids = seeded.get(BODY_IDS.get(key.removesuffix("s") if key.endswith("_ids") else key,
                                      ""))
        if not ids:
            continue
        if _whole(value):
            body[key] = ids[(pick + shift) % len(ids)]
        elif isinstance(value, list) and all(_whole(v) for v in value):
            body[key] = [ids[(pick + shift + n) % len(ids)] for n in range(len(value))]


def _whole(value: Any) -> bool:
    """An id as generated: JSON Schema's integers include whole floats (``240.0``), which
    validation takes as ids — left unsteered, they sent most cases to 422."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and float(value).is_integer()


def _report(operations: list[str], personas: dict[str, Any],
            stats: dict[tuple[str, str], Stats], findings: list[Finding],
            elapsed: float) -> list[str]:
    total = sum(s.cases for s in stats.values())
    lines = [f"API fuzzer: {len(operations)} operations, {total} cases, {elapsed:.0f} s, "
             f"{EXAMPLES} valid + {NEGATIVE} invalid examples per operation and persona, "
             f"seed {SEED}",
             f"{'operation':<58} " + " ".join(f"{p:>16}" for p in personas)]
    for op in operations:
        cells = []
        for persona in personas:
            s = stats[(op, persona)]
            cells.append(f"{s.reached:>3}/{s.cases:<3} {100 * s.reached // max(s.cases, 1):>3}%")
        codes = Counter[int]()
        for persona in personas:
            codes.update(stats[(op, persona)].statuses)
        seen = " ".join(f"{code}×{n}" for code, n in sorted(codes.items()))
        lines.append(f"{op:<58} " + " ".join(f"{c:>16}" for c in cells) + f"  {seen}")
    by_class = Counter(f.bug_class for f in findings)
    lines.append("findings by class: " + (", ".join(f"{k}: {v}" for k, v in by_class.items())
                                          or "none"))
    folder = Path(django_settings.DATA_DIR) / "fuzz"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.txt"
    rejected = [f"{op} as {p}: 422 on " + ", ".join(f"{k}×{n}" for k, n in s.rejected.items())
                for (op, p), s in stats.items() if s.rejected]
    details = ["\n422 by field (the spec may be looser than the validation):", *rejected]
    details += [f"\n[{f.bug_class}] {f.operation} as {f.persona}\n{f.detail}\n{f.reproduction}"
               for f in findings]
    path.write_text("\n".join(lines + details) + "\n", encoding="utf-8")
    lines.append(f"full report: {path}")
    return lines


def _problems(findings: list[Finding], unreached: list[str], stale: list[str]) -> str:
    parts: list[str] = []
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.bug_class].append(finding)
    for bug_class, items in sorted(grouped.items()):
        parts.append(f"\n=== {bug_class}: {len(items)} finding(s)")
        for f in items:
            parts.append(f"--- {f.operation} as {f.persona}\n{f.detail[-1500:]}\n"
                         f"{f.reproduction[:1500]}")
    if unreached:
        parts.append("\n=== operations no persona reached (add to UNREACHED with a reason, "
                     "or make the spec state the validation):\n  " + "\n  ".join(unreached))
    if stale:
        parts.append("\n=== listed in UNREACHED but reached:\n  " + "\n  ".join(stale))
    return "\n".join(parts)
