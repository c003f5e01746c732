"""Customer master data: customers, contacts, hierarchy, relationships, history, imports.

Access follows the one policy (kehu.core.models.TenantQuerySet.visible_to). A contact is
visible to whoever may see one of its customers, so a transferred customer's contacts
follow it to the new owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.models import (
    AccessControlled,
    TenantLink,
    TenantOwned,
    TenantQuerySet,
    TimeStamped,
)

if TYPE_CHECKING:
    from kehu.core.models import User


class Kind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    GOVERNMENT = "government", _("Government / public body")
    INDIVIDUAL = "individual", _("Individual")


class Size(models.TextChoices):
    MICRO = "micro", _("Micro (under 10 staff)")
    SMALL = "small", _("Small (10–99)")
    MEDIUM = "medium", _("Medium (100–999)")
    LARGE = "large", _("Large (1,000–9,999)")
    GIANT = "giant", _("Very large (10,000 or more)")


class Tier(models.TextChoices):
    GROUP = "group", _("Group key account")
    PROVINCE = "province", _("Province key account")
    LOCAL = "local", _("Local key account")
    ORDINARY = "ordinary", _("Ordinary")


class VipGrade(models.TextChoices):
    NONE = "", _("None")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")
    DIAMOND = "diamond", _("Diamond")


class Status(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    CUSTOMER = "customer", _("Customer")
    REPEAT = "repeat", _("Repeat customer")
    SUPPORTER = "supporter", _("Supporter")
    LOYAL = "loyal", _("Loyal")
    DORMANT = "dormant", _("Dormant")
    CHURNED = "churned", _("Churned")
    BLACKLISTED = "blacklisted", _("Blacklisted")


class Channel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    POST = "post", _("Post")
    VISIT = "visit", _("Visit")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")
    OTHER = "other", _("Other")


class AddressKind(models.TextChoices):
    REGISTERED = "registered", _("Registered address")
    OFFICE = "office", _("Office address")
    BILLING = "billing", _("Billing address")
    SHIPPING = "shipping", _("Shipping address")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    FINANCE = "finance", _("Finance")
    TECHNICAL = "technical", _("Technical")
    PROCUREMENT = "procurement", _("Procurement")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    OTHER = "other", _("Other")


class RelationshipKind(models.TextChoices):
    SUBSIDIARY = "subsidiary", _("Subsidiary")
    PARTNER = "partner", _("Partner")
    SUPPLIER = "supplier", _("Supplier")
    COMPETITOR_CUSTOMER = "competitor_customer", _("Competitor's customer")
    OTHER = "other", _("Other")


class Tag(AccessControlled, TimeStamped):
    """A company-wide label for customers and contacts."""

    access_module = "customers"
    access_unit_field = None  # reference data: the permission decides

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=50)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="customers_unique_tag"),
        ]

    def __str__(self) -> str:
        return self.name


class Searchable(models.Model):
    """Columns the search index reads (kehu.customers.selectors.search; the services fill
    them on every save).

    ``search_text`` is lower-case text for substring search (names, pinyin, initials,
    codes, phone digits): trigram-indexed. ``search_grams`` holds the one- and
    two-character pieces of the Chinese names, space separated, for the short queries a
    trigram index cannot serve.
    """

    search_text = models.TextField(default="", blank=True, editable=False)
    search_grams = models.TextField(default="", blank=True, editable=False)

    class Meta:
        abstract = True


def live_q(relation: str = "") -> Q:
    """The condition "the customer still exists": a merged customer is a tombstone
    (``merged_into``) kept only so old links redirect. The one place this rule is
    written: for customers (``relation`` empty, see ``CustomerQuerySet.live``) or for
    the customer across a relation (``live_q("customer")`` on contact links…)."""
    field = f"{relation}__merged_into" if relation else "merged_into"
    return Q(**{f"{field}__isnull": True})


class CustomerQuerySet(TenantQuerySet):
    def live(self) -> CustomerQuerySet:
        """Customers that still exist (see ``live_q``)."""
        return self.filter(live_q())

    def ids_in_scope(self, user: Any, scope: str) -> Any:
        """The ids of the user's tenant's customers inside a data ``scope``: the subquery
        the access policy of records that follow their customer builds on."""
        model: Any = self.model
        return self.filter(model.scope_q(user, scope), tenant_id=user.tenant_id).values("pk")


class Customer(Searchable, TenantOwned):
    access_module = "customers"
    audit_exclude = frozenset(
        {"updated_at", "created_at", "version", "search_text", "search_grams",
         "id_number_encrypted", "id_number_hash", "name_key", "hierarchy_path",
         "quality_score", "phone_digits"}
    )
    audit_masked: ClassVar[dict[str, str]] = {
        "phones": "phone_list", "addresses": "address_list", "id_number_masked": "id_number",
        "emails": "email_list",
    }

    # Shares go with the record: deleted with it, dropped on merge.
    record_shares = GenericRelation("core.RecordShare")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices,
                            default=Kind.ENTERPRISE)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    code = models.CharField(_("customer code"), max_length=50, blank=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    # The resident ID number is stored encrypted; a keyed hash finds it, the mask shows it.
    id_number_encrypted = models.TextField(blank=True, default="", editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True,
                                        editable=False)
    industry = models.CharField(_("industry"), max_length=4, blank=True)
    region = models.CharField(_("region"), max_length=6, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    phone_digits = models.CharField(max_length=500, blank=True, default="", editable=False)
    emails = models.JSONField(_("emails"), default=list, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    tier = models.CharField(_("key-account tier"), max_length=10, choices=Tier.choices,
                            default=Tier.ORDINARY)
    vip_grade = models.CharField(_("VIP grade"), max_length=10, choices=VipGrade.choices,
                                 blank=True, default="")
    status = models.CharField(_("lifecycle status"), max_length=20, choices=Status.choices,
                              default=Status.POTENTIAL)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    consent = models.JSONField(_("consent"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers",
                                  through="CustomerTag", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", verbose_name=_("parent customer"))
    # Materialised path of the group hierarchy, "/12/40/": a group's members in one scan.
    hierarchy_path = models.CharField(max_length=1000, default="", editable=False,
                                      db_index=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", editable=False,
                                    verbose_name=_("merged into"))
    # The name without legal suffixes and spacing, for duplicate detection.
    name_key = models.CharField(max_length=200, default="", editable=False)
    quality_score = models.PositiveSmallIntegerField(_("data quality"), default=0,
                                                     editable=False)

    objects = CustomerQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], condition=~Q(code=""),
                                    name="customers_unique_code"),
        ]
        indexes = [
            models.Index(fields=["tenant", "org_unit"], name="customers_tenant_unit"),
            models.Index(fields=["tenant", "owner"], name="customers_tenant_owner"),
            models.Index(fields=["tenant", "status"], name="customers_tenant_status"),
            models.Index(fields=["tenant", "uscc"], name="customers_tenant_uscc"),
            models.Index(fields=["tenant", "id_number_hash"], name="customers_tenant_idhash"),
            models.Index(fields=["tenant", "name_key"], name="customers_tenant_namekey"),
            # The list's default order (newest first): its first page without a sort.
            models.Index(fields=["tenant", "-created_at", "-id"], name="customers_tenant_newest"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_organisation(self) -> bool:
        return self.kind != Kind.INDIVIDUAL


class Contact(Searchable, TenantOwned):
    """A person. One person can be the contact of several customers (CustomerContact)."""

    access_module = "contacts"
    audit_exclude = frozenset(
        {"updated_at", "created_at", "version", "search_text", "search_grams", "phone_digits"}
    )
    audit_masked: ClassVar[dict[str, str]] = {"phones": "phone_list", "email": "email"}

    name = models.CharField(_("name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, blank=True, choices=[
        ("male", _("Male")), ("female", _("Female"))])
    phones = models.JSONField(_("phones"), default=list, blank=True)
    phone_digits = models.CharField(max_length=500, blank=True, default="", editable=False)
    email = models.CharField(_("email"), max_length=254, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)
    preferred_channel = models.CharField(_("preferred channel"), max_length=10, blank=True,
                                         choices=Channel.choices)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts",
                                  through="ContactTag", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "org_unit"], name="customers_contact_unit"),
            models.Index(fields=["tenant", "owner"], name="customers_contact_owner"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, user: User, scope: str) -> Q:
        # Own scope rules, or linked to a customer the user may see in the same scope.
        customers = Customer.objects.ids_in_scope(user, scope)
        linked = CustomerContact.objects.filter(customer__in=customers).values("contact_id")
        return super().scope_q(user, scope) | Q(pk__in=linked)

    def in_scope(self, user: User, scope: str) -> bool:
        if super().in_scope(user, scope):
            return True
        return any(link.customer.in_scope(user, scope)
                   for link in self.customer_links.select_related("customer__org_unit"))


class CustomerTag(TenantLink):
    """A tag on a customer (the through table of ``Customer.tags``)."""

    tenant_from = "customer"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        db_table = "customers_customer_tags"
        constraints = [models.UniqueConstraint(fields=["tenant", "customer", "tag"],
                                               name="customers_customer_tags_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.tag_id}"


class ContactTag(TenantLink):
    """A tag on a contact (the through table of ``Contact.tags``)."""

    tenant_from = "contact"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        db_table = "customers_contact_tags"
        constraints = [models.UniqueConstraint(fields=["tenant", "contact", "tag"],
                                               name="customers_contact_tags_unique")]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.tag_id}"


class CustomerContact(models.Model):
    """A person's place at one customer: title, department, role in decisions."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="contact_links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="customer_links")
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    decision_role = models.CharField(_("role in decisions"), max_length=20, blank=True,
                                     choices=DecisionRole.choices)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("customer contact")
        verbose_name_plural = _("customer contacts")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "contact"],
                                    name="customers_unique_contact_link"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.customer_id}"


