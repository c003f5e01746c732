"""Where a new or moved record goes in the org tree: its owner and owning unit.

The one rule every app's services apply (customers, contacts, interactions, follow-ups,
and later opportunities, orders, tickets): both the owner and the unit lie inside the
area where the actor holds the permission; the unit defaults to the owner's; a user whose
data scope is "own" owns what they create (an unowned record would leave their sight at
once) and cannot give records to anyone else.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.core.permissions import Scope


def placement(actor: User, permission: str, owner_id: int | None,
              org_unit_id: int | None, *, owner_required: bool = False,
              ) -> tuple[User | None, OrgUnit]:
    """The owner and unit a record may get from ``actor``. Without ``owner_id`` the
    record has no owner, unless ``owner_required`` or the actor's scope is "own": then
    the actor owns it."""
    scope = access.scope_for(actor, permission)
    owner: User | None = None
    if owner_id is not None:
        owner = User.objects.filter(tenant_id=actor.tenant_id, pk=owner_id, is_active=True) \
            .select_related("org_unit").first()
        if owner is None:
            raise ValidationFailed(fields={"owner_id": [_("Choose an active user.")]})
    elif owner_required or scope == Scope.OWN:
        owner = actor
    if org_unit_id is not None:
        unit = OrgUnit.objects.filter(tenant_id=actor.tenant_id, pk=org_unit_id,
                                      is_active=True).first()
        if unit is None:
            raise ValidationFailed(fields={"org_unit_id": [_("Choose an active unit.")]})
    else:
        unit = owner.org_unit if owner is not None else actor.org_unit
    if not access.unit_in_scope(actor, permission, unit):
        raise ValidationFailed(fields={"org_unit_id": [
            _("You cannot place records in this unit.")]})
    if owner is not None and owner.pk != actor.pk:
        if scope == Scope.OWN:
            raise ValidationFailed(fields={"owner_id": [
                _("You can only own records yourself.")]})
        if not access.unit_in_scope(actor, permission, owner.org_unit):
            raise ValidationFailed(fields={"owner_id": [
                _("You cannot give records to this user.")]})
    return owner, unit


def owned_placement(actor: User, permission: str, owner_id: int | None,
                    org_unit_id: int | None) -> tuple[User, OrgUnit]:
    """``placement`` for records that always have an owner (the actor by default)."""
    owner, unit = placement(actor, permission, owner_id, org_unit_id, owner_required=True)
    assert owner is not None  # owner_required
    return owner, unit
