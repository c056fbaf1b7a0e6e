"""Shared kernel: jurisdiction, people, accounts, audit, events, disease profiles and policies.

Models hold data and invariants the database can enforce; every write goes through ``services.py``.
Scoped models carry ``org_code``, the materialized path of the org unit they belong to, so that scope is
one indexed prefix test (see ``scope.py``).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.fields import EncryptedTextField
from epigrid.core.identity import IdType
from epigrid.core.masking import mask_name
from epigrid.core.roles import Role


class OrgLevel(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street/town")
    COMMUNITY = "community", _("Community/village")
    GRID = "grid", _("Grid")


# Length of the path code at each level: 6 district + 3 street + 3 community + 3 grid.
LEVEL_CODE_LENGTH = {OrgLevel.DISTRICT: 6, OrgLevel.STREET: 9, OrgLevel.COMMUNITY: 12, OrgLevel.GRID: 15}


class OrgUnit(models.Model):
    code = models.CharField(_("code"), max_length=15, unique=True)
    level = models.CharField(_("level"), max_length=12, choices=OrgLevel.choices)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)
    centroid_lat = models.FloatField(null=True, blank=True)
    centroid_lng = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def org_code(self) -> str:
        return self.code


class Household(models.Model):
    grid = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="households"
    )
    org_code = models.CharField(max_length=15, db_index=True)
    address = models.CharField(_("address"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.address


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "", _("Unknown")


class Person(models.Model):
    """The master record of one human being; every module points here."""

    id_type = models.CharField(
        _("document type"), max_length=10, choices=IdType.choices, default=IdType.RESIDENT
    )
    id_number = EncryptedTextField(_("document number"))
    id_number_index = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("document number"), max_length=40, editable=False)
    name = models.CharField(_("name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True, default="")
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, default="", editable=False)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    grid = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="residents"
    )
    # The grid's code, or the district's for people who live elsewhere (visitors): scope is a prefix test.
    org_code = models.CharField(max_length=15, db_index=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number_index"], name="person_unique_document"),
        ]

    def __str__(self) -> str:
        return self.name_masked

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)


class User(AbstractUser):
    """A staff account (one role, one org unit) or a resident account linked to their Person."""

    role = models.CharField(_("role"), max_length=24, choices=Role.choices, default=Role.RESIDENT)
    org_unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    person = models.OneToOneField(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_enabled = models.BooleanField(_("two-step login"), default=False)
    # The language messages to this account are written in (SMS, email, inbox); pages follow the browser.
    language = models.CharField(_("language for messages"), max_length=10, default="zh-hans")

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    @property
    def org_code(self) -> str:
        return self.org_unit.code if self.org_unit_id else ""

    def __str__(self) -> str:
        return self.username


class ApiToken(models.Model):
    """Bearer token for the JSON API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d}"


class AuditEntry(models.Model):
    """Append-only, hash-chained log of who did what. ``hash`` covers the entry and the previous hash."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    org_code = models.CharField(max_length=15, blank=True, default="", db_index=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    revealed_fields = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """One row, locked while appending so that concurrent writers extend the chain in turn."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class Event(models.Model):
    """A stored domain event: what happened, where in the jurisdiction, when."""

    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    org_code = models.CharField(max_length=15, blank=True, default="", db_index=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class Notice(models.Model):
    """A message to one account's inbox (invitations, reminders); ``core.notices`` sends them. Other
    channels (SMS, email) hang off the same service later; the inbox always gets the message."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    org_code = models.CharField(max_length=15, blank=True, default="", db_index=True)  # the recipient's
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_unread")]

    def __str__(self) -> str:
        return self.title


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")  # opted out, or no address for the channel


class NoticeDelivery(models.Model):
    """One notice on one channel besides the inbox (SMS, email): its state, attempts and the gateway's answer.
    ``address_masked`` is where it went, masked; the address itself is read from the person at sending time."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    address_masked = models.CharField(max_length=120, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    provider_ref = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    org_code = models.CharField(max_length=15, blank=True, default="", db_index=True)  # the recipient's

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "channel"])]
        constraints = [
            models.UniqueConstraint(fields=["notice", "channel"], name="notice_delivery_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"


class NoticeOptOut(models.Model):
    """An account that does not want notices of ``kind`` on ``channel`` (``"*"``: any kind). Kinds the law
    requires (recalls, quarantine orders) ignore opt-outs; the notification templates say which."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notice_opt_outs")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notice_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel}"


class DiseaseProfile(models.Model):
    code = models.SlugField(unique=True)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PolicyVersion(models.Model):
    """A versioned set of rule parameters for one disease; at most one is active per disease."""

    disease = models.ForeignKey(DiseaseProfile, on_delete=models.PROTECT, related_name="policies")
    version = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    params = models.JSONField(default=dict)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["disease__code", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["disease", "version"], name="policy_unique_version"),
            models.UniqueConstraint(
                fields=["disease"], condition=models.Q(is_active=True), name="policy_one_active_per_disease"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.disease_id}/{self.version}"


class ResponseLevel(models.TextChoices):
    NORMAL = "normal", _("Normal (peacetime)")
    LEVEL_IV = "IV", _("Level IV (general)")
    LEVEL_III = "III", _("Level III (serious)")
    LEVEL_II = "II", _("Level II (very serious)")
    LEVEL_I = "I", _("Level I (extremely serious)")


class ResponseLevelChange(models.Model):
    """History of the district's emergency response level; the newest row is in force."""

    level = models.CharField(max_length=8, choices=ResponseLevel.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    set_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["-set_at", "-id"]

    def __str__(self) -> str:
        return f"{self.level} at {self.set_at:%Y-%m-%d %H:%M}"


class PeriodicRun(models.Model):
    """When each periodic job was last enqueued; the row lock keeps two workers from enqueueing it twice."""

    name = models.CharField(max_length=100, unique=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Signs and verifies")
    VERIFY_ONLY = "verify", _("Verifies codes signed earlier")
    RETIRED = "retired", _("Retired: its codes are refused")


class SigningKey(models.Model):
    """An ES256 key pair for signed codes (venue codes, personal codes). One key is active at a time; a
    rotated-out key keeps verifying what it signed until it is retired."""

    kid = models.CharField(max_length=32, unique=True)
    private_key = EncryptedTextField()
    public_key = models.TextField()
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="signing_key_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.status})"
