"""What the engagement app contributes to permissions, built-in roles, audit, nav, panels.

Each area (interactions, tasks, notifications, documents, reports) adds its nav entries
and customer-view panels in its own section below.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action
from kehu.core.permissions import grant_to_builtin_role, register_module


def register() -> None:
    _permissions()
    _audit_actions()
    _interactions()
    _tasks()
    _notifications()
    _documents()
    _reports()


def _permissions() -> None:
    register_module("interactions", _("Interactions"),
                    ("view", "create", "change", "delete", "export", "report"))
    register_module("followups", _("Follow-up plans"), ("view", "create", "change", "delete"))
    register_module("tasks", _("Tasks"), ("view", "create", "change", "delete", "assign"))
    register_module("workplans", _("Work plans"), ("view", "create", "change", "review"))
    register_module("documents", _("Documents"), ("view", "create", "delete"))

    grant_to_builtin_role("hq_manager", "interactions.*", "followups.*", "tasks.*",
                          "workplans.*", "documents.*")
    for manager in ("province_manager", "city_manager"):
        grant_to_builtin_role(manager, "interactions.*", "followups.*", "tasks.*",
                              "workplans.*", "documents.*")
    grant_to_builtin_role("account_manager", "interactions.view", "interactions.create",
                          "interactions.change", "followups.view", "followups.create",
                          "followups.change", "tasks.view", "tasks.create", "tasks.change",
                          "workplans.view", "workplans.create", "workplans.change",
                          "documents.view", "documents.create", "documents.delete")
    for agent in ("callcenter_agent", "service_agent"):
        grant_to_builtin_role(agent, "interactions.view", "interactions.create",
                              "followups.view", "followups.create", "followups.change",
                              "tasks.view", "tasks.create", "tasks.change", "documents.view",
                              "documents.create")
    grant_to_builtin_role("marketing_specialist", "interactions.view")


def _audit_actions() -> None:
    for key, label in (
        ("interaction.create", _("Interaction recorded")),
        ("interaction.update", _("Interaction changed")),
        ("interaction.delete", _("Interaction deleted")),
        ("interaction.import", _("Interactions imported")),
        ("followup.create", _("Follow-up planned")),
        ("followup.update", _("Follow-up changed")),
        ("followup.complete", _("Follow-up done")),
        ("followup.cancel", _("Follow-up cancelled")),
        ("task.create", _("Task created")),
        ("task.update", _("Task changed")),
        ("task.status", _("Task status changed")),
        ("task.comment", _("Task commented")),
        ("workplan.create", _("Work plan created")),
        ("workplan.update", _("Work plan changed")),
        ("workplan.submit", _("Work plan submitted")),
        ("workplan.review", _("Work plan reviewed")),
        ("workplan.comment", _("Work plan commented")),
        ("document.upload", _("Document uploaded")),
        ("document.download", _("Document downloaded")),
        ("document.delete", _("Document deleted")),
        ("calendar_feed.create", _("Calendar link created")),
        ("calendar_feed.revoke", _("Calendar link revoked")),
    ):
        register_action(key, label)


# --- interactions and follow-ups: nav entries and the customer-view panels ----------------
def _interactions() -> None:
    pass


# --- tasks and work plans -----------------------------------------------------------------
def _tasks() -> None:
    pass


# --- notifications, reminders and the calendar --------------------------------------------
def _notifications() -> None:
    pass


# --- documents ------------------------------------------------------------------------------
def _documents() -> None:
    pass


# --- manager views ---------------------------------------------------------------------------
def _reports() -> None:
    pass
