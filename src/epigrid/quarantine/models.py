"""Quarantine and health monitoring (隔离监控): sites and rooms, placements, scheduled tests, daily reports,
home-quarantine seals and visits, release.

A placement is one person's quarantine: where (a room of a centralised site, or their home), why (the case
and tier that sent them), the policy's plan copied at placement (days, test days), and the monitoring state
kept current by the services (last report, temperature, symptomatic since, next test due), so that the line
lists are plain indexed filters even at 20,000 people. After release and the retention period a placement is
de-identified: it keeps age band, sex, grid, dates and outcome, and loses the person.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from epigrid.core.models import Household, OrgUnit, Person, User


class SiteKind(models.TextChoices):
    CENTRALISED = "centralised", _("Centralised quarantine site")
    HOME = "home", _("Home quarantine")


class Site(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=SiteKind.choices, default=SiteKind.CENTRALISED)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    # Home quarantine: the household's own "site" with one room, created at the first placement there.
    household = models.OneToOneField(
        Household, null=True, blank=True, on_delete=models.CASCADE, related_name="quarantine_site"
    )
    phone = models.CharField(_("duty phone"), max_length=20, blank=True, default="")
    staff = models.ManyToManyField(User, blank=True, related_name="quarantine_sites")
    active = models.BooleanField(_("accepting placements"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("quarantine site")
        verbose_name_plural = _("quarantine sites")

    def __str__(self) -> str:
        return self.name


class RoomStatus(models.TextChoices):
    FREE = "free", _("Free")
    OCCUPIED = "occupied", _("Occupied")
    CLEANING = "cleaning", _("Cleaning")
    OUT_OF_SERVICE = "out", _("Out of service")


class Room(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rooms")
    org_code = models.CharField(max_length=15, db_index=True)
    number = models.CharField(_("room"), max_length=20)
    floor = models.SmallIntegerField(_("floor"), default=1)
    beds = models.PositiveSmallIntegerField(_("beds"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=RoomStatus.choices, default=RoomStatus.FREE)
    # Who holds the room (a household key or a person key): set in the same UPDATE that takes a free room,
    # so that two concurrent placements cannot both take it.
    held_by = models.CharField(max_length=40, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "floor", "number"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="room_number_once_per_site")]
        indexes = [models.Index(fields=["site", "status"], name="room_site_status")]

    def __str__(self) -> str:
        return f"{self.site.name} {self.number}"


class PlacementStatus(models.TextChoices):
    ACTIVE = "active", _("In quarantine")
    HOME_MONITORING = "home", _("Home health monitoring")
    RELEASED = "released", _("Released")
    HANDED_OVER = "handed_over", _("Handed to the case module")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (PlacementStatus.ACTIVE, PlacementStatus.HOME_MONITORING)


class Placement(models.Model):
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )  # null once de-identified
    org_code = models.CharField(max_length=15, db_index=True)  # the person's area: their grid follows them
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="placements")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="placements"
    )
    site_org_code = models.CharField(max_length=15, db_index=True)  # the site's area: its staff see it
    disease_code = models.CharField(max_length=20, default="covid19")
    tier = models.CharField(
        _("reason"), max_length=10, default="close"
    )  # close | secondary | traveller | other
    case_id = models.BigIntegerField(null=True, blank=True)  # investigation.Case that sent them, if any
    household_key = models.CharField(max_length=40, blank=True, default="")
    # The plan as the policy said at placement: {"centralised_days", "home_days", "test_days",
    # "home_test_days", "temperature_per_day"}.
    plan = models.JSONField(default=dict)
    start = models.DateTimeField(_("start"))
    centralised_until = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(_("planned end"))
    status = models.CharField(
        _("status"), max_length=12, choices=PlacementStatus.choices, default=PlacementStatus.ACTIVE
    )
    released_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True, default="")  # released | positive | transferred...
    token_version = models.PositiveSmallIntegerField(default=1)  # bump to revoke the self-report link
    # Monitoring state, kept current by the services (line lists filter on these).
    last_report_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_temperature = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    symptomatic_since = models.DateTimeField(null=True, blank=True)
    next_test_due = models.DateField(null=True, blank=True, db_index=True)
    tests_outstanding = models.PositiveSmallIntegerField(default=0)
    # De-identified copy of what statistics need.
    age_band = models.CharField(max_length=8, blank=True, default="")
    sex = models.CharField(max_length=1, blank=True, default="")
    deidentified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start", "-pk"]
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        indexes = [
            models.Index(fields=["status", "end"], name="placement_status_end"),
            models.Index(fields=["person", "status"], name="placement_person_status"),
            # The line lists "all" (newest first) and "test due" (by site) at 20,000 people.
            models.Index(fields=["-start", "-id"], name="placement_start_desc"),
            models.Index(fields=["next_test_due", "site", "id"], name="placement_next_test"),
        ]
        constraints = [
            # One open quarantine per person: a second placement is a transfer, not a new row.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=["active", "home"]),
                name="placement_one_open_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.site_id} {self.start:%Y-%m-%d}"


class TestStatus(models.TextChoices):
    DUE = "due", pgettext_lazy("scheduled test status", "Due")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    MISSED = "missed", _("Missed")


class ScheduledTest(models.Model):
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="tests")
    org_code = models.CharField(max_length=15, db_index=True)
    day = models.PositiveSmallIntegerField(_("quarantine day"))
    phase = models.CharField(max_length=12, default="centralised")  # centralised | home
    due_date = models.DateField(_("due"))
    door_to_door = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=TestStatus.choices, default=TestStatus.DUE)
    sampled_at = models.DateTimeField(null=True, blank=True)
    resulted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("scheduled test")
        verbose_name_plural = _("scheduled tests")
        indexes = [models.Index(fields=["status", "due_date"], name="qtest_status_due")]

    def __str__(self) -> str:
        return f"{self.placement_id} day {self.day}"


class ReportSource(models.TextChoices):
    SELF = "self", _("Self-report")
    STAFF = "staff", _("Entered by staff")


class HealthReport(models.Model):
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="reports")
    org_code = models.CharField(max_length=15, db_index=True)
    client_id = models.UUIDField(unique=True)  # a retried or replayed submission is stored once
    reported_at = models.DateTimeField(_("reported at"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    source = models.CharField(max_length=6, choices=ReportSource.choices, default=ReportSource.SELF)
    reported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-reported_at", "-pk"]
        verbose_name = _("health report")
        verbose_name_plural = _("health reports")
        indexes = [models.Index(fields=["placement", "reported_at"], name="report_placement_time")]

    def __str__(self) -> str:
        return f"{self.placement_id} {self.temperature} {self.reported_at:%Y-%m-%d %H:%M}"


class DoorSeal(models.Model):
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="seals")
    org_code = models.CharField(max_length=15, db_index=True)
    number = models.CharField(_("seal number"), max_length=40)
    sealed_at = models.DateTimeField(_("sealed at"))
    photo = models.BinaryField(null=True, blank=True)  # a re-encoded JPEG, at most ~200 KB
    removed_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-sealed_at"]
        verbose_name = _("door seal")
        verbose_name_plural = _("door seals")

    def __str__(self) -> str:
        return self.number


class VisitResult(models.TextChoices):
    OK = "ok", _("At home, well")
    UNWELL = "unwell", _("At home, unwell")
    ABSENT = "absent", _("Not at home (violation)")
    SEAL_BROKEN = "seal_broken", _("Seal broken (violation)")


class Visit(models.Model):
    """A visit of a grid worker or the community three-person team (cadre, doctor, police) to a home."""

    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="visits")
    org_code = models.CharField(max_length=15, db_index=True)
    visited_at = models.DateTimeField(_("visited at"))
    team = models.CharField(_("team"), max_length=100, blank=True, default="")
    result = models.CharField(_("result"), max_length=12, choices=VisitResult.choices)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    visitor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-visited_at"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")

    def __str__(self) -> str:
        return f"{self.placement_id} {self.result}"
