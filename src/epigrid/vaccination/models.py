"""Vaccination: products and batches, sites and their slots, bookings, doses, self-reports, AEFI.

A person's doses of one disease form their series (the primary product's number of doses, at its minimum
interval) and then boosters. ``VaccinationStatus`` keeps each person's standing per disease so that
coverage and overdue lists are one indexed query, not a replay of every dose.

Overbooking is impossible by construction: a booking takes its place with one conditional UPDATE
(``booked < capacity``) and a CHECK constraint holds ``booked <= capacity`` whatever the code does.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import DiseaseProfile, OrgUnit, Person, User


class VaccineKind(models.TextChoices):
    INACTIVATED = "inactivated", _("Inactivated")
    MRNA = "mrna", _("mRNA")
    VECTOR = "vector", _("Viral vector")
    PROTEIN = "protein", _("Recombinant protein")
    LIVE = "live", _("Live attenuated")
    OTHER = "other", _("Other")


class Vaccine(models.Model):
    """A vaccine product and its schedule."""

    disease = models.ForeignKey(DiseaseProfile, on_delete=models.PROTECT, related_name="vaccines")
    code = models.SlugField(_("code"), max_length=40, unique=True)  # FHIR vaccineCode in our code system
    name = models.CharField(_("product"), max_length=120)
    manufacturer = models.CharField(_("manufacturer"), max_length=120)
    kind = models.CharField(_("type"), max_length=12, choices=VaccineKind.choices)
    doses_in_series = models.PositiveSmallIntegerField(_("doses in the series"), default=2)
    min_interval_days = models.PositiveSmallIntegerField(_("minimum days between doses"), default=21)
    # Boosters: none when the interval is empty; otherwise up to ``max_boosters``, each at least this many
    # days after the dose before it.
    booster_interval_days = models.PositiveSmallIntegerField(
        _("minimum days before a booster"), null=True, blank=True
    )
    max_boosters = models.PositiveSmallIntegerField(_("boosters at most"), default=0)
    # Boosters were for adults (China 2022): a child's complete series is not "booster overdue".
    booster_min_age_years = models.PositiveSmallIntegerField(
        _("minimum age for a booster (years)"), default=18
    )
    min_age_years = models.PositiveSmallIntegerField(_("minimum age (years)"), default=3)
    max_age_years = models.PositiveSmallIntegerField(_("maximum age (years)"), null=True, blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("vaccine")
        verbose_name_plural = _("vaccines")
        constraints = [
            models.CheckConstraint(condition=Q(doses_in_series__gte=1), name="vaccine_series_has_a_dose"),
        ]

    def __str__(self) -> str:
        return self.name


class VaccineBatch(models.Model):
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="batches")
    lot_number = models.CharField(_("batch number"), max_length=40)
    expires_on = models.DateField(_("expires on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expires_on", "lot_number"]
        verbose_name = _("vaccine batch")
        verbose_name_plural = _("vaccine batches")
        constraints = [
            models.UniqueConstraint(fields=["vaccine", "lot_number"], name="batch_unique_lot"),
        ]

    def __str__(self) -> str:
        return f"{self.vaccine} {self.lot_number}"


class VaccinationSite(models.Model):
    """A vaccination clinic. ``opening_hours``: ``[{"weekday": 0-6 (Monday 0), "start": "08:30",
    "end": "11:30"}, ...]`` in local time; slots of ``slot_minutes`` are cut from each period."""

    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    grid = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    opening_hours = models.JSONField(_("opening hours"), default=list)
    slot_minutes = models.PositiveSmallIntegerField(_("minutes per slot"), default=30)
    capacity_per_slot = models.PositiveSmallIntegerField(_("people per slot"), default=20)
    vaccines = models.ManyToManyField(Vaccine, related_name="sites", verbose_name=_("vaccines offered"))
    active = models.BooleanField(_("open"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("vaccination site")
        verbose_name_plural = _("vaccination sites")

    def __str__(self) -> str:
        return self.name


class SiteClosure(models.Model):
    """A day a site is closed (holiday, staff away): no slots that day, bookings on it are cancelled."""

    site = models.ForeignKey(VaccinationSite, on_delete=models.CASCADE, related_name="closures")
    day = models.DateField(_("day"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["site", "day"], name="closure_unique_day")]

    def __str__(self) -> str:
        return f"{self.site} {self.day}"


class Slot(models.Model):
    site = models.ForeignKey(VaccinationSite, on_delete=models.CASCADE, related_name="slots")
    org_code = models.CharField(max_length=15)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)
    closed = models.BooleanField(_("closed"), default=False)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["org_code", "starts_at"], name="slot_scope_time")]
        constraints = [
            models.UniqueConstraint(fields=["site", "starts_at"], name="slot_unique_start"),
            # The database's guarantee against overbooking, whatever any code path does.
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="slot_not_overbooked"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")
    ATTENDED = "attended", _("Vaccinated")
    MISSED = "missed", _("Missed")


class Booking(models.Model):
    code = models.CharField(_("booking code"), max_length=12, unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vaccination_bookings")
    org_code = models.CharField(max_length=15, db_index=True)  # the person's area
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="+")
    disease = models.ForeignKey(DiseaseProfile, on_delete=models.PROTECT, related_name="+")
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    status = models.CharField(
        _("status"), max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    client_id = models.UUIDField(null=True, blank=True, unique=True)  # a replayed submission books once
    booked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("vaccination booking")
        verbose_name_plural = _("vaccination bookings")
        constraints = [
            # One open booking per person and disease, held by the database against double submissions.
            models.UniqueConstraint(
                fields=["person", "disease"],
                condition=Q(status="booked"),
                name="booking_one_open_per_disease",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DoseSource(models.TextChoices):
    RECORDED = "recorded", _("Recorded at a site")
    SELF_REPORT = "self_report", _("Self-reported, verified")
    IMPORT = "import", _("Imported")


class DoseKind(models.TextChoices):
    SERIES = "series", _("Series dose")
    BOOSTER = "booster", _("Booster")


class Dose(models.Model):
    """One dose a person received. Numbers run in date order per disease and are recomputed when an
    earlier dose becomes known (a verified self-report)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vaccination_doses")
    org_code = models.CharField(max_length=15)
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="doses")
    disease = models.ForeignKey(DiseaseProfile, on_delete=models.PROTECT, related_name="+")
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    kind = models.CharField(_("kind"), max_length=8, choices=DoseKind.choices, default=DoseKind.SERIES)
    given_at = models.DateTimeField(_("given at"))
    given_on = models.DateField(
        _("date")
    )  # local date of given_at: two doses of one disease a day is an error
    batch = models.ForeignKey(VaccineBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(_("batch number"), max_length=40, blank=True, default="")
    site = models.ForeignKey(
        VaccinationSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="doses"
    )
    place = models.CharField(_("place"), max_length=200, blank=True, default="")
    given_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(_("source"), max_length=12, choices=DoseSource.choices)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="dose"
    )
    external_id = models.CharField(max_length=100, blank=True, default="")  # FHIR Immunization.id on import
    override_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["given_at"]
        verbose_name = _("vaccination dose")
        verbose_name_plural = _("vaccination doses")
        indexes = [
            models.Index(fields=["org_code", "given_at"], name="dose_scope_time"),
            models.Index(fields=["given_at"], name="dose_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["person", "disease", "given_on"], name="dose_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.vaccine} #{self.dose_number}"


class SelfReportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class SelfReport(models.Model):
    """A dose received elsewhere, reported by the person with a photo of the certificate."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vaccination_self_reports")
    org_code = models.CharField(max_length=15, db_index=True)
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="+")
    given_on = models.DateField(_("date of the dose"))
    place = models.CharField(_("where"), max_length=200)
    lot_number = models.CharField(_("batch number"), max_length=40, blank=True, default="")
    certificate = models.BinaryField(_("certificate photo"))
    status = models.CharField(
        _("status"), max_length=10, choices=SelfReportStatus.choices, default=SelfReportStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    submitted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    dose = models.OneToOneField(Dose, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("vaccination self-report")
        verbose_name_plural = _("vaccination self-reports")

    def __str__(self) -> str:
        return f"{self.person_id} {self.vaccine} {self.given_on}"


class Severity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class AefiOutcome(models.TextChoices):
    RECOVERING = "recovering", _("Recovering")
    RECOVERED = "recovered", _("Recovered")
    HOSPITALISED = "hospitalised", _("Hospitalised")
    DIED = "died", _("Died")
    UNKNOWN = "unknown", _("Unknown")


class AdverseEvent(models.Model):
    """An adverse event following immunization (AEFI), reported against one dose."""

    dose = models.ForeignKey(Dose, on_delete=models.CASCADE, related_name="adverse_events")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    onset_at = models.DateTimeField(_("onset"))
    symptoms = models.CharField(_("symptoms"), max_length=500)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    serious = models.BooleanField(_("serious"), default=False)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=AefiOutcome.choices, default=AefiOutcome.UNKNOWN
    )
    reported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("adverse event following immunization")
        verbose_name_plural = _("adverse events following immunization")

    def __str__(self) -> str:
        return f"AEFI {self.dose_id} {self.severity}"


class DueKind(models.TextChoices):
    SERIES = "series", _("Next series dose")
    BOOSTER = "booster", _("Booster")


class VaccinationStatus(models.Model):
    """A person's standing for one disease, recomputed from their doses whenever these change."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vaccination_status")
    org_code = models.CharField(max_length=15)
    disease = models.ForeignKey(DiseaseProfile, on_delete=models.PROTECT, related_name="+")
    doses = models.PositiveSmallIntegerField(default=0)
    series_complete = models.BooleanField(default=False)
    boosters = models.PositiveSmallIntegerField(default=0)
    last_dose_on = models.DateField(null=True, blank=True)
    next_due_on = models.DateField(null=True, blank=True)
    next_due_kind = models.CharField(max_length=8, choices=DueKind.choices, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "disease"], name="vaccination_status_unique"),
        ]
        indexes = [
            models.Index(fields=["disease", "org_code"], name="vstatus_disease_scope"),
            models.Index(fields=["disease", "next_due_on"], name="vstatus_disease_due"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.disease_id}: {self.doses}"
