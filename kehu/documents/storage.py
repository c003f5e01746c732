"""Document storage: generated names under the data folder, size and type limits.

Files live at ``DATA_DIR/documents/<tenant id>/<uuid4 hex>``: nothing the user sends
reaches the path, and the folder is outside the web root (only the download view serves
them). An upload is streamed into a temporary file in the same folder with a running size
check and a SHA-256, its type is decided from the extension *and* the content, and only
then is it renamed into place (``os.replace``), so no partial file ever has a final name.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from kehu.core.exceptions import ValidationFailed
from kehu.core.uploads import discard_on_rollback, write_upload

# Types shown inline as a preview; everything else is only ever downloaded. No SVG: it
# can carry script.
PREVIEWABLE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

DEFAULT_MAX_MB = 20

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"

OOXML = {
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "word/"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
              "ppt/"),
}

# Extension → the content type stored (the server's, never the client's).
ALLOWED: dict[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".txt": "text/plain",
    ".csv": "text/csv",
    **{ext: kind for ext, (kind, _prefix) in OOXML.items()},
}

TEXT_TYPES = frozenset({"text/plain", "text/csv"})

# Named so the message can say why: they run or render code in a browser or on a PC.
DANGEROUS = frozenset({
    ".exe", ".dll", ".com", ".msi", ".scr", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".jse",
    ".wsf", ".sh", ".bash", ".py", ".pl", ".php", ".jsp", ".asp", ".aspx", ".jar", ".apk",
    ".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".hta", ".swf", ".lnk",
    ".docm", ".xlsm", ".pptm", ".reg", ".app", ".elf", ".bin",
})

# Leading bytes that betray markup or a program inside a file claiming another type.
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<head",
           b"<iframe")
_PROGRAMS = (b"MZ", b"\x7fELF", b"#!")

CHUNK = 64 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "KEHU_DOCUMENT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024


def max_mb() -> int:
    return max_bytes() // (1024 * 1024)


def allowed_extensions() -> list[str]:
    return sorted(ALLOWED)


def tenant_dir(tenant_id: int) -> Path:
    folder = Path(settings.DATA_DIR) / "documents" / str(int(tenant_id))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(tenant_id: int, storage_name: str) -> Path:
    # The name is ours (uuid hex), but never trust a column to be a bare file name.
    if not storage_name or Path(storage_name).name != storage_name:
        raise ValueError("invalid storage name")
    return Path(settings.DATA_DIR) / "documents" / str(int(tenant_id)) / storage_name


def tenant_dirs() -> list[Path]:
    """Every tenant's folder (for the sweeper of orphaned files)."""
    root = Path(settings.DATA_DIR) / "documents"
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()) \
        if root.is_dir() else []


def stored_names(folder: Path, names: set[str]) -> set[str]:
    """Of ``names`` in a tenant's folder, those a document row points at."""
    from kehu.documents.models import Document

    return set(Document.objects.filter(tenant_id=int(folder.name), storage_name__in=names)
               .values_list("storage_name", flat=True))


def remove(tenant_id: int, storage_name: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        stored_path(tenant_id, storage_name).unlink(missing_ok=True)


class RefusedFile(ValidationFailed):
    pass


def _refuse(message: str) -> RefusedFile:
    return RefusedFile(message, fields={"file": [message]})


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    size: int
    sha256: str
    content_type: str


def clean_file_name(name: str) -> str:
    """The name shown and offered on download: the last path part, no control chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return base[:255]


def type_for(file_name: str) -> str:
    """The content type the extension allows, or a refusal saying what is accepted."""
    suffix = Path(file_name).suffix.lower()
    if suffix in DANGEROUS:
        raise _refuse(_("Programs, scripts, web pages and SVG images cannot be uploaded: "
                        "they can carry harmful code."))
    if suffix not in ALLOWED:
        raise _refuse(_("This type of file cannot be uploaded. Allowed: %(types)s.")
                      % {"types": ", ".join(e.lstrip(".") for e in allowed_extensions())})
    return ALLOWED[suffix]


def _mismatch() -> RefusedFile:
    return _refuse(_("The file's content does not match its extension. Upload the file "
                     "as it is, with its real type."))


def _check_content(path: Path, suffix: str, content_type: str) -> None:
    with path.open("rb") as fh:
        head = fh.read(64)
    lowered = head.lstrip().lower()
    if head.startswith(_PROGRAMS) or lowered.startswith(_MARKUP):
        raise _mismatch()
    if content_type == "application/pdf":
        ok = head.startswith(b"%PDF-")
    elif content_type == "image/png":
        ok = head.startswith(b"\x89PNG\r\n\x1a\n")
    elif content_type == "image/jpeg":
        ok = head.startswith(b"\xff\xd8\xff")
    elif content_type == "image/gif":
        ok = head.startswith((b"GIF87a", b"GIF89a"))
    elif content_type == "image/webp":
        ok = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    elif suffix in (".doc", ".xls", ".ppt"):
        ok = head.startswith(OLE)
    elif suffix in OOXML:
        ok = head.startswith(ZIP) and _is_ooxml(path, OOXML[suffix][1])
    elif content_type in TEXT_TYPES:
        ok = _is_text(path)
        if not ok:
            raise _refuse(_("A text or CSV file must be in UTF-8 or GB18030 (GBK) encoding."))
    else:  # pragma: no cover - every allowed type has a check above
        ok = False
    if not ok:
        raise _mismatch()


def _is_ooxml(path: Path, prefix: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)


def _is_text(path: Path) -> bool:
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    if b"\x00" in chunk:
                        return False
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return True
    return False


def save(*, tenant_id: int, file_name: str, chunks: Iterable[bytes]) -> StoredFile:
    """Store an upload under a generated name, or refuse it leaving nothing behind."""
    content_type = type_for(file_name)
    folder = tenant_dir(tenant_id)
    name = uuid.uuid4().hex
    written = write_upload(
        chunks, folder=folder, name=f".{name}.tmp", max_bytes=max_bytes(),
        too_large=lambda: _refuse(_("The file is larger than %(mb)d MB.") % {"mb": max_mb()}),
        empty=lambda: _refuse(_("The file is empty.")))
    try:
        _check_content(written.path, Path(file_name).suffix.lower(), content_type)
        os.replace(written.path, folder / name)
    except BaseException:
        written.path.unlink(missing_ok=True)
        raise
    # The document row is written next, in the caller's transaction: no row, no file.
    discard_on_rollback(folder / name)
    return StoredFile(storage_name=name, size=written.size, sha256=written.sha256,
                      content_type=content_type)
