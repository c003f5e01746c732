"""The row processor: one pass over an uploaded file that cleans each row with the same
functions as the form and the API, finds duplicates against what the importer may see
and within the file, stores the findings as ``ImportIssue`` rows and, when writing,
creates or updates the records in batches. What is kept across the file is sets of
duplicate keys, not rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import OrgUnit, User
from kehu.core.placement import placement
from kehu.customers import normalize, quality
from kehu.customers.importing.files import (
    MAX_ROWS,
    Source,
    refuse,
    stored_path,
    too_many_rows,
    unique_headers,
)
from kehu.customers.importing.mapping import (
    IMPORT_KINDS,
    choice_value,
    entity_permission,
    split_values,
)
from kehu.customers.models import (
    Alias,
    Contact,
    Customer,
    CustomerContact,
    ImportIssue,
    ImportJob,
    Kind,
    StatusChange,
    Tag,
)
from kehu.customers.services import cleaning, common
from kehu.customers.services import contacts as contact_services
from kehu.customers.services import customers as customer_services

BATCH = 1000

_TRUE = {"1", "true", "yes", "y", "是", "√", "✓", "x", "主要", "primary"}
_GENDERS = {"男": "male", "m": "male", "male": "male", "先生": "male",
            "女": "female", "f": "female", "female": "female", "女士": "female"}


@dataclass
class Row:
    number: int
    values: dict[str, str]
    clean: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    keys: list[tuple[str, str]] = field(default_factory=list)
    match_id: int | None = None
    match_field: str = ""
    file_match: int | None = None
    action: str = "create"


@dataclass
class Counts:
    rows: int = 0
    accepted: int = 0
    errors: int = 0
    duplicates: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


KEY_LABELS = {
    "uscc": gettext_lazy("credit code"), "id_number": gettext_lazy("ID number"),
    "phones": gettext_lazy("phone"), "name": gettext_lazy("name"),
    "email": gettext_lazy("email"),
}


def processor_class(entity: str) -> type[Processor]:
    """The processor of an import: this one, or a registered kind's subclass."""
    kind = IMPORT_KINDS.get(entity)
    return kind.processor if kind is not None else Processor


