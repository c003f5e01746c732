from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kehu.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from kehu.core import registrations

        registrations.register()
        from kehu.core import nav  # noqa: F401  (registers core's navigation entries)
