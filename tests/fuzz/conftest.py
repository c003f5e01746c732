"""The API fuzzer's report: the per-operation reach table, printed at the end of the run."""

from __future__ import annotations

import pytest

REPORT_KEY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def fuzz_report(request: pytest.FixtureRequest) -> list[str]:
    """Lines the fuzzer test fills; printed in the terminal summary."""
    return request.config.stash.setdefault(REPORT_KEY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(REPORT_KEY, [])
    if lines:
        terminalreporter.section("API fuzzer: share of cases that reached the handler")
        for line in lines:
            terminalreporter.write_line(line)