class Processor:
    """One pass over the file: clean, find duplicates, and (``write``) import.

    A registered import kind subclasses it and replaces ``_load_existing``, ``_take``
    and ``_flush`` (cleaning and writing its rows); reading, counting, issues and
    progress stay here."""

    def __init__(self, job: ImportJob, actor: User, *, write: bool,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.job = job
        self.actor = actor
        self.write = write
        self.on_progress = on_progress
        self.customers = job.entity == ImportJob.Entity.CUSTOMERS
        self.permission = entity_permission(job.entity)
        self.counts = Counts()
        self.issues: list[ImportIssue] = []
        self.batch: list[Row] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.existing: dict[tuple[str, str], int] = {}
        self.codes_in_file: set[str] = set()
        self._cache: dict[tuple[str, str], Any] = {}
        self.tags: dict[str, Tag] = {}
        self.is_admin = access.has_perm(actor, "customers.admin")
        self.linked_customers: set[int] = set()

    # ---- the pass

    def process(self) -> dict[str, int]:
        self._load_existing()
        source = Source(stored_path(self.job), self.job.file_format, self.job.encoding)
        columns: list[tuple[int, str]] = []
        for number, cells in enumerate(source.rows(), start=1):
            if number == 1:
                headers = unique_headers(cells)
                if headers != list(self.job.headers):
                    raise refuse(_("The file's columns changed since it was uploaded."))
                columns = [(i, self.job.mapping.get(h, "")) for i, h in enumerate(headers)]
                columns = [(i, f) for i, f in columns if f]
                continue
            if not any(cells):
                continue  # blank lines are not rows
            values = {f: (cells[i] if i < len(cells) else "") for i, f in columns}
            self.counts.rows += 1
            if self.counts.rows > MAX_ROWS:
                raise too_many_rows(MAX_ROWS)
            self._take(Row(number, values))
            if len(self.batch) >= BATCH:
                self._flush()
        self._flush()
        self._flush_issues(force=True)
        if self.write and self.linked_customers:
            self._refresh_quality(self.linked_customers)
        return self.counts.as_dict()

    def _take(self, row: Row) -> None:
        try:
            if self.customers:
                self._clean_customer(row)
            else:
                self._clean_contact(row)
        except ValidationFailed as exc:
            self.counts.errors += 1
            fields = exc.fields or {"": [str(exc.message)]}
            for name, messages in fields.items():
                for message in messages:
                    self._issue(row.number, "error", name, str(message))
            return
        self._find_duplicate(row)
        self.counts.accepted += 1
        self.batch.append(row)

    def _flush(self) -> None:
        rows, self.batch = self.batch, []
        if rows:
            rows = self._check_batch(rows)
            rows = self._resolve_actions(rows)
            if self.write:
                if self.customers:
                    self._write_customers(rows)
                else:
                    self._write_contacts(rows)
        self._flush_issues()
        if self.on_progress is not None:
            self.on_progress(self.counts.rows)

    def _issue(self, row: int, kind: str, name: str, message: str,
               match_id: int | None = None) -> None:
        self.issues.append(ImportIssue(tenant_id=self.job.tenant_id, job=self.job, row=row,
                                       kind=kind, field=name[:50], message=message[:500],
                                       match_id=match_id))

    def _reject(self, row: Row, name: str, message: str) -> None:
        """A row that passed the field checks but fails a check of the whole batch."""
        self.counts.accepted -= 1
        self.counts.errors += 1
        self._issue(row.number, "error", name, message)

    def _flush_issues(self, force: bool = False) -> None:
        if self.issues and (force or len(self.issues) >= BATCH):
            ImportIssue.objects.bulk_create(self.issues, batch_size=BATCH)
            self.issues = []

    # ---- cleaning

    def _cached(self, kind: str, raw: str, make: Callable[[], Any]) -> Any:
        key = (kind, raw)
        if key not in self._cache:
            if len(self._cache) > 20_000:
                self._cache.clear()  # distinct values are few; bound it all the same
            try:
                self._cache[key] = make()
            except ValidationFailed as exc:
                self._cache[key] = exc
        result = self._cache[key]
        if isinstance(result, ValidationFailed):
            raise result
        return result

    def _placement(self, owner_text: str, unit_text: str) -> tuple[User | None, OrgUnit]:
        def make() -> tuple[User | None, OrgUnit]:
            owner_id: int | None = self.actor.pk
            unit_id: int | None = None
            if owner_text:
                owner_id = self._find_user(owner_text)
            if unit_text:
                unit_id = self._find_unit(unit_text)
                if not owner_text:
                    owner_id = None
            return placement(self.actor, self.permission, owner_id, unit_id)

        return self._cached("placement", f"{owner_text}\0{unit_text}", make)

    def _find_user(self, text: str) -> int:
        users = list(User.objects.filter(Q(email__iexact=text) | Q(full_name=text),
                                         tenant_id=self.actor.tenant_id, is_active=True)
                     .values_list("pk", flat=True)[:2])
        if len(users) != 1:
            message = (_("No active user “%(value)s” (give an email or a full name).")
                       if not users else
                       _("Several users are called “%(value)s”; give the email."))
            raise ValidationFailed(fields={"owner": [message % {"value": text}]})
        return users[0]

    def _find_unit(self, text: str) -> int:
        units = list(OrgUnit.objects.filter(Q(name=text) | Q(code=text),
                                            tenant_id=self.actor.tenant_id, is_active=True)
                     .values_list("pk", flat=True)[:2])
        if len(units) != 1:
            message = (_("No active unit “%(value)s”.") if not units else
                       _("Several units are called “%(value)s”."))
            raise ValidationFailed(fields={"org_unit": [message % {"value": text}]})
        return units[0]

    def _lookup(self, field_name: str, raw: str, kind: str = Kind.ENTERPRISE) -> Any:
        """A region or industry cleaned once per distinct text (the lookups are the
        costly part of a row)."""
        return self._cached(field_name, raw, lambda: cleaning.clean_customer_fields(
            {field_name: raw}, kind=kind)[field_name])

    def _clean_customer(self, row: Row) -> None:
        v = {key: choice_value(key, raw) for key, raw in row.values.items()}
        errors: dict[str, list[str]] = {}
        kind_text = v.get("kind", "")
        if not kind_text:
            kind = Kind.INDIVIDUAL if v.get("id_number") and not v.get("uscc") \
                else Kind.ENTERPRISE
        else:
            try:
                kind = self._cached("kind", kind_text, lambda: cleaning.clean_customer_fields(
                    {"kind": kind_text}, kind=Kind.ENTERPRISE)["kind"])
            except ValidationFailed as exc:
                errors.update(exc.fields)
                kind = Kind.ENTERPRISE
        data: dict[str, Any] = {}
        for key, raw in v.items():
            if key in ("kind", "tags", "owner", "org_unit", "region", "industry"):
                continue
            if key in ("phones", "emails"):
                data[key] = split_values(raw)
            elif key == "code" and raw and not self.is_admin:
                errors.setdefault("code", []).append(
                    _("Only administrators set customer codes; leave the column out."))
            elif raw or key == "name":
                data[key] = raw
        clean: dict[str, Any] = {}
        try:
            clean = cleaning.clean_customer_fields(data, kind=kind)
        except ValidationFailed as exc:
            for key, messages in exc.fields.items():
                errors.setdefault(key, []).extend(messages)
        for key in ("region", "industry"):
            if v.get(key):
                try:
                    clean[key] = self._lookup(key, v[key])
                except ValidationFailed as exc:
                    for name, messages in exc.fields.items():
                        errors.setdefault(name, []).extend(messages)
        code = clean.get("code", "")
        if code:
            if customer_services.GENERATED_CODE_RE.match(code):
                errors.setdefault("code", []).append(
                    _("Codes of the form C + 8 digits are generated; choose another code."))
            elif code in self.codes_in_file:
                errors.setdefault("code", []).append(
                    _("Another row of the file has this code."))
        try:
            owner, unit = self._placement(v.get("owner", ""), v.get("org_unit", ""))
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                errors.setdefault({"owner_id": "owner", "org_unit_id": "org_unit"}.get(
                    name, name), []).extend(messages)
            owner, unit = None, self.actor.org_unit
        if errors:
            raise ValidationFailed(fields=errors)
        if code:
            self.codes_in_file.add(code)
        clean["kind"] = kind
        row.clean = clean
        row.extra = {"owner": owner, "unit": unit, "tags": split_values(v.get("tags", ""))}
        keys: list[tuple[str, str]] = []
        if clean.get("uscc"):
            keys.append(("uscc", clean["uscc"]))
        if clean.get("id_number_hash"):
            keys.append(("id_number", clean["id_number_hash"]))
        keys += [("phones", p["number"]) for p in clean.get("phones", [])]
        name_key = normalize.name_key(clean["name"])
        if name_key:
            keys.append(("name", name_key))
        row.keys = keys

    def _clean_contact(self, row: Row) -> None:
        v = {key: choice_value(key, raw) for key, raw in row.values.items()}
        data: dict[str, Any] = {}
        link: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, raw in v.items():
            if key in ("title", "department", "decision_role"):
                if raw:
                    link[key] = raw
            elif key == "is_primary":
                link[key] = normalize.fold(raw).casefold() in _TRUE
            elif key == "gender":
                gender = _GENDERS.get(normalize.fold(raw).casefold(), raw)
                data[key] = gender
            elif key == "phones":
                data[key] = split_values(raw)
            elif key in ("customer", "tags", "owner"):
                continue
            elif raw or key == "name":
                data[key] = raw
        clean: dict[str, Any] = {}
        link_clean: dict[str, Any] = {}
        for cleaner, payload in ((cleaning.clean_contact_fields, data),
                                 (cleaning.clean_link_fields, link)):
            try:
                result = cleaner(payload)
            except ValidationFailed as exc:
                for key, messages in exc.fields.items():
                    errors.setdefault(key, []).extend(messages)
            else:
                if cleaner is cleaning.clean_contact_fields:
                    clean = result
                else:
                    link_clean = result
        customer_ref = normalize.fold(v.get("customer", ""))
        owner_text = v.get("owner", "")
        owner: User | None = None
        unit: OrgUnit | None = None
        if owner_text:
            try:
                owner, unit = self._placement(owner_text, "")
            except ValidationFailed as exc:
                for messages in exc.fields.values():
                    errors.setdefault("owner", []).extend(messages)
        if errors:
            raise ValidationFailed(fields=errors)
        row.clean = clean
        row.extra = {"link": link_clean, "customer_ref": customer_ref, "owner": owner,
                     "unit": unit, "tags": split_values(v.get("tags", ""))}
        keys = [("phones", p["number"]) for p in clean.get("phones", [])]
        if clean.get("email"):
            keys.append(("email", clean["email"]))
        row.keys = keys

    # ---- duplicates

    def _load_existing(self) -> None:
        """Duplicate keys of the records the importer may see (never of others: a match
        against an invisible record would reveal that it exists)."""
        if self.customers:
            qs = Customer.objects.visible_to(self.actor).live() \
                .values_list("pk", "uscc", "id_number_hash", "name_key", "phone_digits")
            for pk, uscc, id_hash, name_key, digits in qs.iterator(chunk_size=2000):
                for kind, value in (("uscc", uscc), ("id_number", id_hash), ("name", name_key)):
                    if value:
                        self.existing.setdefault((kind, value), pk)
                for number in (digits or "").split():
                    self.existing.setdefault(("phones", number), pk)
        else:
            contacts = Contact.objects.visible_to(self.actor) \
                .values_list("pk", "email", "phone_digits")
            for pk, email, digits in contacts.iterator(chunk_size=2000):
                if email:
                    self.existing.setdefault(("email", email), pk)
                for number in (digits or "").split():
                    self.existing.setdefault(("phones", number), pk)

    def _find_duplicate(self, row: Row) -> None:
        for key in row.keys:
            digits_key = (key[0], key[1].lstrip("+")) if key[0] == "phones" else key
            match = self.existing.get(digits_key)
            if match is not None and row.match_id is None:
                row.match_id, row.match_field = match, key[0]
            if row.file_match is None and row.match_id is None and key in self.seen:
                row.file_match, row.match_field = self.seen[key], key[0]
        for key in row.keys:
            self.seen.setdefault(key, row.number)

    def _check_batch(self, rows: list[Row]) -> list[Row]:
        """Checks that need the database, once per batch: codes already taken, the
        customers contacts belong to."""
        kept: list[Row] = []
        if self.customers:
            codes = {r.clean["code"] for r in rows if r.clean.get("code")}
            taken: dict[str, int] = {}
            if codes:
                taken = dict(Customer.objects.filter(tenant_id=self.actor.tenant_id,
                                                     code__in=codes)
                             .values_list("code", "pk"))
            for row in rows:
                holder = taken.get(row.clean.get("code") or "")
                if holder is not None and holder != row.match_id:
                    self._reject(row, "code", _("Another customer already has this code."))
                else:
                    kept.append(row)
            return kept
        resolved = self._customers_for({r.extra["customer_ref"] for r in rows
                                        if r.extra["customer_ref"]})
        for row in rows:
            ref = row.extra["customer_ref"]
            target = resolved.get(ref) if ref else None
            if isinstance(target, str):
                self._reject(row, "customer", target)
                continue
            row.extra["customer_id"] = target
            kept.append(row)
        return kept

    def _resolve_actions(self, rows: list[Row]) -> list[Row]:
        """Each duplicate's action (per-row choice, else the job's default); an update
        needs the right to change the matching record."""
        model: Any = Customer if self.customers else Contact
        for row in rows:
            if row.match_id is not None or row.file_match is not None:
                row.action = self.job.duplicate_actions.get(str(row.number),
                                                            self.job.duplicate_default)
                if row.match_id is None and row.action == "update":
                    row.action = "skip"  # nothing stored yet to update: the first row wins
        matched = {r.match_id for r in rows if r.match_id is not None}
        labels: dict[int, str] = {}
        targets_: dict[int, Any] = {}
        if matched:
            for obj in model.objects.filter(pk__in=matched):
                labels[obj.pk] = f"{obj.name} ({obj.code})" if self.customers and obj.code \
                    else obj.name
            update_ids = {r.match_id for r in rows if r.action == "update"}
            if update_ids:
                targets_ = {o.pk: o for o in model.objects.visible_to(self.actor, "change")
                            .filter(pk__in=update_ids)}
        kept: list[Row] = []
        for row in rows:
            if row.action == "update":
                target = targets_.get(row.match_id or 0)
                if target is None:
                    self._reject(row, row.match_field, _(
                        "The matching record is not yours to change; choose skip or create "
                        "for this row."))
                    continue
                if self.customers and row.clean["kind"] != target.kind:
                    self._reject(row, "kind", _(
                        "The matching customer is of another kind; choose skip or create "
                        "for this row."))
                    continue
                row.extra["target"] = target
            kept.append(row)
            if row.match_id is None and row.file_match is None:
                self.counts.created += 1
                continue
            self.counts.duplicates += 1
            by = str(KEY_LABELS.get(row.match_field, row.match_field))
            if row.match_id is not None:
                message = _("Same %(key)s as “%(label)s”.") % {
                    "key": by, "label": labels.get(row.match_id, row.match_id)}
            else:
                message = _("Same %(key)s as row %(row)d of this file.") % {
                    "key": by, "row": row.file_match}
            self._issue(row.number, "duplicate", row.match_field, message, row.match_id)
            if row.action == "skip":
                self.counts.skipped += 1
            elif row.action == "update":
                self.counts.updated += 1
            else:
                self.counts.created += 1
        return kept

    # ---- writing customers

    def _tags(self, names: Iterable[str]) -> list[Tag]:
        result = []
        for name in names:
            folded = normalize.fold(name)[:50]
            if not folded:
                continue
            if folded not in self.tags:
                self.tags[folded] = common.tags_for(self.actor, [folded])[0]
            result.append(self.tags[folded])
        return result

    def _write_customers(self, rows: list[Row]) -> None:
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        now = timezone.now()
        new: list[Customer] = []
        for row in creates:
            customer = Customer(tenant_id=self.actor.tenant_id, owner=row.extra["owner"],
                                org_unit=row.extra["unit"], status_changed_at=now,
                                **row.clean)
            customer_services.refresh_derived(customer, has_contact=False)
            new.append(customer)
        Customer.objects.bulk_create(new, batch_size=BATCH)
        if new:
            # What customer_create does after its first save, in two statements for the
            # batch: each customer's own place in the hierarchy, and the generated code
            # C + 8 digits (searchable too) for those without one.
            ids = [c.pk for c in new]
            Customer.objects.filter(pk__in=ids).update(
                hierarchy_path=Concat(Value("/"), Cast("id", CharField()), Value("/")))
            digits = LPad(Cast("id", CharField()), 8, Value("0"))
            Customer.objects.filter(pk__in=ids, code="").update(
                code=Concat(Value("C"), digits),
                search_text=Concat(F("search_text"), Value("|c"), digits))
            StatusChange.objects.bulk_create(
                [StatusChange(tenant_id=c.tenant_id, customer=c, from_status="",
                              to_status=c.status, actor=self.actor, changed_at=now,
                              reason=_("Imported")) for c in new], batch_size=BATCH)
        through: Any = Customer.tags.through
        links = [through(tenant_id=c.tenant_id, customer_id=c.pk, tag_id=t.pk)
                 for c, row in zip(new, creates, strict=True)
                 for t in self._tags(row.extra["tags"])]
        if updates:
            links += self._update_customers(updates)
        through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)

    def _update_customers(self, rows: list[Row]) -> list[Any]:
        """The row's non-empty values onto the matching customer (not its name, kind,
        code or status: those have their own actions)."""
        ids = {r.extra["target"].pk for r in rows}
        with_contacts = set(CustomerContact.objects.filter(customer_id__in=ids)
                            .values_list("customer_id", flat=True))
        aliases: dict[int, list[str]] = {}
        for customer_id, value in Alias.objects.filter(
                customer_id__in=ids, kind__in=[Alias.AliasKind.NAME, Alias.AliasKind.CODE]) \
                .values_list("customer_id", "value"):
            aliases.setdefault(customer_id, []).append(value)
        through: Any = Customer.tags.through
        links: list[Any] = []
        changed: dict[int, Customer] = {}
        before: dict[int, dict[str, Any]] = {}
        tags = self._tag_names(through, "customer_id", ids)
        now = timezone.now()
        for row in rows:
            customer: Customer = row.extra["target"]
            before.setdefault(customer.pk, audit.snapshot(customer))
            for key, value in row.clean.items():
                if key in ("kind", "status", "code", "name") or value in ("", [], None):
                    continue
                setattr(customer, key, value)
            customer.version += 1
            customer.updated_at = now
            customer_services.refresh_derived(customer, has_contact=customer.pk in with_contacts,
                                              alias_names=aliases.get(customer.pk, ()))
            changed[customer.pk] = customer
            added = self._tags(row.extra["tags"])
            tags[customer.pk][1].update(t.name for t in added)
            links += [through(tenant_id=customer.tenant_id, customer_id=customer.pk, tag_id=t.pk)
                      for t in added]
        Customer.objects.bulk_update(list(changed.values()), [
            "short_name", "uscc", "id_number_encrypted", "id_number_hash", "id_number_masked",
            "industry", "region", "size", "addresses", "phones", "emails", "website", "tier",
            "vip_grade", "notes", "name_key", "phone_digits", "search_text", "search_grams",
            "quality_score", "version", "updated_at"], batch_size=BATCH)
        self._audit_updates("customer.update", changed, before, tags)
        return links

    def _tag_names(self, through: Any, column: str, ids: set[int]
                   ) -> dict[int, tuple[set[str], set[str]]]:
        """Each record's tag names, before and (filled by the caller) after the update."""
        tags: dict[int, tuple[set[str], set[str]]] = {pk: (set(), set()) for pk in ids}
        for pk, name in through.objects.filter(tenant_id=self.job.tenant_id,
                                               **{f"{column}__in": ids}) \
                .values_list(column, "tag__name"):
            tags[pk][0].add(name)
            tags[pk][1].add(name)
        return tags

    def _audit_updates(self, action: str, changed: dict[int, Any],
                       before: dict[int, dict[str, Any]],
                       tags: dict[int, tuple[set[str], set[str]]]) -> None:
        """One audit event per record the update changed, with the masked diff that the
        single-record update writes (in batches, like the update itself)."""
        items = []
        for pk, obj in changed.items():
            old_tags, new_tags = tags[pk]
            changes = audit.diff(type(obj), before[pk] | {"tags": sorted(old_tags)},
                                 audit.snapshot(obj) | {"tags": sorted(new_tags)})
            if changes:
                items.append((obj, changes | {"import": [None, self.job.pk]}))
        audit.record_many(actor=self.actor, action=action, items=items, batch_size=BATCH)

    # ---- writing contacts

    def _customers_for(self, refs: set[str], action: str = "change") -> dict[str, int | str]:
        """Customer references (code, credit code or exact name) → the id of the one
        customer the importer may ``action`` (change, or view), or why there is none."""
        found: dict[str, set[int]] = {}
        if refs:
            upper = {r.upper() for r in refs}
            for pk, code, uscc, name in Customer.objects.visible_to(self.actor, action) \
                    .live().filter(Q(code__in=refs) | Q(uscc__in=upper) | Q(name__in=refs)) \
                    .values_list("pk", "code", "uscc", "name"):
                for ref in (code, name, uscc):
                    if ref:
                        found.setdefault(ref, set()).add(pk)
        result: dict[str, int | str] = {}
        for ref in refs:
            ids = found.get(ref, set()) | found.get(ref.upper(), set())
            if len(ids) == 1:
                result[ref] = next(iter(ids))
            elif not ids and action == "view":
                result[ref] = _("No customer “%(value)s” that you can see (give its code, "
                                "credit code or exact name).") % {"value": ref}
            elif not ids:
                result[ref] = _("No customer “%(value)s” that you may change (give its code, "
                                "credit code or exact name).") % {"value": ref}
            else:
                result[ref] = _("Several customers match “%(value)s”; give the code.") % {
                    "value": ref}
        return result

    def _write_contacts(self, rows: list[Row]) -> None:
        customer_ids = {r.extra["customer_id"] for r in rows if r.extra.get("customer_id")}
        placements = {pk: (owner_id, unit_id) for pk, owner_id, unit_id in
                      Customer.objects.filter(pk__in=customer_ids)
                      .values_list("pk", "owner_id", "org_unit_id")}
        new: list[tuple[Contact, Row]] = []
        updates: list[Row] = []
        for row in rows:
            if row.action == "skip":
                continue
            if row.action == "update":
                updates.append(row)
                continue
            owner, unit = row.extra["owner"], row.extra["unit"]
            customer_id = row.extra.get("customer_id")
            if owner is None and customer_id is not None:
                # As contact_create: a contact added to a customer lives with it.
                owner_id, unit_id = placements[customer_id]
                contact = Contact(tenant_id=self.actor.tenant_id, owner_id=owner_id,
                                  org_unit_id=unit_id, **row.clean)
            else:
                if owner is None:
                    owner, unit = self._placement("", "")
                contact = Contact(tenant_id=self.actor.tenant_id, owner=owner, org_unit=unit,
                                  **row.clean)
            contact_services.refresh_contact(contact)
            new.append((contact, row))
        Contact.objects.bulk_create([c for c, _r in new], batch_size=BATCH)
        through: Any = Contact.tags.through
        tag_links = [through(tenant_id=c.tenant_id, contact_id=c.pk, tag_id=t.pk) for c, row in new
                     for t in self._tags(row.extra["tags"])]
        links = [(c.pk, row) for c, row in new if row.extra.get("customer_id")]
        if updates:
            tag_links += self._update_contacts(updates)
            links += [(row.extra["target"].pk, row) for row in updates
                      if row.extra.get("customer_id")]
        through.objects.bulk_create(tag_links, batch_size=BATCH, ignore_conflicts=True)
        self._write_links(links)

    def _update_contacts(self, rows: list[Row]) -> list[Any]:
        through: Any = Contact.tags.through
        tag_links: list[Any] = []
        changed: dict[int, Contact] = {}
        before: dict[int, dict[str, Any]] = {}
        tags = self._tag_names(through, "contact_id", {r.extra["target"].pk for r in rows})
        now = timezone.now()
        for row in rows:
            contact: Contact = row.extra["target"]
            before.setdefault(contact.pk, audit.snapshot(contact))
            for key, value in row.clean.items():
                if key != "name" and value not in ("", [], None):
                    setattr(contact, key, value)
            contact.version += 1
            contact.updated_at = now
            contact_services.refresh_contact(contact)
            changed[contact.pk] = contact
            added = self._tags(row.extra["tags"])
            tags[contact.pk][1].update(t.name for t in added)
            tag_links += [through(tenant_id=contact.tenant_id, contact_id=contact.pk, tag_id=t.pk)
                          for t in added]
        Contact.objects.bulk_update(
            list(changed.values()),
            ["gender", "phones", "phone_digits", "email", "wechat", "preferred_channel",
             "birthday", "notes", "search_text", "search_grams", "version", "updated_at"],
            batch_size=BATCH)
        self._audit_updates("contact.update", changed, before, tags)
        return tag_links

    def _write_links(self, links: list[tuple[int, Row]]) -> None:
        """Contact ↔ customer links with title, department, role; one primary contact per
        customer (the last row of the file that says so)."""
        if not links:
            return
        pairs = {(row.extra["customer_id"], contact_id) for contact_id, row in links}
        existing = {(c, p): pk for pk, c, p in CustomerContact.objects.filter(
            customer_id__in={c for c, _p in pairs}, contact_id__in={p for _c, p in pairs})
            .values_list("pk", "customer_id", "contact_id")}
        primary_for: dict[int, int] = {}
        fresh: dict[tuple[int, int], CustomerContact] = {}
        for contact_id, row in links:
            customer_id = row.extra["customer_id"]
            fields = dict(row.extra["link"])
            if fields.pop("is_primary", False):
                primary_for[customer_id] = contact_id
            key = (customer_id, contact_id)
            if key in existing:
                if fields:
                    CustomerContact.objects.filter(pk=existing[key]).update(**fields)
            elif key in fresh:
                for name, value in fields.items():
                    setattr(fresh[key], name, value)
            else:
                fresh[key] = CustomerContact(tenant_id=self.actor.tenant_id,
                                             customer_id=customer_id, contact_id=contact_id,
                                             **fields)
        CustomerContact.objects.bulk_create(list(fresh.values()), batch_size=BATCH)
        if primary_for:
            CustomerContact.objects.filter(customer_id__in=primary_for, is_primary=True) \
                .update(is_primary=False)
            condition = Q()
            for customer_id, contact_id in primary_for.items():
                condition |= Q(customer_id=customer_id, contact_id=contact_id)
            CustomerContact.objects.filter(condition).update(is_primary=True)
        self.linked_customers.update(row.extra["customer_id"] for _p, row in links)

    def _refresh_quality(self, customer_ids: set[int]) -> None:
        ids = sorted(customer_ids)
        for start in range(0, len(ids), BATCH):
            chunk = list(Customer.objects.filter(pk__in=ids[start:start + BATCH]))
            for customer in chunk:
                customer.quality_score = quality.assess(customer, True)[0]
            Customer.objects.bulk_update(chunk, ["quality_score"], batch_size=BATCH)
