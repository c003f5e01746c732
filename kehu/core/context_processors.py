"""Navigation entries shown to a user, by permission. Apps add theirs with ``register_nav``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from kehu.core import access


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Promise | str
    permission: str | None
    order: int = 100


NAV: list[NavItem] = []


def register_nav(url_name: str, label: Promise | str, permission: str | None,
                 order: int = 100) -> None:
    NAV.append(NavItem(url_name, label, permission, order))
    NAV.sort(key=lambda item: item.order)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"url": reverse(item.url_name), "label": item.label, "name": item.url_name,
         "active": request.path.startswith(reverse(item.url_name))
         and (item.url_name != "home" or request.path == reverse("home"))}
        for item in NAV
        if item.permission is None or access.has_perm(user, item.permission)
    ]
    return {"nav_items": items}
