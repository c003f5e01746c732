"""Personal-data requests (PIPL Art. 44–47) for an individual customer or a contact:

- ``personal_data_export``: everything Kehu holds about the person — the record, its
  contacts or customers, what registered apps hold (interactions…, see
  ``kehu.customers.personal_data``), documents with their files, consents, and the audit
  entries about the record — as one zip of JSON and XLSX;
- ``personal_data_erase``: the person's fields are removed everywhere — the record and its
  search columns (which the SQLite FTS5 triggers and the PostgreSQL indexes follow), the
  registered apps' data, stored documents and their files — while the business record
  stays (an anonymised customer keeps its id, code, owner and status) and the audit trail
  keeps who did what and when with masked references (``audit.mask_subject``);
- ``retention_run``: the tenant's retention rules, dry run first (the worker runs them).

Each needs its own permission (``privacy.export``, ``privacy.erase``), a reason, and is
audited.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit, crypto
from kehu.core.exceptions import ValidationFailed
from kehu.core.models import AuditEvent, User
from kehu.core.spreadsheets import xlsx_value
from kehu.core.versions import bump_version, check_version
from kehu.customers.models import (
    Alias,
    Contact,
    Customer,
    CustomerContact,
    Kind,
    RetentionRule,
    Status,
)
from kehu.customers.personal_data import SOURCES, Subject, SubjectType, sources
from kehu.customers.services.contacts import refresh_contact
from kehu.customers.services.customers import refresh_derived
from kehu.documents import services as documents
from kehu.documents import storage

REASON_MAX = 500
# The documents app's attachment-target keys of the two kinds of person.
TARGETS = {"customer": "customers.customer", "contact": "customers.contact"}
CUSTOMER_FIELDS = ("id", "kind", "name", "short_name", "code", "uscc", "industry", "region",
                   "size", "addresses", "phones", "emails", "website", "tier", "vip_grade",
                   "status", "status_changed_at", "notes", "created_at", "updated_at")
CONTACT_FIELDS = ("id", "name", "gender", "phones", "email", "wechat", "preferred_channel",
                  "birthday", "notes", "created_at", "updated_at")


def clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Give the reason for this request.")]})
    if len(reason) > REASON_MAX:
        raise ValidationFailed(fields={"reason": [
            _("At most %(max_length)s characters.") % {"max_length": REASON_MAX}]})
    return reason


def subject_for(actor: User, subject_type: SubjectType, record_id: int, permission: str,
                *, action: str = "view", for_update: bool = False) -> Subject:
    """The person, visible to ``actor``, after the permission check (denials audited)."""
    access.require(actor, permission)
    if subject_type == "customer":
        customer = access.get_for(Customer, actor, record_id, action,
                                  for_update=for_update)
        if customer.kind != Kind.INDIVIDUAL or customer.merged_into_id:
            raise ValidationFailed(_("Personal-data requests concern individual customers "
                                     "(people), not organisations."))
        return Subject("customer", customer)
    return Subject("contact", access.get_for(Contact, actor, record_id, action,
                                             for_update=for_update))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _record(subject: Subject) -> dict[str, Any]:
    record = subject.record
    fields = CUSTOMER_FIELDS if subject.type == "customer" else CONTACT_FIELDS
    data = {name: _plain(getattr(record, name)) for name in fields}
    if subject.type == "customer":
        data["id_number"] = (crypto.decrypt(record.id_number_encrypted)
                             if record.id_number_encrypted else "")
        data["aliases"] = list(record.aliases.values_list("value", flat=True))
        data["tags"] = list(record.tags.values_list("name", flat=True))
    else:
        data["tags"] = list(record.tags.values_list("name", flat=True))
    return data


def _links(subject: Subject) -> list[dict[str, Any]]:
    if subject.type == "customer":
        links = CustomerContact.objects.filter(customer=subject.record).select_related("contact")
        return [{"contact_id": link.contact_id, "name": link.contact.name,
                 "phones": link.contact.phones, "email": link.contact.email,
                 "title": link.title, "department": link.department} for link in links]
    links = CustomerContact.objects.filter(contact=subject.record).select_related("customer")
    return [{"customer_id": link.customer_id, "customer": link.customer.name,
             "title": link.title, "department": link.department,
             "decision_role": link.decision_role} for link in links]


def _audit_rows(subject: Subject) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(tenant_id=subject.tenant_id, object_type=subject.type,
                                     object_id=str(subject.record.pk)).order_by("pk")
    return [{"time": _plain(e.created_at), "action": e.action, "actor": e.actor_label,
             "object": e.object_repr, "changes": e.changes} for e in rows]


def collect(subject: Subject) -> dict[str, Any]:
    """Everything Kehu holds about the person, as plain JSON values."""
    record = subject.record
    docs = documents.documents_of(tenant_id=subject.tenant_id, target_type=TARGETS[subject.type],
                                  target_id=record.pk)
    data: dict[str, Any] = {
        "subject": {"type": subject.type, "id": record.pk},
        "record": _record(subject),
        "contacts" if subject.type == "customer" else "customers": _links(subject),
        "consents": dict(record.consent) if subject.type == "customer" else {},
        "documents": [{"id": d.pk, "file_name": d.file_name, "content_type": d.content_type,
                       "size": d.size, "sha256": d.sha256, "description": d.description,
                       "uploaded_at": _plain(d.created_at),
                       "file": f"files/{d.pk}-{d.file_name}"} for d in docs],
        "audit": _audit_rows(subject),
    }
    for source in sources():
        data[source.key] = [{k: _plain(v) for k, v in row.items()}
                            for row in source.export(subject)]
    return data


def _xlsx(data: dict[str, Any]) -> bytes:
    """One sheet per section: the record as field/value rows, lists as tables."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)

    def plain(value: Any) -> Any:  # nested values as JSON text, then xlsx_value
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return "" if value is None else value

    for section, value in data.items():
        sheet: Any = workbook.create_sheet(section[:31])
        if isinstance(value, dict):
            for key, item in value.items():
                sheet.append([xlsx_value(plain(key)), xlsx_value(plain(item))])
        elif value:
            header = list(value[0].keys())
            sheet.append([xlsx_value(plain(h)) for h in header])
            for row in value:
                sheet.append([xlsx_value(plain(row.get(h))) for h in header])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def personal_data_export(*, actor: User, subject_type: SubjectType, record_id: int,
                         reason: str) -> tuple[str, bytes]:
    """The archive of everything about the person: (file name, zip bytes)."""
    reason = clean_reason(reason)
    subject = subject_for(actor, subject_type, record_id, "privacy.export")
    data = collect(subject)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("personal-data.json",
                         json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("personal-data.xlsx", _xlsx(data))
        for doc in documents.documents_of(tenant_id=subject.tenant_id,
                                          target_type=TARGETS[subject.type],
                                          target_id=subject.record.pk):
            path = storage.stored_path(doc.tenant_id, doc.storage_name)
            if path.exists():
                archive.write(path, f"files/{doc.pk}-{doc.file_name}")
    with transaction.atomic():
        audit.record(actor=actor, action="privacy.export", obj=subject.record,
                     changes={"reason": [None, reason]})
    name = f"personal-data-{subject.type}-{subject.record.pk}.zip"
    return name, out.getvalue()


def erased_name(subject_type: SubjectType, record_id: int) -> str:
    """The name an erased record keeps, the same in every language (it is stored)."""
    return f"{'已删除个人' if subject_type == 'customer' else '已删除联系人'} #{record_id}"


def _erase_customer(customer: Customer) -> None:
    customer.name = erased_name("customer", customer.pk)
    customer.short_name = ""
    customer.uscc = ""
    customer.id_number_encrypted = customer.id_number_hash = customer.id_number_masked = ""
    customer.addresses, customer.phones, customer.emails = [], [], []
    customer.website = customer.notes = ""
    customer.consent = {}
    Alias.objects.filter(customer=customer).delete()
    refresh_derived(customer, alias_names=[])


def _erase_contact(contact: Contact) -> None:
    contact.name = erased_name("contact", contact.pk)
    contact.gender = contact.email = contact.wechat = contact.preferred_channel = ""
    contact.phones = []
    contact.birthday = None
    contact.notes = ""
    refresh_contact(contact)
    CustomerContact.objects.filter(contact=contact).update(title="", department="")


@transaction.atomic
def personal_data_erase(*, actor: User, subject_type: SubjectType, record_id: int,
                        reason: str, expected_version: int | None) -> Any:
    """Anonymise the person everywhere; the business record and audit trail stay."""
    reason = clean_reason(reason)
    subject = subject_for(actor, subject_type, record_id, "privacy.erase", action="change",
                          for_update=True)
    record = subject.record
    check_version(record, expected_version)
    counts: dict[str, int] = {}
    for source in sources():
        counts[source.key] = source.erase(subject)
    counts["documents"] = len(documents.documents_erase(
        tenant_id=subject.tenant_id, target_type=TARGETS[subject.type], target_id=record.pk))
    if subject.type == "customer":
        _erase_customer(record)
    else:
        _erase_contact(record)
    bump_version(record)
    label = erased_name(subject.type, record.pk)
    counts["audit"] = audit.mask_subject(tenant_id=subject.tenant_id,
                                         object_type=subject.type, object_id=record.pk,
                                         label=label)
    audit.record(actor=actor, action="privacy.erase", object_type=subject.type,
                 object_id=record.pk, object_repr=label,
                 changes={"reason": [None, reason],
                          **{key: [None, n] for key, n in counts.items()},
                          "erased_at": [None, timezone.now().isoformat()]})
    record.refresh_from_db()
    return record


# ---------------------------------------------------------------------------- retention

RETENTION_YEARS = (1, 50)
# A dry-run report is acted on no sooner than this: time for an administrator to see it.
RETENTION_NOTICE = dt.timedelta(days=1)


@transaction.atomic
def retention_rule_set(*, actor: User, kind: str, years: int | None,
                       expected_version: int | None = None) -> RetentionRule | None:
    """Set (or, with ``years`` None, remove) one of the tenant's retention rules.

    ``expected_version`` is the version the change was based on (0: no rule; None: any):
    an older one is refused (412). A change drops the last dry-run report, so the worker
    reports again before it deletes anything under the new period."""
    access.require(actor, "privacy.erase")
    if kind not in RetentionRule.Kind.values:
        raise ValidationFailed(fields={"kind": [_("Choose a retention rule.")]})
    rule = (RetentionRule.objects.select_for_update()
            .filter(tenant_id=actor.tenant_id, kind=kind).first())
    check_version(rule or RetentionRule(version=0), expected_version)
    before = rule.years if rule else None
    if years is None:
        if rule:
            rule.delete()
        rule = None
    else:
        low, high = RETENTION_YEARS
        if not low <= years <= high:
            raise ValidationFailed(fields={"years": [
                _("Enter a number of years from %(low)s to %(high)s.") % {"low": low,
                                                                          "high": high}]})
        if rule is None:
            rule = RetentionRule.objects.create(tenant_id=actor.tenant_id, kind=kind,
                                                years=years)
        elif rule.years != years:
            rule.years, rule.report, rule.reported_at = years, {}, None
            rule.version += 1
            rule.save(update_fields=["years", "report", "reported_at", "version"])
    if before != years:
        audit.record(actor=actor, action="retention.rule", tenant_id=actor.tenant_id,
                     object_type="retentionrule", object_id=kind, object_repr=kind,
                     changes={"years": [before, years]})
    return rule


def _due(rule: RetentionRule, now: dt.datetime) -> tuple[dt.datetime, dict[int, int]]:
    """Customers whose data the rule makes due, and how many records of each."""
    before = now - dt.timedelta(days=365 * rule.years)
    churned = list(Customer.objects.filter(
        tenant_id=rule.tenant_id, kind=Kind.INDIVIDUAL, status=Status.CHURNED,
        status_changed_at__lt=before, merged_into__isnull=True).values_list("pk", flat=True))
    source = SOURCES.get("interactions")
    due: dict[int, int] = {}
    if source is not None and source.expire is not None:
        for customer_id in churned:
            count = source.expire(rule.tenant_id, [customer_id], before, True)
            if count:
                due[customer_id] = count
    return before, due


def retention_run(rule: RetentionRule, *, now: dt.datetime | None = None,
                  dry_run: bool) -> dict[str, Any]:
    """A dry run stores its report on the rule. A real run deletes what the last dry
    run listed (at least ``RETENTION_NOTICE`` ago) and is still due — nothing else —
    then stores a fresh report. Returns the report or what was deleted."""
    now = now or timezone.now()
    before, due = _due(rule, now)
    if dry_run:
        rule.report = {"before": before.isoformat(), "total": sum(due.values()),
                       "customers": {str(k): v for k, v in due.items()}}
        rule.reported_at = now
        rule.save(update_fields=["report", "reported_at"])
        return rule.report
    if rule.reported_at is None or rule.reported_at > now - RETENTION_NOTICE:
        return {"deleted": 0, "waiting_for_report": True}
    listed = {int(k) for k in rule.report.get("customers", {})}
    reported_before = dt.datetime.fromisoformat(rule.report["before"])
    source = SOURCES["interactions"]
    deleted = 0
    with transaction.atomic():
        for customer_id in sorted(listed & set(due)):
            assert source.expire is not None
            deleted += source.expire(rule.tenant_id, [customer_id], reported_before, False)
        rule.last_run_at, rule.last_deleted = now, deleted
        rule.save(update_fields=["last_run_at", "last_deleted"])
        audit.record(actor=None, action="retention.run", tenant_id=rule.tenant_id,
                     object_type="retentionrule", object_id=rule.kind, object_repr=rule.kind,
                     changes={"deleted": [None, deleted], "before": [None, rule.report["before"]]})
    retention_run(rule, now=now, dry_run=True)
    return {"deleted": deleted}


def retention_run_all(now: dt.datetime | None = None) -> int:
    """The worker's daily pass over every tenant's rules: act on yesterday's report, then
    report again. The number of records deleted."""
    deleted = 0
    for rule in RetentionRule.objects.all():
        if rule.reported_at is None:
            retention_run(rule, now=now, dry_run=True)
        else:
            deleted += int(retention_run(rule, now=now, dry_run=False).get("deleted", 0))
    return deleted
