"""Tenants, the org tree, users, roles, API tokens, audit events and idempotency keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core import permissions as perms
from kehu.core.audit_actions import action_label
from kehu.core.grants import has_perm, scope_for
from kehu.core.permissions import Scope

if TYPE_CHECKING:
    from kehu.core.models import User as UserType


class TenantQuerySet(models.QuerySet):
    """The one door for reads: ``Model.objects.visible_to(user, action)``.

    Applies the policy that kehu.core.access documents; it reads the user's grants from
    kehu.core.grants, so models never import access (access imports models).
    """

    def visible_to(self, user: Any, action: str = "view") -> Self:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        model: Any = self.model
        qs = self.filter(tenant_id=user.tenant_id)
        scope = scope_for(user, f"{model.access_module}.{action}")
        if scope is None:
            return qs.none()
        if scope == Scope.TENANT:
            return qs
        condition = model.scope_q(user, scope)
        shared = shared_ids(user, model, action)
        if shared:
            condition |= Q(pk__in=shared)
        return qs.filter(condition)


class AccessControlled:
    """Mixin giving a tenant-owned model its place in the access policy.

    ``access_module`` names the registered module whose actions guard it. Two attributes
    place its records in the org tree, from which ``scope_q`` (for querysets) and
    ``in_scope`` (for one loaded record) follow:

    - ``access_unit_field``: the FK to the owning OrgUnit; ``SELF`` when the record is a
      unit; ``None`` for company-wide reference data (the action permission decides);
    - ``access_owner_field``: the attribute holding the owning user's id ("own" scope);
      ``None`` when "own" means the user's own unit.
    """

    SELF: ClassVar[str] = "self"

    access_module: ClassVar[str]
    access_unit_field: ClassVar[str | None] = "org_unit"
    access_owner_field: ClassVar[str | None] = "owner_id"
    # Fields never written to the audit diff, and fields masked there.
    audit_exclude: ClassVar[frozenset[str]] = frozenset({"updated_at", "created_at", "version"})
    audit_masked: ClassVar[dict[str, str]] = {}

    @classmethod
    def scope_q(cls, user: UserType, scope: str) -> Q:
        unit_field, owner_field = cls.access_unit_field, cls.access_owner_field
        if unit_field is None:
            return Q()
        if scope == Scope.OWN and owner_field is not None:
            return Q(**{owner_field: user.pk})
        if unit_field == cls.SELF:
            if scope == Scope.SUBTREE:
                return Q(path__startswith=user.org_unit.path)
            return Q(pk=user.org_unit_id)
        if scope == Scope.SUBTREE:
            return Q(**{f"{unit_field}__path__startswith": user.org_unit.path})
        return Q(**{f"{unit_field}_id": user.org_unit_id})

    def in_scope(self, user: UserType, scope: str) -> bool:
        """``scope_q`` for one loaded record, for per-row decisions such as unmasking."""
        unit_field, owner_field = self.access_unit_field, self.access_owner_field
        if unit_field is None:
            return True
        if scope == Scope.OWN and owner_field is not None:
            return bool(getattr(self, owner_field) == user.pk)
        if unit_field == self.SELF:
            unit: Any = self
        else:
            unit = getattr(self, unit_field)
        if unit is None:
            return False
        if scope == Scope.SUBTREE:
            return bool(unit.path.startswith(user.org_unit.path))
        return bool(unit.pk == user.org_unit_id)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        abstract = True


class TenantOwned(AccessControlled, TimeStamped):
    """Base of every tenant-owned business record (customers, interactions, …)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    org_unit = models.ForeignKey(
        "core.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("owning unit")
    )
    owner = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("owner"),
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class TenantLinkQuerySet(models.QuerySet):
    """Rows of a many-to-many link table. Writers pass ``through_defaults={"tenant_id": …}``;
    a row created without it (``.add()`` in a fixture) takes the tenant of its owning row."""

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        missing = [obj for obj in objs if obj.tenant_id is None]
        if missing:
            model: Any = self.model
            field: Any = model._meta.get_field(model.tenant_from)
            ids = {getattr(obj, field.attname) for obj in missing}
            tenants = dict(field.related_model._base_manager.using(self.db)
                           .filter(pk__in=ids).values_list("pk", "tenant_id"))
            for obj in missing:
                obj.tenant_id = tenants.get(getattr(obj, field.attname))
        return super().bulk_create(objs, *args, **kwargs)


