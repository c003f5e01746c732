"""What the customers app contributes to permissions, built-in roles, audit and nav, and
the attachment targets and documents panel of kehu.documents."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action
from kehu.core.context_processors import register_nav, register_nav_group
from kehu.core.demo import register_demo_builder
from kehu.core.permissions import grant_to_builtin_role, register_module
from kehu.core.uploads import register_upload_folder


def register() -> None:
    from kehu.core.models import register_shareable
    from kehu.customers import demo
    from kehu.customers.importing import files as import_files
    from kehu.customers.models import Contact, Customer
    from kehu.customers.panels import register_panel
    from kehu.documents import selectors as documents
    from kehu.documents.registry import register_attachment_target

    register_demo_builder(demo.build)
    _personal_data_actions()
    # Contacts, interactions and tasks are seen through their customer or owner: only the
    # customer record itself is shared (docs/access-control.md).
    register_shareable(Customer)
    register_upload_folder("imports", lambda: [import_files.import_dir()],
                           import_files.referenced_files)
    register_attachment_target(
        "customers.customer", Customer, label=_("customer"),
        choose_message=_("Choose a customer you can see."),
        attachable=lambda actor: Customer.objects.visible_to(actor).live())
    register_attachment_target("customers.contact", Contact, label=_("contact"),
                               choose_message=_("Choose a contact you can see."))
    register_panel("documents", _("Documents"), documents.panel_for,
                   permission="documents.view", template="documents/panel.html", order=60)
    register_nav("customer_list", _("Customers"), "customers.view", order=100)
    register_nav("contact_list", _("Contacts"), "contacts.view", order=110)
    register_nav_group("customer_data", _("Customer data"), order=115)
    register_nav("import_list", _("Imports"), "imports.view", order=120, group="customer_data")
    register_nav("duplicate_list", _("Duplicates"), "customers.admin", order=130,
                 group="customer_data")
    register_nav("quality_report", _("Data quality"), "customers.export", order=140,
                 group="customer_data")
    register_nav("retention_rules", _("Retention rules"), "privacy.erase", order=150,
                 group="customer_data")

    register_module("customers", _("Customers"),
                    ("view", "create", "change", "delete", "export", "reveal_pii", "admin"))
    register_module("contacts", _("Contacts"),
                    ("view", "create", "change", "delete", "export", "reveal_pii"))
    register_module("imports", _("Imports"), ("view", "create"))
    # Personal-data requests (PIPL): export and erasure, granted to no role but the
    # tenant administrator ("*") unless a custom role is given them.
    register_module("privacy", _("Personal-data requests"), ("export", "erase"))

    for key, label in (
        ("customer.create", _("Customer created")),
        ("customer.update", _("Customer changed")),
        ("customer.status", _("Customer status changed")),
        ("customer.transfer", _("Customer transferred")),
        ("customer.merge", _("Customers merged")),
        ("customer.reveal", _("Personal data revealed")),
        ("customer.export", _("Customers exported")),
        ("customer.relationship_add", _("Customer relationship added")),
        ("customer.relationship_remove", _("Customer relationship removed")),
        ("customer.external_id_add", _("External id attached")),
        ("customer.external_id_remove", _("External id removed")),
        ("contact.create", _("Contact created")),
        ("contact.update", _("Contact changed")),
        ("contact.link", _("Contact linked to a customer")),
        ("contact.unlink", _("Contact unlinked from a customer")),
        ("contact.reveal", _("Contact personal data revealed")),
        ("contact.export", _("Contacts exported")),
        ("import.create", _("Import uploaded")),
        ("import.run", _("Import run")),
        ("import.retry", _("Import started again")),
        ("privacy.export", _("Personal data exported")),
        ("privacy.erase", _("Personal data erased")),
        ("retention.rule", _("Retention rule set")),
        ("retention.run", _("Retention rule applied")),
    ):
        register_action(key, label)

    grant_to_builtin_role("hq_manager", "customers.*", "contacts.*", "imports.*")
    for manager in ("province_manager", "city_manager"):
        grant_to_builtin_role(manager, "customers.view", "customers.create", "customers.change",
                              "customers.export", "customers.reveal_pii", "contacts.view",
                              "contacts.create", "contacts.change", "contacts.export",
                              "contacts.reveal_pii", "imports.*")
    grant_to_builtin_role("account_manager", "customers.view", "customers.create",
                          "customers.change", "contacts.view", "contacts.create",
                          "contacts.change", "imports.*")
    for agent in ("callcenter_agent", "service_agent"):
        grant_to_builtin_role(agent, "customers.view", "contacts.view")
    grant_to_builtin_role("marketing_specialist", "customers.view", "customers.export",
                          "contacts.view", "contacts.export")


def _personal_data_actions() -> None:
    from django.urls import reverse

    from kehu.customers.actions import register_record_action
    from kehu.customers.models import Kind

    register_record_action(
        "customer", "personal-data", _("Personal data"),
        lambda customer: reverse("customer_personal_data", args=[customer.pk]),
        permission="privacy.export", order=900,
        applies=lambda customer: customer.kind == Kind.INDIVIDUAL)
    register_record_action(
        "contact", "personal-data", _("Personal data"),
        lambda contact: reverse("contact_personal_data", args=[contact.pk]),
        permission="privacy.export", order=900)
