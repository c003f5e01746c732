"""Writes for follow-up plans (跟进计划).

States: planned → done (linked to the interaction that fulfilled it) or cancelled.
"Overdue" is never stored: it is a planned follow-up past its due time
(``FollowUp.status``; selectors filter it as ``state=planned, due_at < now``).

Recurring plans (``recur_every`` + ``recur_unit`` day / week / month) plan their next
follow-up, ``previous`` = this one, due one step after this one's due time, when this one
is completed, and when it is cancelled with ``stop_series=False`` (cancelling stops the
series by default). A month step adds calendar months and clamps the day to the month's
end (31 Jan + 1 month → 28/29 Feb).
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.activities.models import FollowUp, Interaction, RecurUnit
from kehu.activities.services.interactions import (
    customer_contacts,
    interaction_create,
    visible_customer,
)
from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import User
from kehu.core.placement import owned_placement
from kehu.core.versions import bump_version, check_version
from kehu.notifications.services import reminder_settings

MAX_RECUR_EVERY = 366
MAX_REMIND_MINUTES = 60 * 24 * 30
UNSET: Any = object()


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def next_due(due_at: dt.datetime, every: int, unit: str) -> dt.datetime:
    """One recurrence step after ``due_at``, in local wall-clock time."""
    local = timezone.localtime(due_at)
    if unit == RecurUnit.MONTH:
        return add_months(local, every)
    step = dt.timedelta(days=every) if unit == RecurUnit.DAY else dt.timedelta(weeks=every)
    naive = timezone.make_naive(local) + step
    return timezone.make_aware(naive)


def _clean(data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "subject":
            text = str(value or "").strip()
            if not text:
                errors.setdefault(key, []).append(_("This field is required."))
            elif len(text) > 200:
                errors.setdefault(key, []).append(_("At most %(n)d characters.") % {"n": 200})
            out[key] = text[:200]
        elif key == "notes":
            text = str(value or "")
            if len(text) > 10000:
                errors.setdefault(key, []).append(
                    _("At most %(n)d characters.") % {"n": 10000})
            out[key] = text
        elif key == "due_at":
            if not isinstance(value, dt.datetime):
                errors.setdefault(key, []).append(_("Enter a date and time."))
            else:
                out[key] = timezone.make_aware(value) if timezone.is_naive(value) else value
        elif key == "remind_minutes_before":
            if value is None:
                out[key] = None
            elif isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= MAX_REMIND_MINUTES:
                errors.setdefault(key, []).append(
                    _("Enter whole minutes between 0 and %(n)d.") % {"n": MAX_REMIND_MINUTES})
            else:
                out[key] = value
        elif key == "recur_every":
            if value in (None, "", 0):
                out[key] = None
            elif isinstance(value, bool) or not isinstance(value, int) \
                    or not 1 <= value <= MAX_RECUR_EVERY:
                errors.setdefault(key, []).append(
                    _("Enter a whole number between 1 and %(n)d.") % {"n": MAX_RECUR_EVERY})
            else:
                out[key] = value
        elif key == "recur_unit":
            text = str(value or "")
            if text and text not in RecurUnit.values:
                errors.setdefault(key, []).append(_("Choose days, weeks or months."))
            out[key] = text
        else:
            errors.setdefault(key, []).append(_("Unknown field."))
    return out


def _check_recurrence(followup: FollowUp) -> None:
    if bool(followup.recur_every) != bool(followup.recur_unit):
        raise ValidationFailed(fields={"recur_unit" if followup.recur_every else "recur_every": [
            _("Give both how often and the unit, or neither.")]})


@transaction.atomic
def followup_create(*, actor: User, customer_id: int, subject: str, due_at: dt.datetime,
                    contact_id: int | None = None, notes: str = "",
                    owner_id: int | None = None, org_unit_id: int | None = None,
                    remind_minutes_before: Any = UNSET, recur_every: int | None = None,
                    recur_unit: str = "") -> FollowUp:
    """Plan a follow-up. Without ``remind_minutes_before`` the owner's default lead
    applies; an explicit ``None`` means no reminder."""
    access.require(actor, "followups.create")
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {"subject": subject, "notes": notes, "due_at": due_at,
                            "recur_every": recur_every, "recur_unit": recur_unit}
    if remind_minutes_before is not UNSET:
        data["remind_minutes_before"] = remind_minutes_before
    values = _clean(data, errors)
    customer = contact = None
    try:
        customer = visible_customer(actor, customer_id)
        if contact_id is not None:
            contact = customer_contacts(actor, customer, [contact_id], "contact_id")[0]
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        owner, unit = owned_placement(actor, "followups.create", owner_id, org_unit_id)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    if "remind_minutes_before" not in values:
        values["remind_minutes_before"] = reminder_settings(owner).default_lead_minutes
    followup = FollowUp(tenant_id=actor.tenant_id, owner=owner, org_unit=unit,
                        customer=customer, contact=contact, created_by=actor, **values)
    _check_recurrence(followup)
    followup.schedule_reminder()
    followup.save()
    access.ensure_still_visible(followup, actor)
    audit.record(actor=actor, action="followup.create", obj=followup,
                 changes=audit.diff(FollowUp, {}, audit.snapshot(followup)))
    return followup


def _open(actor: User, followup_id: int, expected_version: int | None) -> FollowUp:
    access.require(actor, "followups.change")
    followup = access.get_for(FollowUp, actor, followup_id, "change", for_update=True)
    check_version(followup, expected_version)
    if followup.state != FollowUp.State.PLANNED:
        raise ValidationFailed(fields={"state": [
            _("This follow-up is already done or cancelled.")]})
    return followup


@transaction.atomic
def followup_update(*, actor: User, followup_id: int, expected_version: int | None = None,
                    **changes: Any) -> FollowUp:
    """Change a planned follow-up: subject, notes, due_at, contact_id, owner_id,
    remind_minutes_before, recur_every, recur_unit."""
    followup = _open(actor, followup_id, expected_version)
    before = audit.snapshot(followup)
    errors: dict[str, list[str]] = {}
    contact_given = "contact_id" in changes
    contact_id = changes.pop("contact_id", None)
    owner_id = changes.pop("owner_id", None)
    values = _clean(changes, errors)
    try:
        if contact_given:
            followup.contact = customer_contacts(
                actor, followup.customer, [contact_id], "contact_id")[0] \
                if contact_id is not None else None
        if owner_id is not None and owner_id != followup.owner_id:
            followup.owner, followup.org_unit = owned_placement(
                actor, "followups.change", owner_id, None)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    for key, value in values.items():
        setattr(followup, key, value)
    _check_recurrence(followup)
    followup.schedule_reminder()
    bump_version(followup)
    access.ensure_still_visible(followup, actor)
    audit.record(actor=actor, action="followup.update", obj=followup,
                 changes=audit.diff(FollowUp, before, audit.snapshot(followup)))
    return followup


def _plan_next(actor: User, followup: FollowUp) -> FollowUp | None:
    if not followup.recur_every or not followup.recur_unit:
        return None
    nxt = FollowUp(
        tenant_id=followup.tenant_id, owner=followup.owner, org_unit=followup.org_unit,
        customer=followup.customer, contact=followup.contact, subject=followup.subject,
        notes=followup.notes,
        due_at=next_due(followup.due_at, followup.recur_every, followup.recur_unit),
        remind_minutes_before=followup.remind_minutes_before,
        recur_every=followup.recur_every, recur_unit=followup.recur_unit,
        previous=followup, created_by=actor)
    nxt.schedule_reminder()
    nxt.save()
    return nxt


@transaction.atomic
def followup_complete(*, actor: User, followup_id: int, expected_version: int | None = None,
                      interaction_id: int | None = None,
                      interaction: dict[str, Any] | None = None,
                      done_at: dt.datetime | None = None) -> FollowUp:
    """Mark done, linked to the interaction that fulfilled it: an existing one of the same
    customer (``interaction_id``) or one recorded now from ``interaction`` (its fields as
    for ``interaction_create``; the customer is the follow-up's, the contact defaults to
    the follow-up's). Returns the follow-up; its next plan, if recurring, is
    ``followup.next_plan``."""
    followup = _open(actor, followup_id, expected_version)
    before = audit.snapshot(followup)
    if (interaction_id is None) == (interaction is None):
        raise ValidationFailed(fields={"interaction_id": [
            _("Record the interaction that fulfilled it, or choose an existing one.")]})
    if interaction_id is not None:
        fulfilled = Interaction.objects.visible_to(actor, "view").filter(
            pk=interaction_id, customer_id=followup.customer_id).first() \
            if isinstance(interaction_id, int) else None
        if fulfilled is None:
            raise ValidationFailed(fields={"interaction_id": [
                _("Choose an interaction with this customer that you can see.")]})
    else:
        data = dict(interaction or {})
        data.pop("customer_id", None)
        if "contact_ids" not in data and followup.contact_id:
            data["contact_ids"] = [followup.contact_id]
        if not str(data.get("subject") or "").strip():
            data["subject"] = followup.subject
        if not data.get("kind"):
            raise ValidationFailed(fields={"kind": [_("This field is required.")]})
        fulfilled = interaction_create(actor=actor, customer_id=followup.customer_id, **data)
    followup.state = FollowUp.State.DONE
    followup.done_at = done_at or timezone.now()
    followup.fulfilled_by = fulfilled
    bump_version(followup)
    _plan_next(actor, followup)
    audit.record(actor=actor, action="followup.complete", obj=followup,
                 changes=audit.diff(FollowUp, before, audit.snapshot(followup)))
    return followup


@transaction.atomic
def followup_cancel(*, actor: User, followup_id: int, expected_version: int | None = None,
                    reason: str = "", stop_series: bool = True) -> FollowUp:
    """Cancel with a reason. A recurring plan stops unless ``stop_series`` is False, in
    which case its next follow-up is planned as on completion."""
    followup = _open(actor, followup_id, expected_version)
    before = audit.snapshot(followup)
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Say why it is cancelled.")]})
    if len(reason) > 300:
        raise ValidationFailed(fields={"reason": [_("At most %(n)d characters.") % {"n": 300}]})
    followup.state = FollowUp.State.CANCELLED
    followup.cancel_reason = reason
    bump_version(followup)
    if not stop_series:
        _plan_next(actor, followup)
    audit.record(actor=actor, action="followup.cancel", obj=followup,
                 changes=audit.diff(FollowUp, before, audit.snapshot(followup)))
    return followup