class TenantLink(models.Model):
    """Base of the through model of a many-to-many between tenant-owned records: the link
    row carries ``tenant_id`` too (sharding by tenant, docs/scale-out.md)."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.PROTECT, related_name="+")
    # The foreign key whose row owns the link (its tenant is the link's tenant).
    tenant_from: ClassVar[str]

    objects = TenantLinkQuerySet.as_manager()

    class Meta:
        abstract = True


class Tenant(TimeStamped):
    name = models.CharField(_("company name"), max_length=200)
    name_key = models.CharField(max_length=200, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def key_for(name: str) -> str:
        """Names equal up to case and spacing are the same company."""
        return " ".join(name.split()).casefold()


class OrgUnit(AccessControlled, TimeStamped):
    class Kind(models.TextChoices):
        GROUP = "group", _("Group HQ")
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        TEAM = "team", _("Team")
        OTHER = "other", _("Other")

    access_module = "org"
    access_unit_field = AccessControlled.SELF
    access_owner_field = None  # "own" is the user's own unit

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent unit"),
    )
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=50, blank=True)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    # Materialised path of primary keys, "/1/7/42/": a subtree is one indexed prefix scan.
    path = models.CharField(max_length=2000, db_index=True, editable=False, default="")
    depth = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(parent__isnull=True), name="core_one_root_per_tenant"
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="core_unique_sibling_name"),
        ]
        indexes = [models.Index(fields=["tenant", "path"], name="core_orgunit_tenant_path")]

    def __str__(self) -> str:
        return self.name

class Role(AccessControlled, TimeStamped):
    access_module = "roles"
    access_unit_field = None  # company-wide reference data: the permission is the check

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    # Built-in roles resolve their permissions from the registry; custom ones store them.
    builtin_key = models.CharField(max_length=50, blank=True, editable=False)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    data_scope = models.CharField(
        _("data scope"), max_length=20, choices=Scope.CHOICES, default=Scope.OWN
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="core_unique_role_name"),
            models.UniqueConstraint(
                fields=["tenant", "builtin_key"], condition=~Q(builtin_key=""),
                name="core_unique_builtin_role",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return bool(self.builtin_key)

    @property
    def display_name(self) -> str:
        """The name in the reader's language: built-in roles take their registry label."""
        builtin = perms.BUILTIN_ROLES.get(self.builtin_key) if self.builtin_key else None
        return str(builtin.label) if builtin else self.name

    @property
    def display_description(self) -> str:
        builtin = perms.BUILTIN_ROLES.get(self.builtin_key) if self.builtin_key else None
        return str(builtin.description) if builtin else self.description

    def effective_permissions(self) -> frozenset[str]:
        if self.builtin_key:
            builtin = perms.BUILTIN_ROLES.get(self.builtin_key)
            return perms.expand(builtin.patterns) if builtin else frozenset()
        return perms.expand(list(self.permissions))


class UserManager(BaseUserManager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> UserType:
        return self.get(email__iexact=username)


class User(AccessControlled, AbstractBaseUser):
    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    access_module = "users"
    access_owner_field = "pk"  # "own" is oneself
    audit_exclude = frozenset(
        {"updated_at", "created_at", "version", "password", "last_login", "totp_secret",
         "failed_login_count", "totp_last_step", "totp_recovery_codes"}
    )
    audit_masked = {"phone": "phone"}

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="members", verbose_name=_("org unit")
    )
    email = models.EmailField(_("email"), unique=True)
    # This user's record opened to colleagues (``shares`` are those opened to this user).
    record_shares = GenericRelation("core.RecordShare")
    full_name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("mobile phone"), max_length=30, blank=True)
    roles = models.ManyToManyField(Role, related_name="users", blank=True, through="UserRole",
                                   verbose_name=_("roles"))
    is_active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    failed_login_count = models.PositiveIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True, editable=False)
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_enabled = models.BooleanField(_("two-factor authentication"), default=False)
    # The last 30-second step whose code was accepted: codes are single-use.
    totp_last_step = models.BigIntegerField(default=0, editable=False)
    # One-time recovery codes, salted hashes ("salt$sha256"); a used one is removed.
    totp_recovery_codes = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "org_unit"], name="core_user_tenant_unit")]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    # Django's admin and auth context processors ask these; Kehu's own policy is access.py.
    @property
    def is_staff(self) -> bool:
        return False

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return has_perm(self, perm)

    def has_module_perms(self, app_label: str) -> bool:
        return False


class UserRole(TenantLink):
    """A role held by a user (the through table of ``User.roles``)."""

    tenant_from = "user"

    user = models.ForeignKey(User, on_delete=models.CASCADE)
    role = models.ForeignKey(Role, on_delete=models.CASCADE)

    class Meta:
        db_table = "core_user_roles"
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "role"],
                                               name="core_user_roles_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.role_id}"


