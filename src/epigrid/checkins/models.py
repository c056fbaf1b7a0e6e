"""Scan check-ins (扫码留痕), venue kiosks and visitor registrations (访客登记).

Check-ins are the highest-volume table of the platform: the row is narrow, carries the venue's org code
for scope, and is indexed for the two questions asked of it — who was at this venue around this time
(tracing), and where was this person (trajectories). They are deleted after the retention period.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.fields import EncryptedTextField
from epigrid.core.models import Person, User
from epigrid.places.models import Venue


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


class Method(models.TextChoices):
    SELF = "self", _("Own scan")
    FAMILY = "family", _("With a family member")
    STAFF = "staff", _("Registered by staff")
    KIOSK = "kiosk", _("Venue scanner")
    VISITOR = "visitor", _("Visitor registration")


class CheckIn(models.Model):
    client_id = models.UUIDField(unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="checkins")
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="checkins")
    org_code = models.CharField(max_length=15)
    scanned_at = models.DateTimeField()
    # When the person left, or is assumed to leave (scan time + the venue type's default stay).
    leave_at = models.DateTimeField()
    left_explicitly = models.BooleanField(default=False)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.SELF)
    colour = models.CharField(max_length=6, choices=Colour.choices)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        indexes = [
            # leave_at too: who is present at each venue now reads this index alone (the command map,
            # occupancy), and tracing's (venue, scanned_at) ranges use its first two columns as before.
            models.Index(fields=["venue", "scanned_at", "leave_at"], name="checkin_venue_time_leave"),
            models.Index(fields=["person", "scanned_at"], name="checkin_person_time"),
            models.Index(fields=["scanned_at"], name="checkin_time"),
            models.Index(fields=["org_code", "scanned_at"], name="checkin_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.venue_id} {self.scanned_at:%Y-%m-%d %H:%M}"


class Kiosk(models.Model):
    """A scanner at a venue's door: its own account (role venue_kiosk) whose API token checks people in."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="kiosks")
    account = models.OneToOneField(User, on_delete=models.CASCADE, related_name="kiosk")
    name = models.CharField(max_length=60)
    org_code = models.CharField(max_length=15, db_index=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.venue_id}"


class VisitStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    REGISTERED = "registered", _("Details filled in")
    ARRIVED = "arrived", _("Arrived")
    LEFT = "left", _("Left")
    CANCELLED = "cancelled", _("Cancelled")


class VisitorRegistration(models.Model):
    """A visit to an enterprise or office: host, purpose, times; arrival checks the visitor in."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="visits")
    org_code = models.CharField(max_length=15, db_index=True)
    host_name = models.CharField(_("host"), max_length=50)
    host_phone = EncryptedTextField(_("host phone"), blank=True, default="")
    host_phone_masked = models.CharField(max_length=20, blank=True, default="")
    purpose = models.CharField(_("purpose"), max_length=200)
    expected_at = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    visitor = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="visits"
    )
    status = models.CharField(max_length=10, choices=VisitStatus.choices, default=VisitStatus.INVITED)
    invite_token = models.CharField(max_length=43, unique=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    checkin = models.OneToOneField(
        CheckIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="visit"
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("visitor registration")
        verbose_name_plural = _("visitor registrations")

    def __str__(self) -> str:
        return f"{self.venue_id}: {self.purpose[:30]}"
