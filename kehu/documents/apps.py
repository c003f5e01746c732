from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "kehu.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from kehu.documents import registrations

        registrations.register()
