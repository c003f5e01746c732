"""Merging two customers into one (the duplicates found by ``selectors.duplicates``).

``customer_merge`` moves every record that points at the loser to the survivor —
generically, over ``Customer._meta.related_objects`` and the many-to-many fields, so an
app added later (interactions, orders…) is covered without editing this module — keeps
the loser's identifiers as aliases, fills the survivor's empty fields and leaves the
loser as a tombstone (``merged_into``) so that old links redirect.

Permission: merging needs ``customers.admin`` (a data-stewardship right held by HQ
managers and tenant administrators; province and city managers do not hold it) **and**
``change`` on both records, which must be visible to the actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.exceptions import NotFound, StaleVersion, ValidationFailed
from kehu.core.models import User
from kehu.core.services import shares as share_services
from kehu.customers.models import Alias, Customer, CustomerContact, Kind
from kehu.customers.services.customers import alias_names, refresh_derived, set_parent
from kehu.documents import selectors as document_selectors
from kehu.documents import services as document_services

# The registered attachment key of customers (kehu.customers.registrations).
DOCUMENT_TARGET = "customers.customer"


def _attname(model: type[models.Model], name: str) -> str:
    """The column attribute of a foreign key (``customer`` → ``customer_id``)."""
    field: Any = model._meta.get_field(name)
    return str(field.attname)


def _unique_sets(model: type[models.Model], fk: str) -> list[tuple[str, ...]]:
    """The unique field sets of ``model`` that include the field ``fk`` (by name)."""
    sets: list[tuple[str, ...]] = []
    for constraint in model._meta.constraints:
        fields = tuple(getattr(constraint, "fields", ()) or ())
        if isinstance(constraint, models.UniqueConstraint) and fk in fields:
            sets.append(fields)
    for together in model._meta.unique_together:
        if fk in together:
            sets.append(tuple(together))
    fk_field: Any = model._meta.get_field(fk)
    if fk_field.unique:
        sets.append((fk,))
    return sets


def _move_rows(model: type[models.Model], fk: str, loser: Customer, survivor: Customer
               ) -> tuple[int, int]:
    """Point ``model.fk`` from loser to survivor; rows that would then break a unique
    constraint (the survivor already has that link) are dropped. ``(moved, dropped)``."""
    manager: Any = model._base_manager
    attname = _attname(model, fk)
    rows = manager.filter(**{attname: loser.pk})
    if any(f.name == "tenant" for f in model._meta.concrete_fields):
        rows = rows.filter(tenant_id=loser.tenant_id)
    unique_sets = _unique_sets(model, fk)
    if not unique_sets:
        return rows.update(**{attname: survivor.pk}), 0
    moved = dropped = 0
    for row in rows.order_by("pk"):
        clash = False
        for fields in unique_sets:
            lookup = {}
            for name in fields:
                field = model._meta.get_field(name)
                key = getattr(field, "attname", name)
                lookup[key] = survivor.pk if name == fk else getattr(row, key)
            if manager.filter(**lookup).exclude(pk=row.pk).exists():
                clash = True
                break
        if clash:
            manager.filter(pk=row.pk).delete()
            dropped += 1
        else:
            manager.filter(pk=row.pk).update(**{attname: survivor.pk})
            moved += 1
    return moved, dropped


def _related_links() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every table row that points at a customer, except the
    hierarchy (``parent``, moved with its paths) and ``merged_into`` (tombstones)."""
    links: list[tuple[type[models.Model], str]] = []
    for rel in Customer._meta.related_objects:
        if rel.many_to_many:
            # Another app's ManyToManyField to Customer: its through table points here.
            m2m: Any = rel.field
            through = m2m.remote_field.through
            links.append((through, m2m.m2m_reverse_field_name()))
        elif rel.related_model is Customer:
            continue
        else:
            related: Any = rel.related_model
            links.append((related, rel.field.name))
    for m2m_field in Customer._meta.many_to_many:
        m2m_any: Any = m2m_field
        links.append((m2m_any.remote_field.through, m2m_any.m2m_field_name()))
    # An explicit through model (tags) is also a related object: count it once.
    return list(dict.fromkeys(links))


def _drop_self_links(models_seen: Iterable[type[models.Model]], survivor: Customer
                     ) -> dict[str, int]:
    """Rows that now link the survivor to itself (a relationship between the two merged
    customers) mean nothing any more."""
    dropped: dict[str, int] = {}
    for model in set(models_seen):
        fks = [f for f in model._meta.concrete_fields
               if getattr(f, "related_model", None) is Customer]
        if len(fks) < 2:
            continue
        manager: Any = model._base_manager
        count, _detail = manager.filter(**{f.attname: survivor.pk for f in fks}).delete()
        if count:
            dropped[model._meta.label] = dropped.get(model._meta.label, 0) + count
    return dropped


def _merged_list(first: list[Any], second: list[Any], key: Any) -> list[Any]:
    result = list(first)
    seen = {key(item) for item in first}
    for item in second:
        if key(item) not in seen:
            seen.add(key(item))
            result.append(item)
    return result


