"""``{% attachments obj %}``: the documents of a customer, contact or interaction, with an
upload form for those who may add one. Owned by the documents area."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def attachments(context: dict[str, Any], obj: Any) -> str:
    return ""
