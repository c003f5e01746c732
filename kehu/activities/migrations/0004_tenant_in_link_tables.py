"""activities 0003 (tenant_id in link tables): interaction contacts and participants.

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
    _fill(apps, schema_editor, "activities", "InteractionContact", "interaction",
          ("activities", "Interaction"))
    _fill(apps, schema_editor, "activities", "InteractionParticipant", "interaction",
          ("activities", "Interaction"))


def _id() -> Any:
    return models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                               verbose_name="ID")


def _tenant(null: bool) -> Any:
    return models.ForeignKey(null=null, on_delete=django.db.models.deletion.PROTECT,
                             related_name="+", to="core.tenant")


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0003_clamp_dates"),
        ("customers", "0004_tenant_in_link_tables"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="InteractionContact",
                fields=[
                    ("id", _id()),
                    ("interaction", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="activities.interaction")),
                    ("contact", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="customers.contact")),
                ],
                options={"db_table": "activities_interaction_contacts", "unique_together": {("interaction", "contact")}},
            ),
            migrations.AlterField(
                model_name="interaction",
                name="contacts",
                field=models.ManyToManyField(blank=True, related_name="interactions", to="customers.contact",
                                             verbose_name="contacts", through="activities.InteractionContact"),
            ),
        ]),
        migrations.AddField(model_name="interactioncontact", name="tenant", field=_tenant(True)),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="InteractionParticipant",
                fields=[
                    ("id", _id()),
                    ("interaction", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to="activities.interaction")),
                    ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             to=settings.AUTH_USER_MODEL)),
                ],
                options={"db_table": "activities_interaction_participants", "unique_together": {("interaction", "user")}},
            ),
            migrations.AlterField(
                model_name="interaction",
                name="participants",
                field=models.ManyToManyField(blank=True, related_name="interactions_joined",
                                             to=settings.AUTH_USER_MODEL, verbose_name="participants", through="activities.InteractionParticipant"),
            ),
        ]),
        migrations.AddField(model_name="interactionparticipant", name="tenant", field=_tenant(True)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(model_name="interactioncontact", name="tenant", field=_tenant(False)),
        migrations.AlterUniqueTogether(name="interactioncontact", unique_together=set()),
        migrations.AddConstraint(
            model_name="interactioncontact",
            constraint=models.UniqueConstraint(fields=("tenant", "interaction", "contact"),
                                               name="activities_interaction_contacts_unique"),
        ),
        migrations.AlterField(model_name="interactionparticipant", name="tenant", field=_tenant(False)),
        migrations.AlterUniqueTogether(name="interactionparticipant", unique_together=set()),
        migrations.AddConstraint(
            model_name="interactionparticipant",
            constraint=models.UniqueConstraint(fields=("tenant", "interaction", "user"),
                                               name="activities_interaction_participants_unique"),
        ),
    ]
