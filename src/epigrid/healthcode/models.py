"""Health code (健康码): risk areas, each person's facts, colour rules as data, the colour and its history.

The colour is computed from facts by an ordered rule set (first match wins) that belongs to a policy
version; facts are kept current by handlers of other modules' events and by declarations. Every change of
colour is stored with the rule that caused it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, Person, PolicyVersion, User


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High risk")
    MEDIUM = "medium", _("Medium risk")
    LOW = "low", _("Low risk")


RISK_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2, "": -1}


class AreaKind(models.TextChoices):
    ORG_UNIT = "orgunit", _("Unit of this district")
    POLYGON = "polygon", _("Drawn area")
    REGION = "region", _("Region elsewhere (administrative code)")


class RiskArea(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=AreaKind.choices)
    org_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    polygon = models.JSONField(null=True, blank=True)
    # 6-digit administrative code (GB/T 2260) for places outside the district; a prefix matches sub-regions.
    region_code = models.CharField(_("region code"), max_length=6, blank=True, default="", db_index=True)
    level = models.CharField(_("level"), max_length=6, choices=RiskLevel.choices)
    effective_from = models.DateTimeField(_("effective from"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    last_case_at = models.DateTimeField(_("last new case"), null=True, blank=True)
    level_since = models.DateTimeField()
    org_code = models.CharField(max_length=15, db_index=True)  # the district's, or the unit's
    source = models.CharField(max_length=20, default="manual")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-effective_from", "pk"]
        verbose_name = _("risk area")
        verbose_name_plural = _("risk areas")

    def __str__(self) -> str:
        return f"{self.name} ({self.level})"


class RiskAreaChange(models.Model):
    """Every level change of an area (designation, downgrade, end), with why."""

    area = models.ForeignKey(RiskArea, on_delete=models.CASCADE, related_name="changes")
    from_level = models.CharField(max_length=6, blank=True, default="")
    to_level = models.CharField(max_length=6, blank=True, default="")  # "" = ended
    at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.area_id}: {self.from_level}->{self.to_level}"


class Infection(models.TextChoices):
    NONE = "", _("None")
    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")


class ContactTier(models.TextChoices):
    NONE = "", _("None")
    CLOSE = "close", _("Close contact")
    SECONDARY = "secondary", _("Secondary contact")


class PersonFacts(models.Model):
    """What the health code knows about one person. Other modules keep it current through the services."""

    # db_constraint=False on the facts and code rows: they are derived (recomputable) and written a million
    # at a time by a district's lab import, where PostgreSQL's deferred foreign-key check of every row at
    # commit was a third of the import (docs/benchmarks.md, testing). Django still cascades deletes.
    person = models.OneToOneField(
        Person, primary_key=True, on_delete=models.CASCADE, related_name="health_facts", db_constraint=False
    )
    # No index: facts are read by person, never by area (scope checks ride on the person's key); a district's
    # lab import writes a million rows, each of which kept two unused org-code indexes current.
    org_code = models.CharField(max_length=15)
    infection = models.CharField(max_length=12, choices=Infection.choices, blank=True, default="")
    infection_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    contact_tier = models.CharField(max_length=10, choices=ContactTier.choices, blank=True, default="")
    contact_at = models.DateTimeField(null=True, blank=True)
    contact_cleared_at = models.DateTimeField(null=True, blank=True)
    quarantine_until = models.DateTimeField(null=True, blank=True)
    arrival_level = models.CharField(max_length=6, blank=True, default="")  # risk level of the origin
    arrival_at = models.DateTimeField(null=True, blank=True)
    visit_level = models.CharField(max_length=6, blank=True, default="")  # check-in inside a risk area
    visit_at = models.DateTimeField(null=True, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.CharField(max_length=10, blank=True, default="")  # negative | positive
    fever_at = models.DateTimeField(null=True, blank=True)
    vaccine_doses = models.PositiveSmallIntegerField(default=0)
    declaration_due = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("health facts")
        verbose_name_plural = _("health facts")

    def __str__(self) -> str:
        return f"facts of {self.person_id}"


class RuleSet(models.Model):
    """An ordered list of colour rules for a policy version; first match wins, no match is green.

    ``rules`` is JSON (see ``healthcode.rules`` for the grammar). ``response_levels`` lists the emergency
    response levels this set applies under, so an outbreak can switch to a stricter set.
    """

    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="colour_rule_sets")
    name = models.CharField(max_length=100)
    response_levels = models.JSONField(default=list)
    rules = models.JSONField(default=list)
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


class HealthCode(models.Model):
    """The current colour of one person, with the rule (or override) that set it."""

    person = models.OneToOneField(
        Person, primary_key=True, on_delete=models.CASCADE, related_name="health_code", db_constraint=False
    )  # derived: see PersonFacts.person
    org_code = models.CharField(max_length=15)
    colour = models.CharField(max_length=6, choices=Colour.choices)
    rule_id = models.CharField(max_length=50, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    to_green = models.CharField(max_length=200, blank=True, default="")
    since = models.DateTimeField()
    rule_set = models.ForeignKey(
        RuleSet,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,  # never filtered on
    )
    computed_at = models.DateTimeField()

    class Meta:
        # One index for what is asked (codes in an area, optionally of one colour; scope is a range on
        # org_code): a million-row lab import keeps one index current instead of five (docs/benchmarks.md).
        indexes = [models.Index(fields=["org_code", "colour"], name="healthcode_area_colour")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.colour}"


class HealthCodeChange(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="health_code_changes")
    org_code = models.CharField(max_length=15, db_index=True)
    from_colour = models.CharField(max_length=6, blank=True, default="")
    to_colour = models.CharField(max_length=6)
    rule_id = models.CharField(max_length=50, blank=True, default="")
    reason = models.CharField(max_length=200, blank=True, default="")
    rule_set = models.ForeignKey(RuleSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.from_colour}->{self.to_colour}"


class Override(models.Model):
    """A staff decision that sets a colour regardless of the rules, until it expires (audited)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="health_code_overrides")
    org_code = models.CharField(max_length=15, db_index=True)
    colour = models.CharField(max_length=6, choices=Colour.choices)
    reason = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.colour} until {self.expires_at:%Y-%m-%d}"


class AppealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    OVERRIDDEN = "overridden", _("Colour changed")
    REJECTED = "rejected", _("Colour confirmed")


class Appeal(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="health_code_appeals")
    org_code = models.CharField(max_length=15, db_index=True)
    colour = models.CharField(max_length=6, choices=Colour.choices)
    rule_id = models.CharField(max_length=50, blank=True, default="")
    note = models.TextField(max_length=1000)
    status = models.CharField(max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True, default="")
    override = models.ForeignKey(Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"appeal {self.pk} of {self.person_id}"


class TravelDeclaration(models.Model):
    """A resident's own declaration of arriving from elsewhere (行程申报)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="travel_declarations")
    org_code = models.CharField(max_length=15, db_index=True)
    from_region_code = models.CharField(max_length=6)
    from_place = models.CharField(max_length=120, blank=True, default="")
    arrived_at = models.DateTimeField()
    client_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-arrived_at"]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.from_region_code}"
