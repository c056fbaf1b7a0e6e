"""Venues that show a signed QR code, and sentinel places (key places)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, User


class VenueType(models.TextChoices):
    RESTAURANT = "restaurant", _("Restaurant")
    SUPERMARKET = "supermarket", _("Supermarket")
    HOTEL = "hotel", _("Hotel")
    OFFICE = "office", _("Office building")
    SHOP = "shop", _("Shop")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital")
    CONSTRUCTION = "construction", _("Construction site")
    ENTERPRISE = "enterprise", _("Enterprise")
    TRANSPORT = "transport", _("Transport hub")
    OTHER = "other", _("Other")


# Types whose visitors register with host and purpose (访客登记).
VISITOR_TYPES = frozenset({VenueType.OFFICE, VenueType.ENTERPRISE, VenueType.CONSTRUCTION})


class VenueStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class Venue(models.Model):
    name = models.CharField(_("name"), max_length=120)
    type = models.CharField(_("type"), max_length=16, choices=VenueType.choices)
    address = models.CharField(_("address"), max_length=200)
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="venues")
    org_code = models.CharField(max_length=15, db_index=True)
    operator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="venues"
    )
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True, default="")
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    is_key_place = models.BooleanField(_("key place"), default=False)
    status = models.CharField(max_length=10, choices=VenueStatus.choices, default=VenueStatus.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True, default="")
    # 0 = no code issued yet; each re-issue increments it, invalidating every earlier code.
    code_version = models.PositiveIntegerField(default=0)
    code_issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        indexes = [models.Index(fields=["status", "type"])]

    def __str__(self) -> str:
        return self.name

    @property
    def has_code(self) -> bool:
        return self.status == VenueStatus.APPROVED and self.code_version > 0
