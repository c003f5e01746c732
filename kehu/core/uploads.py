"""Writing an upload to disk: the one loop every app that stores an uploaded file uses.

``write_upload`` streams the chunks into ``folder / name`` with a size limit, refusing as
soon as the limit is passed, and removes the partial file on any error. The caller
chooses the name (a temporary ``.<name>.tmp`` it then checks and ``os.replace``-s into
place, or a final generated name) and the exceptions that refuse a file, so each app
keeps its own messages.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

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
