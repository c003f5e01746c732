"""What the engagement app contributes to permissions, built-in roles, audit, nav, panels.

Each area (interactions, tasks, notifications and the calendar, documents, reports) adds
its nav entries, customer-view panels and platform registrations (notice kinds, reminder
sources, attachment targets) in its own section below.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.audit import register_action
from kehu.core.context_processors import register_nav, register_nav_group
from kehu.core.demo import register_demo_builder
from kehu.core.permissions import grant_to_builtin_role, register_module


def register() -> None:
    from kehu.activities import demo

    register_nav_group("engagement", _("Engagement"), order=200)
    register_demo_builder(demo.build)
    _permissions()
    _audit_actions()
    _interactions()
    _tasks()
    _notifications()
    _documents()
    _reports()
    _personal_data()


def _permissions() -> None:
    register_module("interactions", _("Interactions"),
                    ("view", "create", "change", "delete", "export", "report"))
    register_module("followups", _("Follow-up plans"), ("view", "create", "change", "delete"))
    register_module("tasks", _("Tasks"), ("view", "create", "change", "delete", "assign"))
    register_module("workplans", _("Work plans"), ("view", "create", "change", "review"))

    grant_to_builtin_role("hq_manager", "interactions.*", "followups.*", "tasks.*",
                          "workplans.*")
    for manager in ("province_manager", "city_manager"):
        grant_to_builtin_role(manager, "interactions.*", "followups.*", "tasks.*",
                              "workplans.*")
    grant_to_builtin_role("account_manager", "interactions.view", "interactions.create",
                          "interactions.change", "followups.view", "followups.create",
                          "followups.change", "tasks.view", "tasks.create", "tasks.change",
                          "workplans.view", "workplans.create", "workplans.change")
    for agent in ("callcenter_agent", "service_agent"):
        grant_to_builtin_role(agent, "interactions.view", "interactions.create",
                              "followups.view", "followups.create", "followups.change",
                              "tasks.view", "tasks.create", "tasks.change")
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
        ("calendar_feed.create", _("Calendar link created")),
        ("calendar_feed.revoke", _("Calendar link revoked")),
    ):
        register_action(key, label)


# --- interactions and follow-ups: nav entries, customer-view panels, calendar sources ------
def _interactions() -> None:
    from django.urls import reverse

    from kehu.activities.services import interaction_imports
    from kehu.customers.actions import register_record_action
    from kehu.customers.importing.mapping import register_import_kind

    # Interactions import through the customers import: wizard, API, CLI and worker.
    register_import_kind(interaction_imports.KIND)

    register_record_action(
        "contact", "record-interaction", _("Record interaction"),
        lambda contact: f"{reverse('interaction_create')}?contact={contact.pk}",
        permission="interactions.create")
    from kehu.activities.calendar_registry import register_calendar_source
    from kehu.activities.selectors import followups, interactions
    from kehu.activities.selectors.followups import customer_open_followups
    from kehu.activities.selectors.interactions import customer_timeline
    from kehu.core import access
    from kehu.customers.panels import register_panel

    register_nav("interaction_list", _("Interactions"), "interactions.view", order=200,
                 group="engagement")
    register_nav("followup_list", _("Follow-ups"), "followups.view", order=210,
                 group="engagement")
    register_panel("interactions", _("Interactions"),
                   lambda actor, customer: {
                       **customer_timeline(actor=actor, customer=customer),
                       "may_record": access.has_perm(actor, "interactions.create")},
                   permission="interactions.view",
                   template="activities/interactions/_panel.html", order=10)
    register_panel("followups", _("Follow-up plans"),
                   lambda actor, customer: {
                       **customer_open_followups(actor=actor, customer_id=customer.pk),
                       "may_plan": access.has_perm(actor, "followups.create"),
                       "may_change": access.has_perm(actor, "followups.change")},
                   permission="followups.view",
                   template="activities/followups/_panel.html", order=20)
    register_calendar_source("followups", _("Follow-ups"), followups.calendar_entries,
                             permission="followups.view", order=10)
    register_calendar_source("interactions", _("Interactions"),
                             interactions.calendar_entries,
                             permission="interactions.view", order=30)


# --- tasks and work plans: nav entries and the calendar source ----------------------------
def _tasks() -> None:
    from kehu.activities.calendar_registry import register_calendar_source
    from kehu.activities.selectors import tasks

    register_nav("task_list", _("Tasks"), "tasks.view", order=220, group="engagement")
    register_nav("workplan_list", _("Work plans"), "workplans.view", order=225,
                 group="engagement")
    register_calendar_source("tasks", _("Tasks"), tasks.calendar_entries,
                             permission="tasks.view", order=20)


# --- notifications, reminders and the calendar --------------------------------------------
def _notifications() -> None:
    # Everyone has a calendar (their own tasks and follow-ups); what fills it is scoped.
    register_nav("calendar", _("Calendar"), None, order=230, group="engagement")
    from kehu.activities import reminders
    from kehu.activities.models import NoticeKind
    from kehu.activities.services.calendar import calendar_feed_get
    from kehu.notifications.registry import (
        SettingsSection,
        register_kind,
        register_reminder_source,
        register_settings_section,
    )

    for kind in NoticeKind:
        register_kind(kind.value, kind.label)
    register_reminder_source(reminders.FOLLOWUP_REMINDERS)
    register_reminder_source(reminders.TASK_REMINDERS)
    # The calendar link card on the reminder settings page.
    register_settings_section(SettingsSection(
        name="calendar_feed", template="activities/calendar/_feed_settings.html",
        context=lambda user: {"feed": calendar_feed_get(actor=user)}, order=100,
        link=("calendar", _("Calendar"))))


# --- documents: interactions carry files, shown on their customer's documents panel ---------
def _documents() -> None:
    from kehu.activities.models import Interaction
    from kehu.documents.registry import register_attachment_target

    register_attachment_target("activities.interaction", Interaction, label=_("interaction"),
                               choose_message=_("Choose an interaction you can see."),
                               rolls_up_to={"customers.customer": "customer"})


# --- manager views ---------------------------------------------------------------------------
def _reports() -> None:
    register_nav("engagement_report", _("Engagement report"), "interactions.report",
                 order=260, group="engagement")


# --- personal-data requests (PIPL): interactions in exports, erasure and retention ------
def _personal_data() -> None:
    from kehu.activities.services import personal_data
    from kehu.customers.personal_data import register_personal_data_source

    register_personal_data_source("interactions", _("Interactions"),
                                  export=personal_data.export, erase=personal_data.erase,
                                  expire=personal_data.expire)
