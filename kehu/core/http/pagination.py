"""Declared ``limit``/``offset`` and the list shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from django.db import models
from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kehu.core.http.inputs import MAX_ID, CleanText

T = TypeVar("T")


DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The row to start a list at: bounded so ``offset + limit`` still fits a database integer.
Offset = Annotated[int, Field(ge=0, le=MAX_ID - MAX_LIMIT)]


class PageQuery(CleanText, Schema):
    """Declared paging parameters; list filters subclass this."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: Offset = 0


class Searchable(Schema):
    """A list's search text: ``q``, also accepted as ``search`` (its older name on some
    lists). The two with different values are refused (422 on ``search``)."""

    q: str = Field("", max_length=100, description="Search text.")
    search: str = Field("", max_length=100, description=(
        "The same as `q` (an older name); giving both with different values is refused."))

    @model_validator(mode="before")
    @classmethod
    def _search_is_q(cls, data: Any) -> Any:
        # Ninja hands a Schema its input wrapped in a DjangoGetter.
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if isinstance(raw, dict) and raw.get("search") and not raw.get("q") \
                and "\x00" not in str(raw["search"]):  # refused once, on `search` alone
            return {**raw, "q": raw["search"]}
        return data

    @field_validator("search")
    @classmethod
    def _search_agrees(cls, value: str, info: ValidationInfo) -> str:
        if value and value != info.data.get("q", value):
            raise PydanticCustomError("search_conflict", "q and search differ.")
        return value


class Page(Schema, Generic[T]):
    count: int
    count_capped: bool = Field(
        False, description="True when there are more rows than `count`: large lists stop "
        "counting at a cap rather than count every row.")
    items: list[T]
    limit: int
    offset: int


def paginate(qs: Any, query: PageQuery, ordering: str | Sequence[str] | None = None,
             count_cap: int | None = None) -> dict:
    """One page of ``qs`` (a queryset or a list) in the list shape. With ``count_cap``
    the count stops there (``count_capped``): counting a million rows costs more than the
    page itself."""
    if ordering:
        qs = qs.order_by(*([ordering] if isinstance(ordering, str) else ordering))
    capped = False
    if not isinstance(qs, models.QuerySet):
        count = len(qs)
    elif count_cap is not None:
        count = qs.order_by()[: count_cap + 1].count()
        capped = count > count_cap
        count = min(count, count_cap)
    else:
        count = qs.count()
    items = list(qs[query.offset: query.offset + query.limit])
    return {"count": count, "count_capped": capped, "items": items, "limit": query.limit,
            "offset": query.offset}

