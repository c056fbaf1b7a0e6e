"""Medical waste from the bag to the incinerator (医疗废物全流程追溯).

Three levels of parties: the authorities (health and environment bureaus) oversee; medical institutions keep
a temporary storage point; producers (clinics, temporary sampling points, quarantine sites) fill and label
bags and boxes. A licensed disposal company collects with its vehicles and burns at its plant.

A bag moves through :class:`Stage` in order. Every step is a :class:`Handover` offered by the party that
gives and accepted by the party that takes (both confirmations), and leaves one :class:`CustodyRecord` per bag
with the weight measured at that step. A collection :class:`Trip` is one transfer manifest (转移联单).
:class:`WasteAlarm` holds what the alarm rules found, one per rule and subject while it lasts.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, User


class WasteCategory(models.TextChoices):
    INFECTIOUS = "infectious", _("Infectious")
    SHARPS = "sharps", _("Sharps")
    PATHOLOGICAL = "pathological", _("Pathological")
    PHARMACEUTICAL = "pharmaceutical", _("Pharmaceutical")
    CHEMICAL = "chemical", _("Chemical")


class PartyKind(models.TextChoices):
    HEALTH_AUTHORITY = "health_authority", _("Health authority")
    ENVIRONMENT_AUTHORITY = "environment_authority", _("Environment authority")
    INSTITUTION = "institution", _("Medical institution (temporary storage)")
    PRODUCER = "producer", _("Producer")
    DISPOSER = "disposer", _("Disposal company")


class Party(models.Model):
    """Anyone in the chain. A producer hands its waste to ``parent``'s temporary storage; an institution
    expects a collection every ``collection_interval_hours``; accounts act for the parties they are members of."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=24, choices=PartyKind.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("temporary storage used"),
    )
    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    org_code = models.CharField(max_length=15, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    licence_number = models.CharField(_("licence number"), max_length=60, blank=True, default="")
    duty_phone = models.CharField(_("duty phone"), max_length=20, blank=True, default="")
    collection_interval_hours = models.PositiveSmallIntegerField(
        _("collection every (hours)"), null=True, blank=True
    )
    # The place the producer is, when it is one of EpiGrid's own (for the map and the demo).
    sampling_point = models.ForeignKey(
        "testing.SamplingPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quarantine_site = models.ForeignKey(
        "quarantine.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vaccination_site = models.ForeignKey(
        "vaccination.VaccinationSite", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(
        User, blank=True, related_name="waste_parties", verbose_name=_("members")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "org_code", "name"]
        verbose_name = _("waste party")
        verbose_name_plural = _("waste parties")

    def __str__(self) -> str:
        return self.name


class Vehicle(models.Model):
    company = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="vehicles")
    plate = models.CharField(_("plate"), max_length=16, unique=True)
    capacity_kg = models.PositiveIntegerField(_("capacity (kg)"), default=0)
    active = models.BooleanField(_("in service"), default=True)
    org_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate


class Stage(models.TextChoices):
    """The steps of the chain, in their order."""

    LABELLED = "labelled", _("Labelled at the producer")
    STORED = "stored", _("In temporary storage")
    COLLECTED = "collected", _("On the collection vehicle")
    DELIVERED = "delivered", _("At the disposal plant")
    INCINERATED = "incinerated", _("Incinerated")


STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)


class Bag(models.Model):
    """A bag or box with its label. ``stage``/``stage_at``/``holder`` repeat its last custody record so that
    open bags are found by index, not by reading the chain."""

    code = models.CharField(_("label"), max_length=20, unique=True)
    producer = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="bags_produced")
    category = models.CharField(_("category"), max_length=16, choices=WasteCategory.choices)
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    labelled_at = models.DateTimeField(_("labelled at"))
    labelled_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    handler_name = models.CharField(_("handler"), max_length=60)
    sealed = models.BooleanField(_("sealed at 3/4 full"), default=True)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.LABELLED)
    stage_at = models.DateTimeField(_("since"))
    holder = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="bags_held")
    trip = models.ForeignKey("Trip", null=True, blank=True, on_delete=models.SET_NULL, related_name="bags")
    org_code = models.CharField(max_length=15, db_index=True)  # the producer's
    client_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-labelled_at", "-pk"]
        indexes = [
            models.Index(fields=["stage", "stage_at"]),
            models.Index(fields=["holder", "stage"]),
            models.Index(fields=["org_code", "stage", "stage_at"]),
            models.Index(fields=["labelled_at"]),
            # The open bags (not incinerated: a tenth of the table or less) for the oversight page: oldest
            # first without sorting them, and their counts by holder and stage from the index alone.
            models.Index(
                fields=["labelled_at", "id"], condition=~Q(stage="incinerated"), name="medwaste_bag_open_age"
            ),
            models.Index(
                fields=["org_code", "holder", "stage", "labelled_at", "weight_g"],
                condition=~Q(stage="incinerated"),
                name="medwaste_bag_open_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class TripStatus(models.TextChoices):
    COLLECTING = "collecting", _("Collecting")
    DELIVERED = "delivered", _("Delivered to the plant")
    CLOSED = "closed", _("Closed (all incinerated)")


class Trip(models.Model):
    """One collection trip of a vehicle: its transfer manifest (转移联单) lists every bag and both signatures
    of every handover."""

    number = models.CharField(_("manifest number"), max_length=24, unique=True)
    company = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="trips")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="trips")
    driver = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    plant = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="trips_received"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=TripStatus.choices, default=TripStatus.COLLECTING
    )
    started_at = models.DateTimeField(_("started at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    org_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class HandoverStatus(models.TextChoices):
    OFFERED = "offered", _("Offered, awaiting the receiver")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Refused by the receiver")
    CANCELLED = "cancelled", _("Withdrawn")


class Handover(models.Model):
    """Bags passed from one party to the next: offered (the giver confirms what and how much) and accepted
    (the receiver confirms what arrived and its weight). ``stage`` is where the bags go."""

    code = models.CharField(_("handover code"), max_length=16, unique=True)
    stage = models.CharField(_("to stage"), max_length=12, choices=Stage.choices)
    from_party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="handovers_given")
    to_party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="handovers_taken")
    trip = models.ForeignKey(Trip, null=True, blank=True, on_delete=models.PROTECT, related_name="handovers")
    bags = models.ManyToManyField(Bag, related_name="handovers")
    status = models.CharField(
        _("status"), max_length=10, choices=HandoverStatus.choices, default=HandoverStatus.OFFERED
    )
    offered_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    offered_at = models.DateTimeField(_("offered at"))
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)  # the giver's

    class Meta:
        ordering = ["-offered_at", "-pk"]
        indexes = [models.Index(fields=["to_party", "status"])]

    def __str__(self) -> str:
        return self.code


