"""Domain errors raised by services and selectors; both doors (HTML and API) map them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class KehuError(Exception):
    status = 400
    code = "invalid"
    default_message: Any = _("The request is invalid.")

    def __init__(self, message: Any = None, *, fields: dict[str, list[str]] | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = fields or {}
        super().__init__(str(self.message))


class ValidationFailed(KehuError):
    status = 422
    code = "validation_error"
    default_message = _("Some fields are invalid.")


class NotFound(KehuError):
    """Missing and forbidden look the same to the caller."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Forbidden(KehuError):
    """The user lacks the module action entirely (no object involved)."""

    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class Conflict(KehuError):
    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class StaleVersion(KehuError):
    status = 412
    code = "precondition_failed"
    default_message = _(
        "The record was changed by someone else since you loaded it. Reload and try again."
    )


class PreconditionRequired(KehuError):
    status = 428
    code = "precondition_required"
    default_message = _("Send the record's ETag in an If-Match header to change it.")


class Throttled(KehuError):
    status = 429
    code = "throttled"
    default_message = _("Too many attempts from your address. Wait a few minutes and try again.")


class AuthenticationFailed(KehuError):
    status = 401
    code = "authentication_failed"
    default_message = _("Wrong email or password.")


class DatabaseBusy(KehuError):
    """SQLite: another write (a running import) holds the database's write lock."""

    status = 503
    code = "database_busy"
    default_message = _(
        "The database is busy with another change (an import may be running). "
        "Try again in a minute."
    )
    retry_after = 30  # seconds, sent as Retry-After


class DatabaseUnavailable(KehuError):
    """The database cannot be reached (restarting, failed over, network down): the request
    failed before anything was saved, and the next one opens a fresh connection."""

    status = 503
    code = "database_unavailable"
    default_message = _(
        "The database cannot be reached right now; nothing was saved. Try again in a moment."
    )
    retry_after = 5  # seconds, sent as Retry-After


class StorageFull(KehuError):
    """The disk holding the data folder is full: the file was not stored (no part of it
    is left behind) and nothing refers to it."""

    status = 507
    code = "storage_full"
    default_message = _(
        "The server's storage is full, so the file was not saved. Tell your administrator; "
        "try again once space has been freed."
    )
