"""Documents: files attached to any registered record (kehu.documents.registry).

The bytes live under the data folder with a generated name (``storage_name``), never
under the web root; ``kehu.documents.storage`` reads and writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import TenantOwned
from kehu.documents import registry

if TYPE_CHECKING:
    from kehu.core.models import User


class Document(TenantOwned):
    """A file attached to exactly one record of a registered type."""

    access_module = "documents"
    audit_exclude = frozenset({"updated_at", "created_at", "version", "storage_name"})

    # The record it is attached to: a registered key ("customers.customer") and its id.
    target_type = models.CharField(_("attached to"), max_length=50)
    target_id = models.PositiveBigIntegerField()
    file_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, editable=False)
    storage_name = models.CharField(max_length=100, unique=True, editable=False)
    description = models.CharField(_("description"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                    related_name="+", verbose_name=_("uploaded by"))

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "target_type", "target_id"],
                         name="documents_doc_target"),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_image(self) -> bool:
        from kehu.documents.storage import PREVIEWABLE_TYPES

        return self.content_type in PREVIEWABLE_TYPES

    @property
    def target(self) -> Any:
        """The record this file is attached to (one query, cached on the instance)."""
        cached = getattr(self, "_target_cache", None)
        if cached is None or cached.pk != self.target_id:
            model: Any = registry.target(self.target_type).model
            cached = model.objects.get(pk=self.target_id, tenant_id=self.tenant_id)
            self._target_cache = cached
        return cached

    @classmethod
    def scope_q(cls, user: User, scope: str) -> Q:
        condition = super().scope_q(user, scope)
        for target in registry.TARGETS.values():
            model: Any = target.model
            ids = model.objects.filter(model.scope_q(user, scope),
                                       tenant_id=user.tenant_id).values("pk")
            condition |= Q(target_type=target.key, target_id__in=ids)
        return condition

    def in_scope(self, user: User, scope: str) -> bool:
        if super().in_scope(user, scope):
            return True
        return bool(self.target.in_scope(user, scope))