def _fill_fields(survivor: Customer, loser: Customer) -> list[str]:
    """Empty survivor fields take the loser's values; lists are united. The names of
    the fields that changed."""
    filled = []
    for name in ("short_name", "industry", "region", "size", "website", "vip_grade"):
        if not getattr(survivor, name) and getattr(loser, name):
            setattr(survivor, name, getattr(loser, name))
            filled.append(name)
    if survivor.kind != Kind.INDIVIDUAL and not survivor.uscc and loser.uscc:
        survivor.uscc = loser.uscc
        filled.append("uscc")
    if survivor.kind == Kind.INDIVIDUAL and loser.kind == Kind.INDIVIDUAL \
            and not survivor.id_number_hash and loser.id_number_hash:
        survivor.id_number_encrypted = loser.id_number_encrypted
        survivor.id_number_hash = loser.id_number_hash
        survivor.id_number_masked = loser.id_number_masked
        filled.append("id_number")
    lists = (
        ("phones", lambda p: (p.get("number"), p.get("ext", ""))),
        ("emails", lambda e: e),
        ("addresses", lambda a: (a.get("kind"), a.get("text"))),
    )
    for name, key in lists:
        merged = _merged_list(getattr(survivor, name) or [], getattr(loser, name) or [], key)
        if merged != (getattr(survivor, name) or []):
            setattr(survivor, name, merged)
            filled.append(name)
    consent = dict(loser.consent or {}) | dict(survivor.consent or {})
    if consent != (survivor.consent or {}):
        survivor.consent = consent
        filled.append("consent")
    if loser.notes and loser.notes not in survivor.notes:
        survivor.notes = (f"{survivor.notes}\n\n{loser.notes}" if survivor.notes
                          else loser.notes)[:10000]
        filled.append("notes")
    return filled


def _keep_aliases(survivor: Customer, loser: Customer) -> int:
    """The loser's identifiers as aliases of the survivor (ID numbers as their hash)."""
    wanted: list[tuple[str, str]] = []
    for name in (loser.name, loser.short_name):
        if name and name not in (survivor.name, survivor.short_name):
            wanted.append((Alias.AliasKind.NAME, name))
    if loser.code and loser.code != survivor.code:
        wanted.append((Alias.AliasKind.CODE, loser.code))
    if loser.uscc and loser.uscc != survivor.uscc:
        wanted.append((Alias.AliasKind.USCC, loser.uscc))
    if loser.id_number_hash and loser.id_number_hash != survivor.id_number_hash:
        wanted.append((Alias.AliasKind.ID_NUMBER, loser.id_number_hash))
    for phone in loser.phones or []:
        if phone.get("number"):
            wanted.append((Alias.AliasKind.PHONE, str(phone["number"])))
    existing = set(Alias.objects.filter(customer=survivor).values_list("kind", "value"))
    created = 0
    for kind, value in dict.fromkeys(wanted):
        if (kind, value) not in existing:
            Alias.objects.create(tenant_id=survivor.tenant_id, customer=survivor, kind=kind,
                                 value=value[:200], source_customer_id=loser.pk)
            created += 1
    return created


def _pair(actor: User, survivor_id: int, loser_id: int, *, for_update: bool
          ) -> tuple[Customer, Customer]:
    """Both customers, checked for a merge (visible with change, same tenant, not
    merged, not the same, the loser not above the survivor)."""
    access.require(actor, "customers.admin")
    if survivor_id == loser_id:
        raise ValidationFailed(fields={"loser_id": [
            _("Choose two different customers.")]})
    loaded: dict[int, Customer] = {}
    # Locked in id order, so two merges of the same pair cannot deadlock.
    for pk in sorted((survivor_id, loser_id)):
        loaded[pk] = access.get_for(Customer, actor, pk, "change", for_update=for_update)
    survivor, loser = loaded[survivor_id], loaded[loser_id]
    errors: dict[str, list[str]] = {}
    for key, customer in (("survivor_id", survivor), ("loser_id", loser)):
        if customer.merged_into_id:
            errors.setdefault(key, []).append(
                _("“%(name)s” was already merged into another customer.")
                % {"name": customer.name})
    if survivor.tenant_id != loser.tenant_id:  # visibility already ensures it
        raise NotFound()
    if survivor.hierarchy_path.startswith(loser.hierarchy_path or "\0"):
        errors.setdefault("loser_id", []).append(_(
            "“%(name)s” is above the customer to keep in the group hierarchy; keep it "
            "instead, or move the other customer out of its group first.")
            % {"name": loser.name})
    if errors:
        raise ValidationFailed(fields=errors)
    return survivor, loser


