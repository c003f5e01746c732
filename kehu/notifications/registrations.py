"""What the notifications app contributes to audit and navigation."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action


def register() -> None:
    register_action("reminder_settings.update", _("Reminder settings changed"))
