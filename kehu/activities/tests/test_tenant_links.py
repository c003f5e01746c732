"""Link rows (user roles, tags, interaction contacts and participants, import issues)
carry the tenant of the row that owns them, and the migration that added ``tenant_id``
fills it in for rows written before it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kehu.activities.models import Interaction, InteractionContact, InteractionParticipant
from kehu.core.models import TenantLink, UserRole
from kehu.customers.models import ContactTag, Customer, CustomerTag, ImportIssue, ImportJob
from kehu.customers.services.common import tags_for
from kehu.customers.services.customers import customer_update

# (model, the key whose row owns it)
LINKS: list[tuple[type[Any], str]] = [
    (UserRole, "user"), (CustomerTag, "customer"), (ContactTag, "contact"),
    (InteractionContact, "interaction"), (InteractionParticipant, "interaction"),
    (ImportIssue, "job"),
]

BEFORE = [("core", "0005_totp_last_step"), ("customers", "0003_list_order_index"),
          ("activities", "0003_clamp_dates")]
AFTER = [("core", "0006_user_roles_tenant"), ("customers", "0004_tenant_in_link_tables"),
         ("activities", "0004_tenant_in_link_tables")]


def _owner_tenants(model: type[Any], source: str) -> list[tuple[int | None, int]]:
    """(link row's tenant_id, owning row's tenant_id) for every row."""
    return list(model._base_manager.values_list("tenant_id", f"{source}__tenant_id"))


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _job(world: Any) -> ImportJob:
    return ImportJob.objects.create(
        tenant=world.tenant, org_unit=world.hq, owner=world.hq_admin,
        entity=ImportJob.Entity.CUSTOMERS, file_name="客户.csv", stored_name="x.csv",
        file_format="csv")


def _rows_of_both_tenants(world: Any, book: Any, engagement: Any) -> None:
    customer, contact = book.rep, book.rep_contact
    customer_update(actor=world.hq_admin, customer_id=customer.pk, tags=["重点"])
    book.other_tenant.tags.add(*tags_for(world.other_tenant_admin, ["重点"]))
    contact.tags.add(*customer.tags.all())  # no through_defaults: filled from the contact
    interaction = Interaction.objects.filter(customer=customer).first()
    assert interaction is not None
    interaction.participants.add(world.city_a1_rep)
    ImportIssue.objects.create(tenant=world.tenant, job=_job(world), row=2, kind="error",
                               message="缺少名称")


def test_link_rows_carry_their_owner_tenant(world, book, engagement):
    _rows_of_both_tenants(world, book, engagement)
    assert issubclass(UserRole, TenantLink)
    for model, source in LINKS:
        pairs = _owner_tenants(model, source)
        assert pairs, f"no {model.__name__} rows"
        assert all(mine == owner for mine, owner in pairs), model.__name__
    # Both tenants' rows exist: each link row names its own tenant.
    for model, source in ((UserRole, "user"), (CustomerTag, "customer")):
        assert {t for t, _o in _owner_tenants(model, source)} == {
            world.tenant.pk, world.other_tenant.pk}


def test_customer_tags_unique_per_tenant_customer_and_tag(world, book):
    customer = book.rep
    tags = tags_for(world.hq_admin, ["甲"])
    customer.tags.add(*tags)
    customer.tags.add(*tags)  # a second add is a no-op, as before
    assert CustomerTag.objects.filter(customer=customer).count() == 1
    assert Customer.objects.get(pk=customer.pk).tags.count() == 1


@pytest.mark.django_db(transaction=True)
def test_migration_fills_tenant_id_from_the_owning_row(world, book, engagement):
    _rows_of_both_tenants(world, book, engagement)
    counts = {model: model._base_manager.count() for model, _s in LINKS}
    try:
        old = _migrate(BEFORE)
        # Written by the old schema: link tables without tenant_id.
        old_through = old.get_model("customers", "Customer").tags.through
        assert "tenant" not in {f.name for f in old_through._meta.fields}
        tag = old.get_model("customers", "Tag").objects.filter(tenant_id=world.tenant.pk).first()
        old_through.objects.create(customer_id=book.hq.pk, tag_id=tag.pk)
        analyst = world.role("analyst", world.other_tenant)
        old.get_model("core", "User").roles.through.objects.create(
            user_id=world.other_tenant_admin.pk, role_id=analyst.pk)
        new = _migrate(AFTER)
        assert new.get_model("customers", "CustomerTag")._meta.get_field("tenant")
    finally:
        _migrate(_latest())
    counts[CustomerTag] += 1
    counts[UserRole] += 1
    for model, source in LINKS:
        assert model._base_manager.count() == counts[model], model.__name__
        pairs = _owner_tenants(model, source)
        assert all(mine is not None and mine == owner for mine, owner in pairs), model.__name__
    assert UserRole.objects.filter(user=world.other_tenant_admin,
                                   tenant=world.other_tenant).count() == 2
    assert {t for t, _o in _owner_tenants(CustomerTag, "customer")} == {
        world.tenant.pk, world.other_tenant.pk}