def merge_preview(*, actor: User, survivor_id: int, loser_id: int) -> dict[str, Any]:
    """What a merge would do, for the confirmation page: the records of each kind that
    would move. Nothing is written."""
    survivor, loser = _pair(actor, survivor_id, loser_id, for_update=False)
    counts: dict[str, int] = {}
    for model, fk in _related_links():
        manager: Any = model._base_manager
        attname = _attname(model, fk)
        n = manager.filter(**{attname: loser.pk}).count()
        if n:
            # A many-to-many table is named by its field ("tags").
            label = _m2m_label(model) or str(model._meta.verbose_name_plural)
            counts[label] = counts.get(label, 0) + n
    children = Customer.objects.filter(parent=loser).count()
    if children:
        counts[str(gettext_lazy("subsidiaries"))] = children
    files = document_selectors.count_on(target_type=DOCUMENT_TARGET, target_id=loser.pk)
    if files:
        counts[str(gettext_lazy("documents"))] = files
    return {"survivor": survivor, "loser": loser, "moves": counts}


def _m2m_label(through: type[models.Model]) -> str | None:
    for field in Customer._meta.many_to_many:
        if getattr(field, "remote_field", None) and field.remote_field.through is through:
            return str(field.verbose_name)
    return None


@transaction.atomic
def customer_merge(*, actor: User, survivor_id: int, loser_id: int,
                   expected_versions: Mapping[int, int] | None = None) -> Customer:
    """Merge ``loser_id`` into ``survivor_id``; returns the survivor.

    ``expected_versions`` maps customer ids to the versions the user saw (stale: 412).
    """
    survivor, loser = _pair(actor, survivor_id, loser_id, for_update=True)
    for customer in (survivor, loser):
        expected = (expected_versions or {}).get(customer.pk)
        if expected is not None and expected != customer.version:
            raise StaleVersion()
    before = audit.snapshot(survivor)
    before_tags = sorted(survivor.tags.values_list("name", flat=True))

    # The group hierarchy: a survivor without a group joins the loser's; the loser's
    # subsidiaries move under the survivor with their whole subtrees.
    if survivor.parent_id is None and loser.parent_id not in (None, survivor.pk):
        parent = Customer.objects.filter(pk=loser.parent_id).first()
        if parent is not None and not parent.hierarchy_path.startswith(
                survivor.hierarchy_path) and access.allows(actor, parent, "view"):
            set_parent(actor, survivor, parent.pk)
            survivor.save(update_fields=["parent", "hierarchy_path"])
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    children = list(Customer.objects.filter(parent=loser).order_by("pk"))
    for child in children:
        set_parent(actor, child, survivor.pk)
        Customer.objects.filter(pk=child.pk).update(parent=survivor,
                                                    hierarchy_path=child.hierarchy_path)
    if children:
        moved[Customer._meta.label + ".parent"] = len(children)
    # Tombstones already pointing at the loser now point at the survivor.
    Customer.objects.filter(merged_into=loser).update(merged_into=survivor)

    # Every other record pointing at the loser, whatever app it belongs to.
    links = _related_links()
    for model, fk in links:
        n_moved, n_dropped = _move_rows(model, fk, loser, survivor)
        label = model._meta.label
        if n_moved:
            moved[label] = moved.get(label, 0) + n_moved
        if n_dropped:
            dropped[label] = dropped.get(label, 0) + n_dropped
    for label, count in _drop_self_links([m for m, _fk in links], survivor).items():
        dropped[label] = dropped.get(label, 0) + count
    # Files point at their record by registered key and id, not by a foreign key.
    files = document_services.documents_retarget(
        tenant_id=survivor.tenant_id, target_type=DOCUMENT_TARGET, from_id=loser.pk,
        to_id=survivor.pk)
    if files:
        moved["documents.Document"] = files
    # Shares opened the loser alone: they are not carried over to the survivor, whose
    # records nobody chose to open (docs/access-control.md).
    shares = share_services.shares_drop(loser)
    if shares:
        dropped["core.RecordShare"] = shares
    # One primary contact per customer: the survivor's own stays primary.
    primaries = list(CustomerContact.objects.filter(customer=survivor, is_primary=True)
                     .order_by("created_at", "pk").values_list("pk", flat=True))
    if len(primaries) > 1:
        CustomerContact.objects.filter(pk__in=primaries[1:]).update(is_primary=False)

    filled = _fill_fields(survivor, loser)
    aliases = _keep_aliases(survivor, loser)
    refresh_derived(survivor, alias_names=alias_names(survivor))
    survivor.version = F("version") + 1
    survivor.save()
    survivor.refresh_from_db()

    loser.merged_into = survivor
    loser.parent = None
    loser.hierarchy_path = f"/{loser.pk}/"
    loser.version = F("version") + 1
    loser.save(update_fields=["merged_into", "parent", "hierarchy_path", "version",
                              "updated_at"])

    access.ensure_still_visible(survivor, actor)
    after_tags = sorted(survivor.tags.values_list("name", flat=True))
    changes: dict[str, Any] = audit.diff(
        Customer, before | {"tags": before_tags}, audit.snapshot(survivor) | {"tags": after_tags})
    changes |= {"merged": [None, loser.pk], "moved": moved, "dropped": dropped,
                "filled": filled, "aliases": aliases}
    audit.record(actor=actor, action="customer.merge", obj=survivor, changes=changes)
    audit.record(actor=actor, action="customer.merge", obj=loser,
                 changes={"merged_into": [None, survivor.pk], "moved": moved})
    return survivor
