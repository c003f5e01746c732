"""The audit diff in the reader's words: field labels, choice labels, role and unit
names (only those the reader may see), login-failure reasons.

Presentation only, shared by the audit log page (kehu.core.views.audit)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import permissions, selectors
from kehu.core.models import OrgUnit, User

# Codes that auth.login_failed events carry in ``changes["reason"]``.
LOGIN_FAILURE_REASONS = {
    "wrong_password": gettext_lazy("Wrong password"),
    "unknown_email": gettext_lazy("Unknown email address"),
    "locked": gettext_lazy("Account locked"),
    "locked_now": gettext_lazy("Wrong password; the account is now locked"),
    "inactive": gettext_lazy("Account deactivated"),
    "wrong_totp": gettext_lazy("Wrong authentication code"),
}

# Labels for change keys that are not fields of the event's model, or whose field has
# no translatable verbose name.
CHANGE_LABELS = {
    "id": gettext_lazy("ID"),
    "path": gettext_lazy("Tree path"),
    "depth": gettext_lazy("Depth in the tree"),
    "builtin_key": gettext_lazy("Built-in role key"),
    "reason": gettext_lazy("Reason"),
    "permission": gettext_lazy("Permission"),
    "filters": gettext_lazy("Filters"),
    "rows": gettext_lazy("Rows"),
    "shared_with": gettext_lazy("Shared with"),
    "can_change": gettext_lazy("Can change"),
}

Names = dict[str, dict[int, str]]  # "roles" / "units" → id → name


@cache
def _audit_models() -> dict[str, type[Model]]:
    """Kehu's models by the name audit rows store as ``object_type``."""
    return {m._meta.model_name or "": m for m in apps.get_models()
            if m.__module__.startswith("kehu.")}


def object_type_label(object_type: str) -> str:
    model = _audit_models().get(object_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else object_type


def _model_field(object_type: str, key: str) -> Any:
    model = _audit_models().get(object_type)
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None


def _names_kind(key: str, field: Any) -> str | None:
    """Which ids a change holds: role ids under ``roles``, unit ids in unit fields."""
    if key == "roles":
        return "roles"
    if field is not None and getattr(field, "related_model", None) is OrgUnit:
        return "units"
    return None


def _ids_in(value: Any) -> Iterator[int]:
    if isinstance(value, list):
        for item in value:
            yield from _ids_in(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def audit_names(me: User, events: list[Any]) -> Names:
    """Names of the roles and units the page's changes mention: one query for each."""
    ids: dict[str, set[int]] = {"roles": set(), "units": set()}
    for event in events:
        for key, value in (event.changes or {}).items():
            kind = _names_kind(key, _model_field(event.object_type, key))
            if kind is not None:
                ids[kind].update(_ids_in(value))
    # Only records the reader may see are named; others stay "#id".
    names: Names = {"roles": {}, "units": {}}
    if ids["roles"]:
        names["roles"] = {role.pk: role.display_name for role in
                          selectors.role_list(actor=me).filter(pk__in=ids["roles"])}
    if ids["units"]:
        names["units"] = dict(selectors.org_unit_list(actor=me)
                              .filter(pk__in=ids["units"]).values_list("pk", "name"))
    return names


def change_lines(event: Any, names: Names | None = None) -> list[tuple[str, str, str]]:
    """``(label, text, key)`` per changed field, in the reader's words."""
    lines = []
    for key, value in (event.changes or {}).items():
        field = _model_field(event.object_type, key)
        verbose = getattr(field, "verbose_name", None)
        if isinstance(verbose, Promise):  # marked for translation
            label = capfirst(str(verbose))
        else:
            label = str(CHANGE_LABELS.get(key, key))
        lines.append((label, _change_text(value, key, field, names or {}), key))
    return lines


def _change_text(value: Any, key: str = "", field: Any = None,
                 names: Names | None = None) -> str:
    """``[before, after]`` as "before → after"; each side as _change_value shows it."""
    if isinstance(value, list) and len(value) == 2:
        return " → ".join(_change_value(v, key, field, names or {}) for v in value)
    return _change_value(value, key, field, names or {})


def _change_value(value: Any, key: str, field: Any, names: Names) -> str:
    if value is None or value == "" or value == []:
        return "∅"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    kind = _names_kind(key, field)
    if kind is not None and isinstance(value, (int, list)):
        known = names.get(kind, {})
        return _join(known.get(pk, f"#{pk}") for pk in _ids_in(value))
    if key in ("permission", "permissions") and isinstance(value, (str, list)):
        perms = [value] if isinstance(value, str) else value
        return _join(permissions.permission_label(str(p)) for p in perms)
    if key == "reason" and isinstance(value, str):
        return str(LOGIN_FAILURE_REASONS.get(value, value))
    if key == "data_scope" and isinstance(value, str):
        return str(dict(permissions.Scope.CHOICES).get(value, value))
    choices = dict(getattr(field, "flatchoices", None) or ())
    if isinstance(value, (str, int)) and value in choices:
        return str(choices[value])
    if isinstance(value, list):
        return _join(_change_value(v, key, field, names) for v in value)
    return _plain_text(value)


def _join(texts: Iterable[str]) -> str:
    return ", ".join(texts)


def _plain_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

