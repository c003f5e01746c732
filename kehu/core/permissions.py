"""The registry of module actions and built-in roles.

Every app registers the modules it protects (in its AppConfig.ready) and may add
permission patterns to the built-in roles, so a new module plugs in without touching
core: built-in roles resolve their patterns against the registry at check time.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise] = {
    "view": _("View"),
    "create": _("Create"),
    "change": _("Change"),
    "delete": _("Delete"),
    "export": _("Export"),
    "reveal_pii": _("Reveal personal data"),
    "admin": _("Administer"),
    "assign": _("Assign to others"),
    "review": _("Review"),
    "report": _("Team reports"),
    "erase": _("Erase personal data"),
}


class Scope:
    """Data scope of a role, from narrowest to widest."""

    OWN = "own"
    UNIT = "unit"
    SUBTREE = "subtree"
    TENANT = "tenant"

    ORDER = (OWN, UNIT, SUBTREE, TENANT)
    CHOICES = (
        (OWN, _("Own records")),
        (UNIT, _("Own unit")),
        (SUBTREE, _("Unit and everything below it")),
        (TENANT, _("Whole company")),
    )

    @classmethod
    def widest(cls, first: str | None, second: str) -> str:
        if first is None:
            return second
        return max(first, second, key=cls.ORDER.index)


@dataclass(frozen=True)
class Module:
    key: str
    label: Promise | str
    actions: tuple[str, ...]


@dataclass
class BuiltinRole:
    key: str
    label: Promise | str
    scope: str
    patterns: list[str] = field(default_factory=list)
    description: Promise | str = ""


MODULES: dict[str, Module] = {}
BUILTIN_ROLES: dict[str, BuiltinRole] = {}


def register_module(key: str, label: Promise | str, actions: tuple[str, ...]) -> None:
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise ValueError(f"Module {key} registers unknown actions: {sorted(unknown)}")
    MODULES[key] = Module(key, label, actions)


def register_builtin_role(
    key: str, label: Promise | str, scope: str, description: Promise | str = ""
) -> None:
    BUILTIN_ROLES.setdefault(key, BuiltinRole(key, label, scope, [], description))


def grant_to_builtin_role(role_key: str, *patterns: str) -> None:
    """Add permission patterns such as ``"customers.*"`` or ``"*.view"`` to a built-in role."""
    BUILTIN_ROLES[role_key].patterns.extend(patterns)


def all_permissions() -> list[str]:
    return [f"{m.key}.{a}" for m in MODULES.values() for a in m.actions]


def expand(patterns: list[str]) -> frozenset[str]:
    """Resolve patterns against the registry; unknown exact names are dropped."""
    known = all_permissions()
    result: set[str] = set()
    for pattern in patterns:
        result.update(fnmatch.filter(known, pattern))
    return frozenset(result)


def permission_label(permission: str) -> str:
    module_key, _sep, action = permission.partition(".")
    module = MODULES.get(module_key)
    module_label = str(module.label) if module else module_key
    return f"{module_label} · {ACTIONS.get(action, action)}"
