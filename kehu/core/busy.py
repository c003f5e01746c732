"""SQLite allows one writer at a time: while an import holds the write lock, other writes
wait (the ``timeout`` option) and then fail. This module tells that failure apart from
other database errors, and runs optional writes (last-used stamps) without waiting, so a
read never fails because a writer is busy. On PostgreSQL nothing here ever triggers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

logger = logging.getLogger("kehu.db")


def is_busy(exc: BaseException) -> bool:
    """``exc`` is SQLite's "database is locked" (another connection holds the write lock)."""
    return (isinstance(exc, OperationalError) and connection.vendor == "sqlite"
            and "locked" in str(exc))


# SQLSTATE classes of a lost or refused connection: 08 (connection exception) and 57P
# (the server shutting down, crashed or not yet accepting connections).
_UNAVAILABLE_STATES = ("08", "57P")


def is_unavailable(exc: BaseException) -> bool:
    """``exc`` says the database server cannot be reached or dropped the connection (a
    PostgreSQL restart): the request can be retried; no statement of it was committed.
    Django closes such a connection when the request ends (``close_if_unusable_or_obsolete``)
    and the next request connects afresh."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError) or connection.vendor != "postgresql":
        return False
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None)
    if state is None:  # failed to connect, or the socket closed under a statement
        return cause is not None
    return str(state).startswith(_UNAVAILABLE_STATES)


@contextmanager
def _no_wait() -> Iterator[None]:
    """SQLite: statements inside fail at once instead of waiting for the busy writer."""
    if connection.vendor != "sqlite":
        yield
        return
    timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(float(timeout) * 1000)}")


def write_if_free(write: Callable[[], object], what: str) -> bool:
    """Run an optional ``write`` unless the database is busy; True if it ran. For stamps
    such as a token's ``last_used_at``: skipped, never waited for, never failing."""
    try:
        with _no_wait(), transaction.atomic():
            write()
    except DatabaseError as exc:
        if not is_busy(exc):
            raise
        logger.info("Skipped %s: the database is busy", what)
        return False
    return True
