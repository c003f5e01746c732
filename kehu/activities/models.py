"""Engagement: interactions, follow-up plans, tasks, work plans and the calendar feed.

Access follows the one policy (kehu.core.models.TenantQuerySet.visible_to):

- an interaction or follow-up is visible to whoever its own unit/owner places it
  with (the person who did the work and their managers) *and* to whoever may see its
  customer in the same scope, so a customer's timeline follows the customer to a new owner;
  an interaction is also visible to its participants (in any scope they hold);
- a task is visible to its assignee's unit/owner and to the person who assigned it;
- a work plan belongs to its account manager and their managers.

Notifications and documents are platform apps (kehu.notifications, kehu.documents).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.models import TenantLink, TenantOwned
from kehu.customers.models import Customer
from kehu.notifications.models import Reminding

if TYPE_CHECKING:
    from kehu.core.models import User


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    NOTE = "note", _("Note")
    OTHER = "other", _("Other")


# Kinds that take place at a time and so appear on the calendar.
CALENDAR_KINDS = (InteractionKind.VISIT, InteractionKind.MEETING)


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")
    INTERNAL = "internal", _("Internal")


class Channel(models.TextChoices):
    """Where the contact happened (requirement A8: every channel feeds one record)."""

    PHONE = "phone", _("Phone")
    FACE_TO_FACE = "face_to_face", _("Face to face")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    WEB = "web", _("Web")
    CALL_CENTER = "call_center", _("Call center")
    MOBILE_APP = "mobile_app", _("Mobile app")
    STORE = "store", _("Storefront")
    OTHER = "other", _("Other")


class Interaction(TenantOwned):
    """One contact with a customer, whoever made it and through whichever channel."""

    access_module = "interactions"

    kind = models.CharField(_("type"), max_length=20, choices=InteractionKind.choices)
    direction = models.CharField(_("direction"), max_length=20, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices,
                               default=Channel.PHONE)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True,
                                                   blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="interactions", verbose_name=_("customer"))
    contacts = models.ManyToManyField("customers.Contact", blank=True,
                                      related_name="interactions", through="InteractionContact",
                                      verbose_name=_("contacts"))
    participants = models.ManyToManyField("core.User", blank=True,
                                          related_name="interactions_joined",
                                          through="InteractionParticipant",
                                          verbose_name=_("participants"))
    subject = models.CharField(_("subject"), max_length=200)
    content = models.TextField(_("content"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=500, blank=True)
    next_step = models.CharField(_("next step"), max_length=500, blank=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                   related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"],
                         name="activities_int_timeline"),
            models.Index(fields=["tenant", "owner", "occurred_at"],
                         name="activities_int_owner_time"),
            models.Index(fields=["tenant", "org_unit", "occurred_at"],
                         name="activities_int_unit_time"),
        ]

    def __str__(self) -> str:
        return self.subject

    @classmethod
    def scope_q(cls, user: User, scope: str) -> Q:
        # A participant sees the meeting they took part in, whoever owns the customer.
        joined = InteractionParticipant.objects.filter(
            tenant_id=user.tenant_id, user_id=user.pk).values("interaction_id")
        return (super().scope_q(user, scope) | Q(customer_id__in=_customers_in(user, scope))
                | Q(pk__in=joined))

    def in_scope(self, user: User, scope: str) -> bool:
        return (super().in_scope(user, scope) or self.customer.in_scope(user, scope)
                or self.participants.filter(pk=user.pk).exists())


class InteractionContact(TenantLink):
    """A contact present at an interaction (the through table of ``Interaction.contacts``)."""

    tenant_from = "interaction"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE)
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE)

    class Meta:
        db_table = "activities_interaction_contacts"
        constraints = [models.UniqueConstraint(fields=["tenant", "interaction", "contact"],
                                               name="activities_interaction_contacts_unique")]

    def __str__(self) -> str:
        return f"{self.interaction_id} → {self.contact_id}"


class InteractionParticipant(TenantLink):
    """A colleague who took part in an interaction (``Interaction.participants``)."""

    tenant_from = "interaction"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE)
    user = models.ForeignKey("core.User", on_delete=models.CASCADE)

    class Meta:
        db_table = "activities_interaction_participants"
        constraints = [models.UniqueConstraint(
            fields=["tenant", "interaction", "user"],
            name="activities_interaction_participants_unique")]

    def __str__(self) -> str:
        return f"{self.interaction_id} → {self.user_id}"


def _customers_in(user: User, scope: str) -> Any:
    # Interactions and follow-ups follow their customer: visible in the scope it is.
    return Customer.objects.ids_in_scope(user, scope)


class RecurUnit(models.TextChoices):
    DAY = "day", _("days")
    WEEK = "week", _("weeks")
    MONTH = "month", _("months")


class FollowUp(Reminding, TenantOwned):
    """A planned next contact (跟进计划): what, with whom, when, by whom."""

    access_module = "followups"
    audit_exclude = frozenset({"updated_at", "created_at", "version", "remind_at",
                               "reminded_at"})

    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        # Never stored: a planned follow-up whose due time has passed.
        OVERDUE = "overdue", _("Overdue")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="followups", verbose_name=_("customer"))
    contact = models.ForeignKey("customers.Contact", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="followups",
                                verbose_name=_("contact"))
    subject = models.CharField(_("what"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(_("state"), max_length=20, default=State.PLANNED,
                             choices=[c for c in State.choices if c[0] != "overdue"])
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    fulfilled_by = models.ForeignKey(Interaction, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="fulfilled_followups",
                                     verbose_name=_("fulfilled by"))
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    recur_every = models.PositiveSmallIntegerField(_("repeat every"), null=True, blank=True)
    recur_unit = models.CharField(_("repeat unit"), max_length=10, blank=True,
                                  choices=RecurUnit.choices)
    previous = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="next_plan", editable=False)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                   related_name="+", verbose_name=_("planned by"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "owner", "state", "due_at"],
                         name="activities_fu_owner_due"),
            models.Index(fields=["customer", "state", "due_at"],
                         name="activities_fu_customer"),
            models.Index(fields=["remind_at"], condition=Q(reminded_at__isnull=True),
                         name="activities_fu_remind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recur_every__isnull=True, recur_unit="")
                           | Q(recur_every__gte=1, recur_unit__in=["day", "week", "month"])),
                name="activities_fu_recurrence_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def due_time(self) -> dt.datetime | None:
        return self.due_at

    @property
    def status(self) -> str:
        """The state a user sees: planned follow-ups past their due time are overdue."""
        if self.state == self.State.PLANNED and self.due_at < timezone.now():
            return self.State.OVERDUE.value
        return str(self.state)

    def get_status_display(self) -> str:
        return str(self.State(self.status).label)

    @classmethod
    def scope_q(cls, user: User, scope: str) -> Q:
        return super().scope_q(user, scope) | Q(customer_id__in=_customers_in(user, scope))

    def in_scope(self, user: User, scope: str) -> bool:
        return super().in_scope(user, scope) or self.customer.in_scope(user, scope)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Task(Reminding, TenantOwned):
    """Work given to a person (``owner``, the assignee) by a manager or by themselves."""

    access_module = "tasks"
    audit_exclude = frozenset({"updated_at", "created_at", "version", "remind_at",
                               "reminded_at"})

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    assigned_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                    related_name="+", verbose_name=_("assigned by"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices,
                                default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.OPEN)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="tasks", verbose_name=_("customer"))

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["tenant", "owner", "status", "due_at"],
                         name="activities_task_owner_due"),
            models.Index(fields=["tenant", "assigned_by", "status"],
                         name="activities_task_assigner"),
            models.Index(fields=["remind_at"], condition=Q(reminded_at__isnull=True),
                         name="activities_task_remind"),
        ]

    def __str__(self) -> str:
        return self.title

    def due_time(self) -> dt.datetime | None:
        return self.due_at

    @property
    def is_overdue(self) -> bool:
        return (self.status in (self.Status.OPEN, self.Status.IN_PROGRESS)
                and self.due_at is not None and self.due_at < timezone.now())

    @classmethod
    def scope_q(cls, user: User, scope: str) -> Q:
        return super().scope_q(user, scope) | Q(assigned_by_id=user.pk)

    def in_scope(self, user: User, scope: str) -> bool:
        return super().in_scope(user, scope) or self.assigned_by_id == user.pk


class TaskComment(models.Model):
    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("author"))
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("task comment")
        verbose_name_plural = _("task comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.body[:40]}"


class WorkPlan(TenantOwned):
    """An account manager's plan for one week (周工作计划), reviewed by their manager."""

    access_module = "workplans"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        REVIEWED = "reviewed", _("Reviewed")

    week_start = models.DateField(_("week starting"))
    goals = models.TextField(_("plan"))
    summary = models.TextField(_("summary of the week"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.DRAFT)
    reviewed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+",
                                    verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("work plan")
        verbose_name_plural = _("work plans")
        ordering = ["-week_start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "owner", "week_start"],
                                    name="activities_one_plan_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.week_start:%Y-%m-%d}"


class WorkPlanComment(models.Model):
    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(WorkPlan, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("author"))
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("work plan comment")
        verbose_name_plural = _("work plan comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.body[:40]}"


class NoticeKind(models.TextChoices):
    """The notices engagement sends (registered with kehu.notifications)."""

    FOLLOWUP_DUE = "followup_due", _("Follow-up due")
    TASK_DUE = "task_due", _("Task due")
    TASK_ASSIGNED = "task_assigned", _("Task assigned")
    TASK_COMMENT = "task_comment", _("Task comment")
    WORKPLAN_COMMENT = "workplan_comment", _("Work plan comment")
    WORKPLAN_REVIEWED = "workplan_reviewed", _("Work plan reviewed")


class CalendarFeed(models.Model):
    """A user's secret iCalendar link; deleting the row revokes it.

    Only a hash of the secret is kept, as for API tokens: the link is shown once.
    """

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField("core.User", on_delete=models.CASCADE,
                                related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.prefix}…"