class Relationship(models.Model):
    """A typed link between two customers (beyond the parent hierarchy)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Customer, on_delete=models.CASCADE,
                               related_name="relationships_out")
    target = models.ForeignKey(Customer, on_delete=models.CASCADE,
                               related_name="relationships_in")
    kind = models.CharField(_("relationship"), max_length=30, choices=RelationshipKind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("customer relationship")
        verbose_name_plural = _("customer relationships")
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"],
                                    name="customers_unique_relationship"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class StatusChange(models.Model):
    """Every lifecycle transition, dated and kept."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True, choices=Status.choices)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                              related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"],
                                name="customers_status_history")]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class Transfer(models.Model):
    """A change of owner or owning unit, with its reason."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="transfers")
    from_owner = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                   related_name="+")
    to_owner = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True,
                                 related_name="+")
    from_unit = models.ForeignKey("core.OrgUnit", on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey("core.OrgUnit", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"],
                                name="customers_transfer_history")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_unit_id} → {self.to_unit_id}"


class Alias(models.Model):
    """An identifier a customer answers to besides its own: kept from merged customers."""

    class AliasKind(models.TextChoices):
        NAME = "name", _("Name")
        CODE = "code", _("Customer code")
        USCC = "uscc", _("Unified social credit code")
        ID_NUMBER = "id_number", _("ID number")
        PHONE = "phone", _("Phone")

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="aliases")
    kind = models.CharField(max_length=20, choices=AliasKind.choices)
    # ID numbers are kept as their keyed hash, never in clear.
    value = models.CharField(max_length=200)
    source_customer_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind", "value"], name="customers_alias_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ExternalId(models.Model):
    """The customer's id in another system (billing, provisioning, the national CRM)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="external_ids")
    system = models.CharField(_("system"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "system", "external_id"],
                                    name="customers_unique_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


class SavedView(models.Model):
    """A user's named list filter (the query string of the customer list)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="customers_unique_saved_view"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(TenantOwned):
    """One spreadsheet import: uploaded, checked (dry run), then run in the background."""

    access_module = "imports"

    class Entity(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")

    class State(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    entity = models.CharField(_("import of"), max_length=20, choices=Entity.choices)
    state = models.CharField(_("state"), max_length=20, choices=State.choices,
                             default=State.UPLOADED)
    file_name = models.CharField(_("file"), max_length=255)
    stored_name = models.CharField(max_length=255, editable=False)
    file_format = models.CharField(max_length=10, editable=False)  # csv or xlsx
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # Per-row choice for rows that match existing data: {"12": "update"}; else default.
    duplicate_default = models.CharField(max_length=10, default="skip")
    duplicate_actions = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker process running the job ("host:pid:token"), so that a restarted worker
    # can tell a job orphaned by a killed one (services.imports.recover_interrupted).
    runner = models.CharField(max_length=120, blank=True, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name

    def get_entity_display(self) -> Any:  # type: ignore[no-redef]
        # Other apps' import kinds (kehu.customers.importing.mapping.register_import_kind).
        from kehu.customers.importing.mapping import entity_label

        return entity_label(self.entity)

    @property
    def progress(self) -> int:
        if not self.total_rows:
            return 100 if self.state == self.State.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)


class ImportIssue(models.Model):
    """A row-level finding of an import: an error (row refused) or a duplicate match."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField()
    kind = models.CharField(max_length=10)  # "error" or "duplicate"
    field = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=500)
    match_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "kind", "row"], name="customers_import_issue")]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"



class RetentionRule(models.Model):
    """A tenant's retention rule (PIPL Art. 47 "the retention period has expired"), run by
    the worker: each run first stores a dry-run report, and the next run deletes only
    what that report listed and is still due (kehu.customers.services.privacy)."""

    class Kind(models.TextChoices):
        CHURNED_INDIVIDUAL_INTERACTIONS = "churned_individual_interactions", _(
            "Interactions of churned individual customers")

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("rule"), max_length=50, choices=Kind.choices)
    years = models.PositiveSmallIntegerField(_("keep for (years)"))
    # The last dry run: {"before": iso, "customers": {id: count}, "total": n}.
    report = models.JSONField(default=dict, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_deleted = models.PositiveIntegerField(default=0)
    # The API's ETag; a tenant without the rule sees "0".
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"],
                                               name="customers_retention_rule_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.years}"
