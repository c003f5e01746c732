"""Input bodies: unknown fields rejected (422), text cleaned, ids bounded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from kehu.core import moments

# The widest primary key a database column holds; larger ids are invalid input, not 500s.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _moment(value: datetime) -> datetime:
    try:
        return moments.check_moment(value)
    except moments.OutOfRange:
        raise PydanticCustomError("moment_range", "Enter a date between 1900-01-01 and "
                                  "2200-12-31.") from None


def _day(value: date) -> date:
    try:
        return moments.check_day(value)
    except moments.OutOfRange:
        raise PydanticCustomError("moment_range", "Enter a date between 1900-01-01 and "
                                  "2200-12-31.") from None


_RANGE_NOTE = "Between 1900-01-01 and 2200-12-31."
# Every date-time that comes in: aware (no offset: the server's time zone), between
# 1900-01-01 and 2200-12-31, converted to the current time zone.
Moment = Annotated[datetime, AfterValidator(_moment), Field(
    description=_RANGE_NOTE, json_schema_extra={"pattern": moments.YEAR_PATTERN})]
# Every calendar date that comes in, in the same range.
Day = Annotated[date, AfterValidator(_day), Field(
    description=_RANGE_NOTE, json_schema_extra={"pattern": moments.YEAR_PATTERN})]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class CleanText:
    """Refuses NUL characters in any text input (databases cannot store them)."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise PydanticCustomError("nul_character", "NUL characters are not allowed.")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _aware_datetimes(cls, value: Any) -> Any:
        # A date-time without an offset is read in the server's time zone.
        if isinstance(value, datetime) and timezone.is_naive(value):
            return timezone.make_aware(value)
        return value


class InputSchema(CleanText, Schema):
    """Base of every input body: unknown (or read-only) fields are rejected with 422."""

    model_config = ConfigDict(extra="forbid")


class PatchSchema(InputSchema):
    """Partial update: declare fields as ``name: str = Field(None)`` so that omitted fields
    are left alone and an explicit ``null`` on a non-nullable field is refused."""

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, for ``service(**payload.changes())``."""
        return self.model_dump(exclude_unset=True)


def stated(choices: Iterable[Any] | None = None, **schema: Any) -> dict[str, Any]:
    """``json_schema_extra`` that states in the spec a constraint the service checks (the
    accepted values, ``minLength``, ``format``…), so clients and the fuzzer generate valid
    data; validation and its messages stay the service's."""
    if choices is not None:
        schema["enum"] = list(choices)
    return schema


def omitted(**kwargs: Any) -> Any:
    """Default of a PATCH field: left out means unchanged; ``null`` is refused unless the
    field's type allows it (the default is never validated)."""
    return Field(None, **kwargs)

