"""Demo data contributed by apps: ``kehu demo`` calls every registered builder once,
inside its transaction, after the org tree and the users exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class DemoCompany:
    admin: Any
    users: dict[str, Any]  # built-in role key → user
    units: dict[str | None, Any]  # unit name (None: the group HQ) → unit


DemoBuilder = Callable[[DemoCompany], str]  # returns a one-line summary for the console
BUILDERS: list[DemoBuilder] = []


def register_demo_builder(builder: DemoBuilder) -> None:
    # Once each, however often the registrations run (the app registry can be rebuilt).
    if builder not in BUILDERS:
        BUILDERS.append(builder)
