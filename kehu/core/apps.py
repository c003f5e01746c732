from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_builtin_roles(sender: AppConfig, **kwargs: Any) -> None:
    # Set-up, like Django's own permissions: a module registered after a tenant signed up
    # reaches that tenant's built-in roles on the next migrate.
    from kehu.core.services.tenants import builtin_roles_sync

    builtin_roles_sync()


class CoreConfig(AppConfig):
    name = "kehu.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from kehu.core import registrations

        registrations.register()
        post_migrate.connect(_sync_builtin_roles, sender=self)
