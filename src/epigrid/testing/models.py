"""Nucleic-acid testing: sampling points, rounds, pooled tubes and their specimens, boxes, recalls.

A tube holds the swabs of 1, 5, 10 or 20 people (pooling); the lab reports one result per tube, which every
specimen in it takes. A positive pool recalls its members for a single-tube re-test.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, Person, User

POOL_SIZES = (1, 5, 10, 20)


class PointKind(models.TextChoices):
    FIXED = "fixed", _("Fixed sampling point")
    MOBILE = "mobile", _("Mobile sampling point")
    DOOR = "door", _("Door-to-door team")


class SamplingPoint(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=PointKind.choices, default=PointKind.FIXED)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TestingRound(models.Model):
    """A testing campaign (区域核酸): which area, which day, how many people should be sampled."""

    name = models.CharField(_("name"), max_length=120)
    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    day = models.DateField(_("day"))
    target_population = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-pk"]

    def __str__(self) -> str:
        return self.name


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SEALED = "sealed", _("Sealed")
    RECEIVED = "received", _("Received by the lab")
    RESULTED = "resulted", _("Result reported")


class TubeResult(models.TextChoices):
    NONE = "", _("Pending")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


class Box(models.Model):
    """Sealed tubes handed over to transport and received by a lab, with a handover record."""

    code = models.CharField(max_length=40, unique=True)
    org_code = models.CharField(max_length=15, db_index=True)
    packed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    packed_at = models.DateTimeField()
    courier = models.CharField(max_length=60, blank=True, default="")
    handed_over_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    missing = models.JSONField(default=list, blank=True)  # barcodes packed but not scanned at the lab
    extra = models.JSONField(default=list, blank=True)  # barcodes scanned at the lab but not packed

    def __str__(self) -> str:
        return self.code


class Tube(models.Model):
    barcode = models.CharField(_("barcode"), max_length=40, unique=True)
    # The station's id for "open this tube", so that a replay after a network drop is recognised.
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    pool_size = models.PositiveSmallIntegerField(_("pool size"))
    status = models.CharField(
        max_length=10, choices=TubeStatus.choices, default=TubeStatus.OPEN, db_index=True
    )
    sampling_point = models.ForeignKey(
        SamplingPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes"
    )
    testing_round = models.ForeignKey(
        TestingRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes"
    )
    org_code = models.CharField(max_length=15, db_index=True)
    sampler = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    box = models.ForeignKey(Box, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes")
    received_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=TubeResult.choices, blank=True, default="")
    tested_at = models.DateTimeField(null=True, blank=True)
    resulted_at = models.DateTimeField(null=True, blank=True)
    resulted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Dual confirmation (policy ``testing_dual_confirmation``): a result entered by one lab user waits here
    # until a second, different lab user confirms it; only then is it the tube's result and propagated.
    pending_result = models.CharField(max_length=10, choices=TubeResult.choices, blank=True, default="")
    pending_tested_at = models.DateTimeField(null=True, blank=True)
    # No index on these two users: nothing looks tubes up by them, and every result write would pay for it.
    pending_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    pending_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the lab's list of results awaiting confirmation: a few rows among millions of tubes
            models.Index(fields=["pending_at"], name="tube_pending", condition=~models.Q(pending_result=""))
        ]

    def __str__(self) -> str:
        return self.barcode


class Specimen(models.Model):
    """One person's swab in one tube."""

    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="specimens")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="specimens")
    org_code = models.CharField(max_length=15, db_index=True)  # the person's, for scope
    client_id = models.UUIDField(unique=True)
    sampled_at = models.DateTimeField(db_index=True)
    sampler = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8, default="typed")  # ocr | code | typed

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tube", "person"], name="specimen_once_per_tube")]
        indexes = [models.Index(fields=["person", "sampled_at"], name="specimen_person_time")]

    def __str__(self) -> str:
        return f"{self.person_id} in {self.tube_id}"


class Recall(models.Model):
    """A member of a positive (or invalid) pool who must be re-sampled in a single tube."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="recalls")
    org_code = models.CharField(max_length=15, db_index=True)
    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="recalls")
    reason = models.CharField(max_length=10)  # positive | invalid
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"recall {self.person_id} ({self.reason})"
