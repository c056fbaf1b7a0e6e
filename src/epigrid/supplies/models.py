"""Epidemic supplies: the catalogue, holding points, batches, the stock ledger, transfers and stock counts.

Stock on hand is the sum of a point's ledger lines (:class:`Movement`); :class:`Stock` keeps that sum per point
and batch so that a page does not add up the whole ledger, is written in the same transaction as the line and
has a CHECK that it never drops below zero — only an explicit adjustment (with its reason) may correct it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, User


class ItemCategory(models.TextChoices):
    MASK = "mask", _("Masks")
    SUIT = "suit", _("Protective suits")
    GLOVES = "gloves", _("Gloves")
    TEST_KIT = "test_kit", _("Test kits")
    SWAB = "swab", _("Swabs")
    TUBE = "tube", _("Sampling tubes")
    DISINFECTANT = "disinfectant", _("Disinfectant")
    VACCINE = "vaccine", _("Vaccines")
    OTHER = "other", _("Other")


class ForecastDriver(models.TextChoices):
    """What an item's use grows with, for the forecast of needs (``Item.forecast_rate`` per unit of it)."""

    NONE = "none", _("Not forecast")
    PERSON_SAMPLED = "sampled", _("Per person sampled")
    TUBE = "tube", _("Per pooled tube")
    QUARANTINE_DAY = "quarantine_day", _("Per person-day in quarantine")
    DOSE = "dose", _("Per vaccination dose")


class Item(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=20)
    category = models.CharField(_("category"), max_length=16, choices=ItemCategory.choices)
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    forecast_driver = models.CharField(
        _("use grows with"), max_length=16, choices=ForecastDriver.choices, default=ForecastDriver.NONE
    )
    forecast_rate = models.DecimalField(
        _("units per driver unit"), max_digits=10, decimal_places=3, default=0
    )
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("supply item")
        verbose_name_plural = _("supply items")

    def __str__(self) -> str:
        return self.name


class PointKind(models.TextChoices):
    DISTRICT_STORE = "district_store", _("District store")
    COMMUNITY_STORE = "community_store", _("Community store")
    SAMPLING_POINT = "sampling_point", _("Sampling point")
    QUARANTINE_SITE = "quarantine_site", _("Quarantine site")
    CLINIC = "clinic", _("Vaccination clinic")


class HoldingPoint(models.Model):
    """A warehouse or a place where supplies are held and used. A point that is also a sampling point,
    quarantine site or clinic links to it, which is how the forecast finds its testing and occupancy."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=PointKind.choices)
    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    org_code = models.CharField(max_length=15, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    sampling_point = models.ForeignKey(
        "testing.SamplingPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quarantine_site = models.ForeignKey(
        "quarantine.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vaccination_site = models.ForeignKey(
        "vaccination.VaccinationSite", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["org_code", "name"]
        verbose_name = _("holding point")
        verbose_name_plural = _("holding points")

    def __str__(self) -> str:
        return self.name


class Batch(models.Model):
    """A lot of an item. Stock without a lot number is held in the item's batch with an empty lot number."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="batches")
    lot_number = models.CharField(_("lot number"), max_length=40, blank=True, default="")
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "expires_on", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "lot_number"], name="supplies_batch_unique_lot")
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.lot_number}".strip()


class Stock(models.Model):
    """The running balance of one batch at one point (the sum of its ledger lines)."""

    point = models.ForeignKey(HoldingPoint, on_delete=models.PROTECT, related_name="stock")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="stock")
    quantity = models.IntegerField(_("on hand"), default=0)
    org_code = models.CharField(max_length=15, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["point", "batch"], name="supplies_stock_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="supplies_stock_not_negative"),
        ]
        indexes = [models.Index(fields=["point", "item"])]

    def __str__(self) -> str:
        return f"{self.point} {self.batch}: {self.quantity}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", _("Received")
    TRANSFER_OUT = "transfer_out", _("Shipped out")
    TRANSFER_IN = "transfer_in", _("Received by transfer")
    CONSUME = "consume", _("Used")
    ADJUST = "adjust", _("Adjusted")
    WRITE_OFF = "write_off", _("Written off (expired)")
    COUNT = "count", _("Stock count difference")


class Movement(models.Model):
    """One line of the stock ledger. ``quantity`` is signed: what it added to or took from the point."""

    point = models.ForeignKey(HoldingPoint, on_delete=models.PROTECT, related_name="movements")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    quantity = models.IntegerField(_("quantity"))
    balance_after = models.IntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    transfer = models.ForeignKey(
        "Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    stock_count = models.ForeignKey(
        "StockCount", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), db_index=True)
    org_code = models.CharField(max_length=15, db_index=True)
    # A phone's own id for the submission, so that a replay after a lost answer books nothing twice.
    client_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["point", "item", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} {self.item}"


class ReorderRule(models.Model):
    """When a point runs short of an item: below ``min_quantity``, or fewer than ``min_cover_days`` of use left
    at the recent consumption rate."""

    point = models.ForeignKey(HoldingPoint, on_delete=models.CASCADE, related_name="reorder_rules")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    min_quantity = models.PositiveIntegerField(_("minimum level"), default=0)
    min_cover_days = models.PositiveSmallIntegerField(_("minimum days of cover"), default=0)
    org_code = models.CharField(max_length=15, db_index=True)
    # When the running shortage episode was announced (the hourly check sets it once and clears it when the
    # point is no longer short), so that one shortage is announced once, not every hour.
    short_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["point", "item"], name="supplies_reorder_unique")]

    def __str__(self) -> str:
        return f"{self.point} {self.item} >= {self.min_quantity}"


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    SHIPPED = "shipped", _("Shipped")
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class Transfer(models.Model):
    """A request for supplies from one point to another: request → approve → ship → receive."""

    from_point = models.ForeignKey(HoldingPoint, on_delete=models.PROTECT, related_name="transfers_out")
    to_point = models.ForeignKey(HoldingPoint, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.REQUESTED
    )
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True, default="")
    shipped_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    # Set when what arrived differs from what was shipped (lines say which and by how much).
    has_discrepancy = models.BooleanField(_("quantity mismatch"), default=False)
    org_code = models.CharField(max_length=15, db_index=True)  # the receiving point's

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.from_point} → {self.to_point} #{self.pk}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    requested_quantity = models.PositiveIntegerField(_("requested"))
    approved_quantity = models.PositiveIntegerField(_("approved"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.item} × {self.requested_quantity}"


class ShippedLot(models.Model):
    """What left the sending point for a line, per batch (first expiry first out), and what arrived."""

    line = models.ForeignKey(TransferLine, on_delete=models.CASCADE, related_name="lots")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="+")
    shipped_quantity = models.PositiveIntegerField(_("shipped"))
    received_quantity = models.PositiveIntegerField(_("received"), null=True, blank=True)
    discrepancy_note = models.CharField(_("why it differs"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.batch} × {self.shipped_quantity}"


class StockCount(models.Model):
    """A physical count at a point; each difference from the ledger is booked as a ``COUNT`` line."""

    point = models.ForeignKey(HoldingPoint, on_delete=models.PROTECT, related_name="counts")
    counted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    counted_at = models.DateTimeField(_("counted at"))
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["-counted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.point} {self.counted_at:%Y-%m-%d}"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(_("in the ledger"))
    counted = models.PositiveIntegerField(_("counted"))

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.batch}: {self.counted}"
