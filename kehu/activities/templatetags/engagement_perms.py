"""``{{ user|may:"interactions.create" }}``: whether a user holds a module action, for
buttons on pages of other apps (the contact page's "Record interaction")."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.core import access

register = template.Library()


@register.filter
def may(user: Any, permission: str) -> bool:
    return access.has_perm(user, permission)
