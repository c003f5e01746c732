"""Shared plumbing for Kehu's management commands: domain errors become clear messages.

Commands only parse arguments, call services and print; a :class:`KehuError` raised by a
service is turned into a :class:`CommandError`, which Django prints without a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.management.base import CommandError

from kehu.core.exceptions import KehuError

T = TypeVar("T")


def describe(error: KehuError) -> str:
    """One readable line per problem: the message, then ``field: reason`` for each field."""
    lines = [f"{field}: {reason}" for field, reasons in error.fields.items() for reason in reasons]
    if not lines or error.message is not type(error).default_message:
        lines.insert(0, str(error.message))
    return "\n".join(lines)


def call_service(func: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a service; turn a domain error into a CommandError (no traceback)."""
    try:
        return func(**kwargs)
    except KehuError as exc:
        raise CommandError(describe(exc)) from None


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table; widths count CJK characters as two columns."""

    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

    def pad(text: str, size: int) -> str:
        return text + " " * (size - width(text))

    sizes = [max(width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    rule = "+" + "+".join("-" * (size + 2) for size in sizes) + "+"
    out = [rule, "| " + " | ".join(pad(h, s) for h, s in zip(headers, sizes, strict=True)) + " |",
           rule]
    out.extend(
        "| " + " | ".join(pad(c, s) for c, s in zip(row, sizes, strict=True)) + " |"
        for row in rows
    )
    out.append(rule)
    return "\n".join(out)
