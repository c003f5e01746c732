"""Explicit shares: one record opened to one colleague.

Only models registered with ``register_shareable`` (kehu.core.models) may be shared; a
share names who it is for, why, until which day, and whether it allows changes. Deleting
a record deletes its shares (a ``GenericRelation`` on the model); services that retire a
record without deleting it (a customer merge) call ``shares_drop``.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import SHAREABLE, RecordShare, User

REASON_MAX = 200


def _shareable(obj: models.Model) -> None:
    if type(obj)._meta.label_lower not in SHAREABLE:
        raise ValidationFailed(_("Records of this kind cannot be shared."))


@transaction.atomic
def record_share(
    *, actor: User, obj: models.Model, user_id: int, can_change: bool = False,
    reason: str = "", expires_on: dt.date | None = None,
) -> RecordShare:
    """Open one record the actor may change to a colleague of the same company, until
    ``expires_on`` (inclusive) or until revoked. Sharing again updates the share."""
    _shareable(obj)
    record = access.get_for(type(obj), actor, obj.pk, "change")
    errors: dict[str, list[str]] = {}
    target = User.objects.visible_to(actor).filter(pk=user_id, is_active=True).first()
    if target is None:
        errors["user_id"] = [_("Unknown user.")]
    elif target.pk == actor.pk:
        errors["user_id"] = [_("You cannot share a record with yourself.")]
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = [_("At most %(n)d characters.") % {"n": REASON_MAX}]
    if expires_on is not None and expires_on < timezone.localdate():
        errors["expires_on"] = [_("The last day of a share cannot be in the past.")]
    if errors:
        raise ValidationFailed(fields=errors)
    assert target is not None
    key = {"content_type": ContentType.objects.get_for_model(record), "object_id": record.pk,
           "user": target}
    before = RecordShare.objects.filter(**key).first()
    share, _created = RecordShare.objects.update_or_create(
        **key,
        defaults={"tenant_id": actor.tenant_id, "can_change": can_change, "created_by": actor,
                  "reason": reason, "expires_on": expires_on},
    )
    until = expires_on.isoformat() if expires_on else None
    audit.record(actor=actor, action="share.grant", obj=record, changes={
        "shared_with": [None, target.email],
        "can_change": [before.can_change if before else None, can_change],
        "reason": [before.reason if before else None, reason],
        "expires_on": [before.expires_on.isoformat() if before and before.expires_on else None,
                       until],
    })
    return share


@transaction.atomic
def record_unshare(*, actor: User, obj: models.Model, user_id: int) -> None:
    _shareable(obj)
    record = access.get_for(type(obj), actor, obj.pk, "change")
    share = RecordShare.objects.filter(
        tenant_id=actor.tenant_id, content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk, user_id=user_id,
    ).select_related("user").first()
    if share is None:
        return
    share.delete()
    audit.record(actor=actor, action="share.revoke", obj=record,
                 changes={"shared_with": [share.user.email, None]})


def shares_drop(obj: models.Model) -> int:
    """Delete every share of ``obj`` (a record retired without being deleted); the caller
    audits. Returns how many were deleted."""
    deleted, _details = RecordShare.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk).delete()
    return deleted
