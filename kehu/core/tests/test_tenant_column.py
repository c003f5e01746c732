"""Every Kehu table carries ``tenant_id`` (docs/scale-out.md, rule 1), many-to-many link
tables included, and a link table's unique key includes it (rule 2)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

KEHU_APPS = {"core", "customers", "activities", "documents", "notifications"}

# Tables that are global by design: looked up before the tenant is known, or the tenant
# itself (docs/scale-out.md, rule 2). Keep tenant data out of them.
GLOBAL_TABLES = {
    "core.Tenant",  # the tenant itself
}


def _kehu_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models(include_auto_created=True)
            if m._meta.app_label in KEHU_APPS]


def _tenant_field(model: type[models.Model]) -> Any:
    try:
        return model._meta.get_field("tenant")
    except Exception:  # FieldDoesNotExist
        return None


def test_every_kehu_table_has_tenant_id() -> None:
    missing = [f"{m._meta.label} ({m._meta.db_table})" for m in _kehu_models()
               if m._meta.label not in GLOBAL_TABLES and _tenant_field(m) is None]
    assert missing == [], f"tables without tenant_id: {missing}"


def test_tenant_column_is_a_foreign_key_to_tenant() -> None:
    tenant = apps.get_model("core", "Tenant")
    for model in _kehu_models():
        field = _tenant_field(model)
        if field is not None:
            assert field.related_model is tenant, model._meta.label


def test_many_to_many_links_have_tenant_in_their_unique_key() -> None:
    links: set[Any] = {field.remote_field.through for model in _kehu_models()
             for field in model._meta.local_many_to_many}
    assert links, "no many-to-many fields found"
    for through in links:
        tenant = _tenant_field(through)
        assert tenant is not None and not tenant.null, through._meta.label
        uniques = [c.fields for c in through._meta.constraints
                   if isinstance(c, models.UniqueConstraint)]
        uniques += [tuple(t) for t in through._meta.unique_together]
        assert uniques, f"{through._meta.label} has no unique key"
        assert all("tenant" in fields for fields in uniques), through._meta.label
        assert any(len(fields) == 3 for fields in uniques), through._meta.label
