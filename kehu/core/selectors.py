"""Reads for core: every one goes through ``visible_to``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kehu.core import access
from kehu.core.models import ApiToken, AuditEvent, OrgUnit, RecordShare, Role, User, shared_ids


def org_unit_list(*, actor: User, under_id: int | None = None, search: str = "",
                  is_active: bool | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.visible_to(actor)
    if under_id is not None:
        base = OrgUnit.objects.visible_to(actor).filter(pk=under_id).first()
        if base is None:
            return qs.none()
        qs = qs.filter(path__startswith=base.path)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("path")


# At most this many children of one unit are listed in the org tree; search finds the rest.
ORG_CHILDREN_LIMIT = 200


def _org_tree_units(actor: User) -> QuerySet[OrgUnit]:
    visible = OrgUnit.objects.visible_to(actor)
    # Siblings in the order they were created (a path orders "10" before "8").
    return visible.annotate(
        has_children=Exists(visible.filter(parent_id=OuterRef("pk")))).order_by("pk")


def org_roots(*, actor: User) -> list[OrgUnit]:
    """The tops of the tree the actor sees: visible units whose parent they do not see
    (HQ for a company-wide role, their own unit for a subtree scope). At most
    ``ORG_CHILDREN_LIMIT`` + 1, so that a caller can tell there are more."""
    visible = OrgUnit.objects.visible_to(actor)
    # A top is the company's root, the actor's own unit (every scope reaches down from
    # it) or a unit shared with them: a few index lookups, not a scan of the tree.
    candidates = Q(parent__isnull=True) | Q(pk=actor.org_unit_id)
    shared = shared_ids(actor, OrgUnit, "view")
    if shared:
        candidates |= Q(pk__in=shared)
    tops = _org_tree_units(actor).filter(candidates).exclude(
        Exists(visible.filter(pk=OuterRef("parent_id"))))
    return list(tops[:ORG_CHILDREN_LIMIT + 1])


def org_children(*, actor: User, parent_id: int) -> list[OrgUnit]:
    """The visible children of one unit, oldest first, each knowing whether it has
    children itself; at most ``ORG_CHILDREN_LIMIT`` + 1 (one more than shown)."""
    return list(_org_tree_units(actor).filter(parent_id=parent_id)[:ORG_CHILDREN_LIMIT + 1])


def org_unit_search(*, actor: User, search: str, limit: int = 50
                    ) -> list[tuple[OrgUnit, list[str]]]:
    """Units whose name or code contains ``search``, each with the names of its visible
    ancestors (its place in the tree). Two queries whatever the tree's size."""
    units = list(org_unit_list(actor=actor, search=search)[:limit])
    ancestor_ids = {int(part) for unit in units for part in unit.path.strip("/").split("/")[:-1]}
    names = dict(OrgUnit.objects.visible_to(actor).filter(pk__in=ancestor_ids)
                 .values_list("pk", "name")) if ancestor_ids else {}
    return [(unit, [names[int(part)] for part in unit.path.strip("/").split("/")[:-1]
                    if int(part) in names]) for unit in units]


def user_list(*, actor: User, org_unit_id: int | None = None, subtree: bool = True,
              search: str = "", is_active: bool | None = None,
              role_id: int | None = None) -> QuerySet[User]:
    qs = User.objects.visible_to(actor).select_related("org_unit").prefetch_related("roles")
    if org_unit_id is not None:
        unit = OrgUnit.objects.visible_to(actor).filter(pk=org_unit_id).first()
        if unit is None:
            return qs.none()
        qs = qs.filter(org_unit__path__startswith=unit.path) if subtree else qs.filter(
            org_unit=unit)
    if search:
        qs = qs.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if role_id is not None:
        qs = qs.filter(roles__id=role_id)
    return qs.order_by("id")


def role_list(*, actor: User, builtin: bool | None = None) -> QuerySet[Role]:
    qs = Role.objects.visible_to(actor)
    if builtin is not None:
        qs = qs.exclude(builtin_key="") if builtin else qs.filter(builtin_key="")
    return qs.order_by("id")


def audit_event_list(
    *, actor: User, actor_id: int | None = None, actor_email: str = "", object_type: str = "",
    object_id: str = "",
    action: str = "", since: datetime | None = None, until: datetime | None = None,
    for_export: bool = False,
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.visible_to(actor, "export" if for_export else "view")
    filters: dict[str, Any] = {}
    if actor_id is not None:
        filters["actor_id"] = actor_id
    if actor_email:
        # The label keeps the email as it was when the event happened.
        filters["actor_label__iexact"] = actor_email.strip()
    if object_type:
        filters["object_type"] = object_type
    if object_id:
        filters["object_id"] = object_id
    if action.endswith("."):
        filters["action__startswith"] = action  # a family such as "user."
    elif action:
        filters["action"] = action
    if since is not None:
        filters["created_at__gte"] = since
    if until is not None:
        filters["created_at__lt"] = until
    return qs.filter(**filters).order_by("-created_at", "-id")


def api_token_list(*, actor: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor, tenant_id=actor.tenant_id).order_by("-id")


def record_shares(*, actor: User, obj: Any) -> list[RecordShare]:
    """The shares of one record, for those who may manage them (who may change the
    record); others get none. Expired ones are listed too (``expired``), so the page can
    say why a colleague lost access."""
    if not access.allows(actor, obj, "change"):
        return []
    shares = list(RecordShare.objects.filter(
        tenant_id=actor.tenant_id, content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
    ).select_related("user", "created_by").order_by("user__full_name", "pk"))
    today = timezone.localdate()
    for share in shares:
        share.expired = share.expires_on is not None and share.expires_on < today  # type: ignore[attr-defined]
    return shares
