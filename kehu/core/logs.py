"""Log output: one JSON object per line when ``KEHU_LOG_FORMAT=json``, and every line
carrying the request id that the request's audit rows carry (``kehu.core.context``).

Errors are also appended to ``KEHU_DATA_DIR/logs/errors.jsonl`` (every web and worker
process of a machine appends there), which the operator's status page reads for the last
hour; it is rotated at 5 MB, one old file kept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import traceback
from pathlib import Path
from typing import Any

from kehu.core import context

ERRORS_FILE = Path("logs") / "errors.jsonl"
MAX_ERRORS_BYTES = 5 * 1024 * 1024
# LogRecord's own attributes: everything else on a record came through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "color_message"}  # uvicorn's coloured copy


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = context.current().request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or context.current().request_id,
        }
        entry.update({k: v for k, v in vars(record).items()
                      if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def _errors_path() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / ERRORS_FILE


class RecentErrorsHandler(logging.Handler):
    """Appends ERROR records as JSON lines for the status page; never raises."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            path = _errors_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > MAX_ERRORS_BYTES:
                os.replace(path, path.with_suffix(".jsonl.1"))
            summary = ""
            if record.exc_info and record.exc_info[1] is not None:
                summary = "".join(traceback.format_exception_only(record.exc_info[1])).strip()
            line = json.dumps({
                "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "logger": record.name,
                "message": record.getMessage()[:500],
                "exception": summary[:500],
                "request_id": getattr(record, "request_id", "") or context.current().request_id,
            }, ensure_ascii=False, default=str)
            # One write of one line in append mode: lines of several processes do not mix.
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except Exception:
            self.handleError(record)


def recent_errors(since: dt.datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Errors logged since ``since``, newest first."""
    path = _errors_path()
    if not path.exists():
        return []
    found: list[dict[str, Any]] = []
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 512 * 1024))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    for line in reversed(lines):
        try:
            entry = json.loads(line)
            when = dt.datetime.fromisoformat(entry["time"])
        except (ValueError, KeyError, TypeError):
            continue
        if when < since:
            break
        entry["time"] = when
        found.append(entry)
        if len(found) >= limit:
            break
    return found
