"""Writing an upload to disk: the one loop every app that stores an uploaded file uses,
and what keeps the upload folders free of files no row points at.

``write_upload`` streams the chunks into ``folder / name`` with a size limit, refusing as
soon as the limit is passed, and removes the partial file on any error. The caller
chooses the name (a temporary ``.<name>.tmp`` it then checks and ``os.replace``-s into
place, or a final generated name) and the exceptions that refuse a file, so each app
keeps its own messages.

A file is written before the row that points at it, and the row's transaction may still
roll back. ``discard_on_rollback(path)`` ties the file to the current transaction: it is
deleted when that transaction (or the savepoint open when it was registered) rolls back,
and kept when it commits. A process that dies between writing the file and committing
leaves an orphan; ``sweep`` (hourly in the worker, and ``kehu sweep_uploads``) deletes
files under the registered upload folders that no row points at, once they are older than
a grace period, so a file whose row is still being written is never touched.
"""

from __future__ import annotations

import errno
import hashlib
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import transaction

from kehu.core.exceptions import StorageFull

# The disk (or the user's quota) is full: a clear refusal, not a server error.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    size: int
    sha256: str


def write_upload(chunks: Iterable[bytes], *, folder: Path, name: str, max_bytes: int,
                 too_large: Callable[[], BaseException],
                 empty: Callable[[], BaseException] | None = None) -> WrittenFile:
    """Write ``chunks`` to ``folder / name``; ``too_large()`` is raised as soon as more
    than ``max_bytes`` arrived, ``empty()`` (when given) for a file of no bytes. On any
    error, the partial file is removed and the error propagates; a full disk is raised as
    ``StorageFull``."""
    path = folder / name
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise too_large()
                digest.update(chunk)
                out.write(chunk)
        if size == 0 and empty is not None:
            raise empty()
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in _NO_SPACE:
            raise StorageFull() from exc
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return WrittenFile(path=path, size=size, sha256=digest.hexdigest())


def _discard_unless_committed(path: Path, state: dict[str, bool]) -> None:
    if not state["committed"]:
        path.unlink(missing_ok=True)


def discard_on_rollback(path: Path, using: str | None = None) -> None:
    """Delete ``path`` if the current transaction rolls back; keep it once it commits
    (outside a transaction: keep it now).

    Django runs ``on_commit`` callbacks after a commit and drops them on a rollback (of
    the transaction, or of a savepoint open when they were registered); it has no
    rollback hook. The callback registered here marks the file kept when it runs; when
    Django drops it unrun, the finalizer attached to it deletes the file. The callback is
    referenced only from the connection's list, so CPython frees it (and runs the
    finalizer) as soon as the list lets go of it.
    """
    state = {"committed": False}

    def keep() -> None:
        state["committed"] = True

    weakref.finalize(keep, _discard_unless_committed, path, state)
    transaction.on_commit(keep, using=using)


# --- The sweeper -------------------------------------------------------------------------

SWEEP_GRACE = timedelta(hours=6)


@dataclass(frozen=True)
class UploadFolder:
    key: str
    folders: Callable[[], Iterable[Path]]
    # Of these file names (in one folder), those a row points at (they are kept).
    referenced: Callable[[Path, set[str]], set[str]]


UPLOAD_FOLDERS: dict[str, UploadFolder] = {}


def register_upload_folder(key: str, folders: Callable[[], Iterable[Path]],
                           referenced: Callable[[Path, set[str]], set[str]]) -> None:
    """An app's upload folders and how to tell which of their files rows point at."""
    UPLOAD_FOLDERS[key] = UploadFolder(key, folders, referenced)


def sweep(grace: timedelta = SWEEP_GRACE, now: float | None = None) -> dict[str, int]:
    """Delete files older than ``grace`` under the registered folders that no row points
    at; per folder key, how many were deleted. Files are looked at in batches, so a
    folder of any size takes bounded memory and a few queries per thousand files."""
    cutoff = (time.time() if now is None else now) - grace.total_seconds()
    deleted: dict[str, int] = {}
    for entry in UPLOAD_FOLDERS.values():
        for folder in entry.folders():
            batch: list[Path] = []
            for path in folder.iterdir() if folder.is_dir() else ():
                try:
                    if not path.is_file() or path.stat().st_mtime > cutoff:
                        continue
                except OSError:
                    continue  # gone meanwhile
                batch.append(path)
                if len(batch) >= 1000:
                    deleted[entry.key] = deleted.get(entry.key, 0) + _sweep_batch(
                        entry, folder, batch)
                    batch = []
            if batch:
                deleted[entry.key] = deleted.get(entry.key, 0) + _sweep_batch(
                    entry, folder, batch)
    return {key: n for key, n in deleted.items() if n}


def _sweep_batch(entry: UploadFolder, folder: Path, batch: list[Path]) -> int:
    kept = entry.referenced(folder, {p.name for p in batch})
    count = 0
    for path in batch:
        if path.name not in kept:
            path.unlink(missing_ok=True)
            count += 1
    return count
