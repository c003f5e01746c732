"""core 0006: the user-role table carries tenant_id.

Each auto-created many-to-many table becomes an explicit through model on the same table
(state only), then gains ``tenant_id``: added nullable, filled from the owning row,
made NOT NULL; its unique key becomes (tenant, from, to). See docs/scale-out.md, rule 1.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def _fill(apps: Any, schema_editor: Any, app: str, model: str, source: str,
          source_model: tuple[str, str]) -> None:
    """tenant_id of every row of ``model`` from the row its ``source`` key points at."""
    rows = apps.get_model(app, model)._base_manager.using(schema_editor.connection.alias)
    owner = apps.get_model(*source_model)._base_manager.filter(pk=OuterRef(f"{source}_id"))
    rows.filter(tenant__isnull=True).update(tenant_id=Subquery(owner.values("tenant_id")[:1]))
    if schema_editor.connection.vendor == "postgresql":
        # The deferred foreign-key checks of the update run now, so that the ALTER TABLE
        # that follows in this transaction is allowed.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def backfill(apps: Any, schema_editor: Any) -> None:
    _fill(apps, schema_editor, "core", "UserRole", "user", ("core", "User"))


def _id() -> Any:
    return models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                               verbose_name="ID")


def _tenant(null: bool) -> Any:
    return models.ForeignKey(null=null, on_delete=django.db.models.deletion.PROTECT,
                             related_name="+", to="core.tenant")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0005_totp_last_step"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="UserRole",
                fields=[
                    ("id", _id()),
                    ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to=settings.AUTH_USER_MODEL)),
                    ("role", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="core.role")),
                ],
                options={"db_table": "core_user_roles", "unique_together": {("user", "role")}},
            ),
            migrations.AlterField(
                model_name="user",
                name="roles",
                field=models.ManyToManyField(blank=True, related_name="users", to="core.role", verbose_name="roles", through="core.UserRole"),
            ),
        ]),
        migrations.AddField(model_name="userrole", name="tenant", field=_tenant(True)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(model_name="userrole", name="tenant", field=_tenant(False)),
        migrations.AlterUniqueTogether(name="userrole", unique_together=set()),
        migrations.AddConstraint(
            model_name="userrole",
            constraint=models.UniqueConstraint(fields=("tenant", "user", "role"),
                                               name="core_user_roles_unique"),
        ),
    ]
