"""The API shape of a related record: named when visible, redacted when not
(kehu.core.references)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ninja import Field, Schema

from kehu.core import references
from kehu.core.http import current_user


class RecordRef(Schema):
    id: int | None = Field(..., description="None when redacted.")
    name: str | None = Field(..., description="None when redacted.")
    redacted: bool = Field(False, description="True: a record you may not see; not named.")


def ref_resolver(attr: str) -> Callable[[Any, Any], dict[str, Any] | None]:
    """A schema resolver showing ``obj.<attr>`` through ``references.ref`` for the caller."""

    def resolve(obj: Any, context: Any) -> dict[str, Any] | None:
        return references.ref(current_user(context["request"]), getattr(obj, attr))

    return resolve
