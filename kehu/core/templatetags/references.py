"""Related records in templates, through the one helper (kehu.core.references):
``{% shown obj as r %}`` gives ``{"id", "name", "redacted"}`` (``redacted``: a record the
reader may not see, neither named nor linked; None: no record) and
``{% shown_split records as pair %}`` the visible ones (``pair.0``) and how many others
there are (``pair.1``). Views prime a page's records first (``references.prime_objects``)
so lists keep a fixed query count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from kehu.core import references

register = template.Library()


def _reader(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.simple_tag(takes_context=True)
def shown(context: template.Context, obj: Any) -> dict[str, Any] | None:
    return references.ref(_reader(context), obj)


@register.simple_tag(takes_context=True)
def shown_split(context: template.Context, records: Iterable[Any]) -> tuple[list[Any], int]:
    return references.split(_reader(context), records)
