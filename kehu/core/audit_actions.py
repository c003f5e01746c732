"""The registry of audit actions and their labels.

Every audit action is registered with a label (apps do it in AppConfig.ready), so the
audit page can name and filter them, and a typo in an action name fails loudly. Pure,
so that models (``AuditEvent.action_label``) and kehu.core.audit both read it.
"""

from __future__ import annotations

from django.utils.functional import Promise

ACTIONS: dict[str, Promise | str] = {}


def register_action(key: str, label: Promise | str) -> None:
    ACTIONS[key] = label


def action_label(key: str) -> str:
    return str(ACTIONS.get(key, key))


def action_choices() -> list[tuple[str, str]]:
    return sorted(((key, f"{label} ({key})") for key, label in ACTIONS.items()),
                  key=lambda item: item[0])
