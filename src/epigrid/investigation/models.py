"""Epidemiological investigation (流调): cases, their trajectories, contacts and the links between cases.

A case is one infected (or suspected) person. Its *trajectory* is where it was during the infectious window:
check-ins (copied here when traced, so they outlive the check-in retention period) and places named in the
interview. *Contacts* are computed from the trajectory by the policy's rules, each with the evidence that made
them one. *Links* join cases (shared venue, household, a named source) and form transmission chains.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import Person, User
from epigrid.places.models import Venue


class Classification(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")
    SUSPECTED = "suspected", _("Suspected case")
    EXCLUDED = "excluded", _("Excluded")


class Outcome(models.TextChoices):
    UNDER_TREATMENT = "treatment", _("Under treatment")
    RECOVERED = "recovered", _("Recovered")
    DIED = "died", _("Died")


class InvestigationStatus(models.TextChoices):
    PENDING = "pending", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Completed")
    MERGED = "merged", _("Merged into another case")


class CaseOrigin(models.TextChoices):
    SPECIMEN = "specimen", _("Positive single-tube test")
    MANUAL = "manual", _("Entered by an epidemiologist")
    QUARANTINE = "quarantine", _("Symptoms in quarantine")


class Case(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    # Other person records found to be the same individual (case merge): their check-ins are traced too.
    merged_person_ids = models.JSONField(default=list, blank=True)
    org_code = models.CharField(max_length=15, db_index=True)
    disease_code = models.CharField(_("disease"), max_length=20, default="covid19")
    classification = models.CharField(
        _("classification"), max_length=12, choices=Classification.choices, default=Classification.CONFIRMED
    )
    origin = models.CharField(max_length=10, choices=CaseOrigin.choices, default=CaseOrigin.MANUAL)
    specimen_id = models.BigIntegerField(null=True, blank=True, unique=True)
    onset_date = models.DateField(_("symptom onset"), null=True, blank=True)
    first_positive_at = models.DateTimeField(_("first positive sampling"), null=True, blank=True)
    isolated_at = models.DateTimeField(_("isolated at"), null=True, blank=True)
    # The infectious window as last computed from the dates above and the disease's policy.
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.UNDER_TREATMENT
    )
    status = models.CharField(
        _("investigation status"),
        max_length=12,
        choices=InvestigationStatus.choices,
        default=InvestigationStatus.PENDING,
    )
    investigator = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(_("notes"), blank=True, default="")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )
    traced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [models.Index(fields=["person", "classification"], name="case_person_class")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.person.name_masked}"

    @property
    def person_ids(self) -> list[int]:
        return [self.person_id, *(int(i) for i in self.merged_person_ids)]


class StaySource(models.TextChoices):
    CHECKIN = "checkin", _("Check-in")
    INTERVIEW = "interview", _("Interview")


class TrajectoryEntry(models.Model):
    """A place and time in a case's trajectory. Entries with a venue take part in contact tracing."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="trajectory")
    org_code = models.CharField(max_length=15, db_index=True)
    source = models.CharField(max_length=10, choices=StaySource.choices)
    checkin_id = models.BigIntegerField(null=True, blank=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    place = models.CharField(_("place"), max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "pk"]
        verbose_name = _("trajectory entry")
        verbose_name_plural = _("trajectory entries")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "checkin_id"],
                condition=models.Q(checkin_id__isnull=False),
                name="trajectory_checkin_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.place} {self.start:%Y-%m-%d %H:%M}"


class Tier(models.TextChoices):
    CLOSE = "close", _("Close contact")
    SECONDARY = "secondary", _("Secondary contact")
    COMPANION = "companion", _("Spatio-temporal companion")


class Rule(models.TextChoices):
    VENUE = "venue", _("Same venue, overlapping stay")
    HOUSEHOLD = "household", _("Same household")
    COMPANION = "companion", _("Same 800 m cell")
    NAMED = "named", _("Named in the interview")


class ContactStatus(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    NOTIFIED = "notified", _("Notified (health code changed)")
    ACTIONED = "actioned", _("Sent to quarantine / grid")
    CLEARED = "cleared", _("Cleared")


class Contact(models.Model):
    """A person exposed to a case, with the evidence: ``evidence`` lists every qualifying exposure as
    ``{"rule", "venue_id", "venue", "start", "end", "minutes", "via_person_id"}``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="contact_records")
    org_code = models.CharField(max_length=15, db_index=True)  # the contact's own area (their grid works it)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    rule = models.CharField(_("rule"), max_length=10, choices=Rule.choices)
    # For a secondary contact: the close contact through whom they were exposed.
    via = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    overlap_minutes = models.PositiveIntegerField(default=0)
    first_exposure_at = models.DateTimeField()
    last_exposure_at = models.DateTimeField()
    score = models.FloatField(default=0)
    evidence = models.JSONField(default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.IDENTIFIED
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    actioned_at = models.DateTimeField(null=True, blank=True)
    # Set when the contact later became a case themselves.
    linked_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier", "-overlap_minutes", "pk"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [models.UniqueConstraint(fields=["case", "person"], name="contact_once_per_case")]
        indexes = [models.Index(fields=["person"], name="contact_person")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.person_id} ({self.tier})"


class LinkKind(models.TextChoices):
    CONTACT = "contact", _("Was a traced contact")
    VENUE = "venue", _("Shared venue and time")
    HOUSEHOLD = "household", _("Same household")
    NAMED = "named", _("Named source")


class CaseLink(models.Model):
    """``source`` most likely infected ``target``; the links of all cases form the transmission chains."""

    source = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    org_code = models.CharField(max_length=15, db_index=True)  # the target's area
    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices)
    evidence = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case link")
        verbose_name_plural = _("case links")
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="caselink_once"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="caselink_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}"
