"""Reads of customers: always through ``visible_to``.

Filters are declared here once; the API, the list page, exports and saved views pass
the same dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from kehu.core import access
from kehu.core.exceptions import NotFound
from kehu.core.models import OrgUnit, User
from kehu.customers import panels, quality, reference
from kehu.customers.models import Customer, CustomerContact, Relationship, StatusChange, Transfer
from kehu.customers.selectors import search

CUSTOMER_ORDERINGS = {
    "name": ("name", "id"), "-name": ("-name", "-id"),
    "created": ("created_at", "id"), "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"), "-updated": ("-updated_at", "-id"),
    "quality": ("quality_score", "id"), "-quality": ("-quality_score", "-id"),
    "code": ("code",), "-code": ("-code",),
    "status": ("status", "id"), "tier": ("tier", "id"),
}
HISTORY_LIMIT = 20
CONTACT_LIMIT = 50
RELATION_LIMIT = 50


def region_q(code: str) -> Q:
    """Customers in a region and everything under it (a province covers its cities)."""
    found = reference.region(code)
    if found is None:
        return Q(region=code)
    if found.level == 1:
        return Q(region__startswith=code[:2])
    if found.level == 2:
        return Q(region__startswith=code[:4])
    return Q(region=code)


def industry_q(code: str) -> Q:
    """A section letter covers its divisions."""
    if len(code) == 1 and code.isalpha():
        codes = [d.code for d in reference.industry_divisions(code.upper())]
        return Q(industry__in=[code.upper(), *codes])
    return Q(industry=code)


@dataclass
class CustomerFilters:
    q: str = ""
    kind: str = ""
    tier: str = ""
    vip_grade: str = ""
    status: list[str] = field(default_factory=list)
    size: str = ""
    region: str = ""
    industry: str = ""
    owner_id: int | None = None
    org_unit_id: int | None = None
    tag: str = ""
    parent_id: int | None = None
    quality_below: int | None = None
    ordering: str = "-created"

    @classmethod
    def from_mapping(cls, data: Any) -> CustomerFilters:
        """From a query dict (``request.GET``) or plain dict; bad values are ignored."""
        getlist = data.getlist if hasattr(data, "getlist") else (
            lambda key: [data[key]] if isinstance(data.get(key), str) else data.get(key) or [])

        def integer(key: str) -> int | None:
            try:
                return int(data.get(key) or "")
            except (TypeError, ValueError):
                return None

        return cls(
            q=str(data.get("q") or "")[:100], kind=str(data.get("kind") or ""),
            tier=str(data.get("tier") or ""), vip_grade=str(data.get("vip_grade") or ""),
            status=[s for s in getlist("status") if s], size=str(data.get("size") or ""),
            region=str(data.get("region") or ""), industry=str(data.get("industry") or ""),
            owner_id=integer("owner_id"), org_unit_id=integer("org_unit_id"),
            tag=str(data.get("tag") or ""), parent_id=integer("parent_id"),
            quality_below=integer("quality_below"),
            ordering=str(data.get("ordering") or "-created"),
        )


def customer_list(*, actor: User, filters: CustomerFilters | None = None,
                  action: str = "view") -> QuerySet[Customer]:
    f = filters or CustomerFilters()
    qs = Customer.objects.visible_to(actor, action).live()
    if f.q:
        match = search.condition(Customer, f.q)
        qs = qs.filter(match) if match is not None else qs.none()
    simple = {"kind": f.kind, "tier": f.tier, "size": f.size, "owner_id": f.owner_id,
              "parent_id": f.parent_id}
    qs = qs.filter(**{key: value for key, value in simple.items() if value not in ("", None)})
    if f.vip_grade:
        qs = qs.filter(vip_grade="" if f.vip_grade == "none" else f.vip_grade)
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.region:
        qs = qs.filter(region_q(f.region))
    if f.industry:
        qs = qs.filter(industry_q(f.industry))
    if f.tag:
        qs = qs.filter(tags__name=f.tag)
    if f.quality_below is not None:
        qs = qs.filter(quality_score__lt=f.quality_below)
    if f.org_unit_id is not None:
        unit = OrgUnit.objects.filter(tenant_id=actor.tenant_id, pk=f.org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    ordering = CUSTOMER_ORDERINGS.get(f.ordering, CUSTOMER_ORDERINGS["-created"])
    return qs.select_related("owner", "org_unit").order_by(*ordering)



def customer_get(*, actor: User, customer_id: int) -> Customer:
    """One customer the actor may see; a merged one is gone (404) like a missing one."""
    customer = access.get_for(Customer, actor, customer_id)
    if customer.merged_into_id:
        raise NotFound()
    return customer


def _visible_ids(actor: User, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(Customer.objects.visible_to(actor).filter(pk__in=ids)
               .values_list("pk", flat=True))


def customer_view(*, actor: User, customer_id: int) -> dict[str, Any]:
    """Everything about one customer on one page (requirement B7), in a fixed number of
    queries: profile, hierarchy, relationships, contacts, ownership and status history,
    data quality and the panels other apps register."""
    customer = access.get_for(
        Customer,
        actor, customer_id,
    )
    customer = (Customer.objects.filter(pk=customer.pk)
                .select_related("owner", "org_unit", "parent").prefetch_related("tags")
                .get())
    ancestors_ids = [int(p) for p in customer.hierarchy_path.strip("/").split("/") if p]
    group_root_id = ancestors_ids[0] if ancestors_ids else customer.pk
    visible = Customer.objects.visible_to(actor).live()
    ancestors = list(visible.filter(pk__in=ancestors_ids[:-1]).order_by("hierarchy_path")
                     .only("id", "name", "hierarchy_path"))
    children = list(visible.filter(parent=customer).order_by("name")
                    .only("id", "name", "status")[:RELATION_LIMIT])
    group = visible.filter(hierarchy_path__startswith=f"/{group_root_id}/").aggregate(
        members=Count("id"),
        below=Count("id", filter=Q(hierarchy_path__startswith=customer.hierarchy_path)
                    & ~Q(pk=customer.pk)),
    )
    relations = list(
        Relationship.objects.filter(Q(source=customer) | Q(target=customer))
        .select_related("source", "target").order_by("-id")[:RELATION_LIMIT])
    other_ids = {r.target_id if r.source_id == customer.pk else r.source_id for r in relations}
    may_see = _visible_ids(actor, other_ids)
    contact_links = list(
        CustomerContact.objects.filter(customer=customer).select_related("contact")
        .order_by("-is_primary", "id")[:CONTACT_LIMIT])
    transfers = list(Transfer.objects.filter(customer=customer)
                     .select_related("from_owner", "to_owner", "from_unit", "to_unit", "actor")
                     [:HISTORY_LIMIT])
    statuses = list(StatusChange.objects.filter(customer=customer).select_related("actor")
                    [:HISTORY_LIMIT])
    external_ids = list(customer.external_ids.order_by("system", "external_id")[:RELATION_LIMIT])
    score, failed = quality.assess(customer, bool(contact_links))
    return {
        "customer": customer,
        "hierarchy": {"ancestors": ancestors, "children": children,
                      "group_root_id": group_root_id, "group_members": group["members"],
                      "descendants": group["below"]},
        "relationships": [
            {"relationship": r, "other": r.target if r.source_id == customer.pk else r.source,
             "outgoing": r.source_id == customer.pk,
             "visible": (r.target_id if r.source_id == customer.pk else r.source_id) in may_see}
            for r in relations],
        "contacts": contact_links,
        "transfers": transfers,
        "status_history": statuses,
        "external_ids": external_ids,
        "quality": {"score": score, "missing": [{"key": c.key, "label": str(c.label)}
                                                 for c in failed]},
        "panels": panels.panels_for(actor, customer),
    }


def visible_customers(*, actor: User, action: str = "view") -> QuerySet[Customer]:
    """The live customers ``actor`` may ``action`` (for other apps' checks and reports)."""
    return Customer.objects.visible_to(actor, action).live()


def visible_customer(*, actor: User, customer_id: int,
                     action: str = "view") -> Customer | None:
    """The live customer ``customer_id`` if ``actor`` may ``action`` it, else None."""
    return visible_customers(actor=actor, action=action).filter(pk=customer_id).first()


def customer_id_by_code(*, actor: User, code: str) -> int | None:
    """The id of the customer ``actor`` sees with this code (or, for digits, this id)."""
    visible = customer_list(actor=actor)
    found = visible.filter(code__iexact=code).values_list("pk", flat=True).first()
    if found is None and code.isdigit() and len(code) < 19:
        found = visible.filter(pk=int(code)).values_list("pk", flat=True).first()
    return None if found is None else int(found)


def customer_code(*, actor: User, customer_id: int) -> str | None:
    """The code of a customer ``actor`` sees, else None."""
    customer = customer_list(actor=actor).filter(pk=customer_id).first()
    return None if customer is None else customer.code
