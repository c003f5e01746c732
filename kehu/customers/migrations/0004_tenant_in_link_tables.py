"""customers 0004: customer tags, contact tags and import issues carry tenant_id.

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
    _fill(apps, schema_editor, "customers", "CustomerTag", "customer",
          ("customers", "Customer"))
    _fill(apps, schema_editor, "customers", "ContactTag", "contact", ("customers", "Contact"))
    _fill(apps, schema_editor, "customers", "ImportIssue", "job", ("customers", "ImportJob"))


def _id() -> Any:
    return models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                               verbose_name="ID")


def _tenant(null: bool) -> Any:
    return models.ForeignKey(null=null, on_delete=django.db.models.deletion.PROTECT,
                             related_name="+", to="core.tenant")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_user_roles_tenant"),
        ("customers", "0003_list_order_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="CustomerTag",
                fields=[
                    ("id", _id()),
                    ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="customers.customer")),
                    ("tag", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="customers.tag")),
                ],
                options={"db_table": "customers_customer_tags", "unique_together": {("customer", "tag")}},
            ),
            migrations.AlterField(
                model_name="customer",
                name="tags",
                field=models.ManyToManyField(blank=True, related_name="customers", to="customers.tag", verbose_name="tags", through="customers.CustomerTag"),
            ),
        ]),
        migrations.AddField(model_name="customertag", name="tenant", field=_tenant(True)),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="ContactTag",
                fields=[
                    ("id", _id()),
                    ("contact", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="customers.contact")),
                    ("tag", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="customers.tag")),
                ],
                options={"db_table": "customers_contact_tags", "unique_together": {("contact", "tag")}},
            ),
            migrations.AlterField(
                model_name="contact",
                name="tags",
                field=models.ManyToManyField(blank=True, related_name="contacts", to="customers.tag", verbose_name="tags", through="customers.ContactTag"),
            ),
        ]),
        migrations.AddField(model_name="contacttag", name="tenant", field=_tenant(True)),
        migrations.AddField(model_name="importissue", name="tenant", field=_tenant(True)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(model_name="customertag", name="tenant", field=_tenant(False)),
        migrations.AlterUniqueTogether(name="customertag", unique_together=set()),
        migrations.AddConstraint(
            model_name="customertag",
            constraint=models.UniqueConstraint(fields=("tenant", "customer", "tag"),
                                               name="customers_customer_tags_unique"),
        ),
        migrations.AlterField(model_name="contacttag", name="tenant", field=_tenant(False)),
        migrations.AlterUniqueTogether(name="contacttag", unique_together=set()),
        migrations.AddConstraint(
            model_name="contacttag",
            constraint=models.UniqueConstraint(fields=("tenant", "contact", "tag"),
                                               name="customers_contact_tags_unique"),
        ),
        migrations.AlterField(model_name="importissue", name="tenant", field=_tenant(False)),
    ]