class Anomaly(models.TextChoices):
    NONE = "", _("None")
    MISSING_STEP = "missing_step", _("A step before this one is missing")
    OUT_OF_ORDER = "out_of_order", _("Recorded earlier than the step before it")


class CustodyRecord(models.Model):
    """One step of one bag: who gave it, who took it, when, and what it weighed there. A step recorded
    offline and replayed later keeps the time it happened (``at``) and when it reached us (``recorded_at``)."""

    bag = models.ForeignKey(Bag, on_delete=models.PROTECT, related_name="records")
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    at = models.DateTimeField(_("at"))
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    from_party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="+")
    handover = models.ForeignKey(
        Handover, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )
    trip = models.ForeignKey(Trip, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    given_by = models.CharField(_("handed over by"), max_length=60, blank=True, default="")
    taken_by = models.CharField(_("received by"), max_length=60, blank=True, default="")
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))
    anomaly = models.CharField(_("anomaly"), max_length=14, choices=Anomaly.choices, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)  # the bag's (its producer's)

    class Meta:
        ordering = ["bag", "at", "pk"]
        constraints = [models.UniqueConstraint(fields=["bag", "stage"], name="medwaste_one_record_per_stage")]
        indexes = [
            models.Index(fields=["at"]),
            models.Index(fields=["to_party", "stage", "at"]),
            # An institution's last collection (the collection-overdue rule) without reading its history.
            models.Index(fields=["from_party", "stage", "at"], name="medwaste_record_from_stage_at"),
        ]

    def __str__(self) -> str:
        return f"{self.bag} {self.stage}"


class AlarmKind(models.TextChoices):
    STORAGE_WARNING = "storage_warning", _("Temporary storage nearing the limit")
    STORAGE_OVERDUE = "storage_overdue", _("Temporary storage beyond the limit")
    WEIGHT_MISMATCH = "weight_mismatch", _("Weight differs from the step before")
    MISSING_STEP = "missing_step", _("Step missing")
    OUT_OF_ORDER = "out_of_order", _("Steps out of order")
    COLLECTION_OVERDUE = "collection_overdue", _("Collection overdue")
    NO_HANDOVER = "no_handover", _("Produced but nothing handed over")


class AlarmLevel(models.TextChoices):
    WARNING = "warning", _("Warning")
    ALARM = "alarm", _("Alarm")


class AlarmState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")
    RESOLVED = "resolved", _("Cleared by itself")


class WasteAlarm(models.Model):
    """A finding of the alarm rules about one subject (``bag:<pk>`` or ``party:<pk>``). While ``active`` there
    is one per rule and subject; it clears itself when the condition ends (the bag is collected) and is
    handled by acknowledging and closing with a note."""

    kind = models.CharField(_("kind"), max_length=20, choices=AlarmKind.choices)
    level = models.CharField(_("level"), max_length=8, choices=AlarmLevel.choices)
    subject = models.CharField(max_length=32)
    bag = models.ForeignKey(Bag, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    detail = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    state = models.CharField(_("state"), max_length=12, choices=AlarmState.choices, default=AlarmState.OPEN)
    opened_at = models.DateTimeField(_("raised at"))
    last_seen_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("handling note"), max_length=500, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"], condition=Q(active=True), name="medwaste_one_active_alarm"
            )
        ]
        indexes = [models.Index(fields=["active", "kind"]), models.Index(fields=["org_code", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"
