"""What the documents app contributes to permissions, built-in roles and audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action
from kehu.core.permissions import grant_to_builtin_role, register_module
from kehu.core.uploads import register_upload_folder


def register() -> None:
    from kehu.documents import storage

    register_upload_folder("documents", storage.tenant_dirs, storage.stored_names)
    register_module("documents", _("Documents"), ("view", "create", "delete"))
    for role in ("hq_manager", "province_manager", "city_manager"):
        grant_to_builtin_role(role, "documents.*")
    grant_to_builtin_role("account_manager", "documents.view", "documents.create",
                          "documents.delete")
    for agent in ("callcenter_agent", "service_agent"):
        grant_to_builtin_role(agent, "documents.view", "documents.create")
    for key, label in (
        ("document.upload", _("Document uploaded")),
        ("document.download", _("Document downloaded")),
        ("document.delete", _("Document deleted")),
    ):
        register_action(key, label)