class ApiToken(TimeStamped):
    """A personal API token: shown once, stored as a SHA-256 hash, acts as its user."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditQuerySet(TenantQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def mask(self, *, object_repr: str, changes: dict[str, Any], masked_at: Any) -> int:
        """The one change allowed, once per row (``audit.mask_subject``; the database
        trigger checks the same): the object's name and the changes, masked."""
        unmasked = self.filter(masked_at__isnull=True)
        return super(AuditQuerySet, unmasked).update(
            object_repr=object_repr, changes=changes, masked_at=masked_at)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class AuditEvent(AccessControlled, models.Model):
    """One row per write, login, failed login, denial, export and PII reveal. Append-only."""

    access_module = "audit"
    access_owner_field = "actor_id"  # "own" is what the user did

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, related_name="+")
    # The actor's unit at the time: lets branch managers read their branch's trail.
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=300, blank=True)
    action = models.CharField(_("action"), max_length=50, db_index=True)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object id"), max_length=50, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    # Set once, by ``audit.mask_subject`` (a person's data erased, PIPL Art. 47): the row's
    # object name and changes were masked; everything else stays. The database allows
    # this one update and no other (migration audit_masking).
    masked_at = models.DateTimeField(_("masked at"), null=True, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="core_audit_tenant_time"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="core_audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")

    @property
    def action_label(self) -> str:
        return action_label(self.action)


class RecordShare(TimeStamped):
    """An explicit share: one record opened to one user beyond their data scope.

    A share widens *which* records a user sees, never *what* they may do: the user still
    needs the module action (e.g. ``customers.view``) from a role.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.PositiveBigIntegerField()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="shares",
                             verbose_name=_("shared with"))
    can_change = models.BooleanField(_("may change"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # The last day the share holds; none: until revoked.
    expires_on = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("record share")
        verbose_name_plural = _("record shares")
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id", "user"],
                                    name="core_unique_record_share")
        ]
        indexes = [models.Index(fields=["user", "content_type"], name="core_share_user_type")]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} → {self.user_id}"


SHARE_ACTIONS = {"view": False, "change": True}  # action → needs can_change

# The models whose records may be shared one by one: key ("app.model") → model. Each
# declares ``GenericRelation("core.RecordShare")`` so deleting a record deletes its shares.
SHAREABLE: dict[str, type[models.Model]] = {}


def register_shareable(model: type[models.Model]) -> None:
    """Let records of ``model`` be shared (called from an app's registrations)."""
    if not any(isinstance(f, GenericRelation) and f.related_model is RecordShare
               for f in model._meta.private_fields):
        raise TypeError(f"{model._meta.label} needs a GenericRelation to core.RecordShare")
    SHAREABLE[model._meta.label_lower] = model


def live_shares() -> Q:
    """Shares not past their last day."""
    return Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate())


def shared_ids(user: Any, model: type[models.Model], action: str) -> list[int]:
    """Ids of ``model`` records explicitly shared with ``user`` for ``action``.

    Loaded once per request and model; most users have none, so list queries keep their
    simple plans.
    """
    if action not in SHARE_ACTIONS:
        return []
    cache: dict[tuple[str, str], list[int]] = user.__dict__.setdefault("_kehu_shares", {})
    key = (model._meta.label, action)
    if key not in cache:
        from django.contrib.contenttypes.models import ContentType

        shares = RecordShare.objects.filter(
            live_shares(), tenant_id=user.tenant_id, user_id=user.pk,
            content_type=ContentType.objects.get_for_model(model),
        )
        if SHARE_ACTIONS[action]:
            shares = shares.filter(can_change=True)
        cache[key] = list(shares.values_list("object_id", flat=True))
    return cache[key]


class IdempotencyKey(models.Model):
    """The first response to a create carrying ``Idempotency-Key``, replayed on retry."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "method", "path", "key"], name="core_unique_idempotency_key"
            ),
            # Sign-up has no user; NULLs are distinct in the constraint above.
            models.UniqueConstraint(
                fields=["method", "path", "key"], condition=Q(user__isnull=True),
                name="core_unique_anonymous_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.key}"


class SignupRequest(models.Model):
    """A sign-up waiting for its email to be confirmed (docs/access-control.md).

    Every request makes one, whether or not the address already has an account (so both
    cost the same); ``account_exists`` says which email it gets. The link's token is not
    stored: it is an HMAC of this row under the secret key (kehu.core.services.signup),
    ``confirmed_at`` makes it single-use and ``created_at`` makes it expire. ``tenant`` is
    the company the confirmation created. The email columns are an outbox the
    notifications worker sends, like ``Notification``'s.
    """

    class Email(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    email = models.EmailField(max_length=254)
    company_name = models.CharField(max_length=200)
    admin_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=30, blank=True)
    language = models.CharField(max_length=10, default="zh-hans")
    password = models.CharField(max_length=128, blank=True)  # a hash, as User.password
    account_exists = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=10, choices=Email.choices,
                                    default=Email.PENDING)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)
    # As on notifications: fixed at the first claim so a resend after a crash is the same
    # message, and the sending worker process while ``sending``.
    email_message_id = models.CharField(max_length=200, blank=True)
    email_claimed_by = models.CharField(max_length=120, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["email_status"], condition=Q(email_status="pending"),
                         name="core_signup_outbox"),
            models.Index(fields=["created_at"], name="core_signup_created"),
        ]

    def __str__(self) -> str:
        return f"{self.pk}: {self.company_name}"
