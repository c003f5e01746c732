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
    group: str | None = None


@dataclass(frozen=True)
class NavGroup:
    """A drop-down in the header holding related entries, so the bar stays one line."""

    key: str
    label: Promise | str
    order: int


NAV: list[NavItem] = []
NAV_GROUPS: dict[str, NavGroup] = {}


def register_nav(url_name: str, label: Promise | str, permission: str | None,
                 order: int = 100, group: str | None = None) -> None:
    # Keyed by URL name: registrations run again when the app registry is rebuilt
    # (tests that change INSTALLED_APPS), and must not add a second entry.
    NAV[:] = [item for item in NAV if item.url_name != url_name]
    NAV.append(NavItem(url_name, label, permission, order, group))
    NAV.sort(key=lambda item: item.order)


def register_nav_group(key: str, label: Promise | str, order: int) -> None:
    """Entries registered with ``group=key`` appear under one drop-down at ``order``."""
    NAV_GROUPS[key] = NavGroup(key, label, order)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    entries: list[tuple[int, dict[str, Any]]] = []
    groups: dict[str, dict[str, Any]] = {}
    for item in NAV:
        if item.permission is not None and not access.has_perm(user, item.permission):
            continue
        url = reverse(item.url_name)
        entry = {"url": url, "label": item.label, "name": item.url_name,
                 "active": request.path.startswith(url)
                 and (item.url_name != "home" or request.path == reverse("home"))}
        group = NAV_GROUPS.get(item.group or "")
        if group is None:
            entries.append((item.order, entry))
            continue
        if group.key not in groups:
            groups[group.key] = {"group": group.key, "label": group.label, "items": [],
                                 "active": False}
            entries.append((group.order, groups[group.key]))
        groups[group.key]["items"].append(entry)
        groups[group.key]["active"] |= entry["active"]
    entries.sort(key=lambda pair: pair[0])
    return {"nav_items": [entry for _order, entry in entries]}
