"""What the notifications app contributes at start-up: its audit action. (The header badge
is in the shared layout, fed by kehu.notifications.context_processors.)"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action


def register() -> None:
    register_action("reminder_settings.update", _("Reminder settings changed"))
