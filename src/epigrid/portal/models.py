"""The resident portal: one-time login codes and requests to correct one's data.

A :class:`LoginCode` is sent by SMS (through the notification service) to a phone number registered in the
person registry; only its hash is kept, it expires, allows a few tries, and the number and the address asking
are rate-limited; wrong codes are kept as :class:`LoginFailure` rows, which lock the number out after too
many. A :class:`CorrectionRequest` is a resident's request to fix what the registry holds about
them; the community's staff decide it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.fields import EncryptedTextField
from epigrid.core.models import Person, User


class LoginCode(models.Model):
    phone_index = models.CharField(max_length=64, db_index=True)  # the phone's blind index
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        # The per-address limit counts an address's codes of the last hour.
        indexes = [models.Index(fields=["ip", "created_at"], name="portal_code_ip_at")]

    def __str__(self) -> str:
        return f"login code {self.pk}"


class LoginFailure(models.Model):
    """One wrong (or expired) code typed for a phone number: what the lock-out counts. The failure that
    completes a series sets ``locks_until``; the number is refused until then and counting starts afresh."""

    phone_index = models.CharField(max_length=64)
    at = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True, default="")
    locks_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["phone_index", "at"], name="portal_failure_phone_at")]

    def __str__(self) -> str:
        return f"login failure {self.pk}"


class CorrectionField(models.TextChoices):
    NAME = "name", _("Name")
    ID_NUMBER = "id_number", _("ID number")
    PHONE = "phone", _("Phone")
    ADDRESS = "address", _("Address")
    HOUSEHOLD = "household", _("Household")
    OTHER = "other", _("Something else")


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("Waiting")
    DONE = "done", _("Corrected")
    REFUSED = "refused", _("Refused")


class CorrectionRequest(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="correction_requests")
    field = models.CharField(_("what is wrong"), max_length=12, choices=CorrectionField.choices)
    requested_value = EncryptedTextField(_("what it should be"), blank=True, default="")
    reason = models.CharField(_("explanation"), max_length=500, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=8, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("answer"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    org_code = models.CharField(max_length=15, db_index=True)  # the person's

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.field}"
