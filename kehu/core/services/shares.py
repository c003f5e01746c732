"""Explicit shares: one record opened to one colleague."""

from __future__ import annotations

from django.db import models, transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import RecordShare, User


@transaction.atomic
def record_share(
    *, actor: User, obj: models.Model, user_id: int, can_change: bool = False
) -> RecordShare:
    """Open one record the actor may change to a colleague of the same company."""
    from django.contrib.contenttypes.models import ContentType

    record = access.get_for(type(obj), actor, obj.pk, "change")
    target = User.objects.visible_to(actor).filter(pk=user_id, is_active=True).first()
    if target is None:
        raise ValidationFailed(fields={"user_id": [_("Unknown user.")]})
    share, _created = RecordShare.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk,
        user=target,
        defaults={"tenant_id": actor.tenant_id, "can_change": can_change, "created_by": actor},
    )
    audit.record(actor=actor, action="share.grant", obj=record,
                 changes={"shared_with": [None, target.email], "can_change": [None, can_change]})
    return share


@transaction.atomic
def record_unshare(*, actor: User, obj: models.Model, user_id: int) -> None:
    from django.contrib.contenttypes.models import ContentType

    record = access.get_for(type(obj), actor, obj.pk, "change")
    deleted, _details = RecordShare.objects.filter(
        tenant_id=actor.tenant_id, content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk, user_id=user_id,
    ).delete()
    if deleted:
        audit.record(actor=actor, action="share.revoke", obj=record,
                     changes={"shared_with": [user_id, None]})

