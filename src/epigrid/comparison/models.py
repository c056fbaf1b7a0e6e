"""Information comparison (信息比对) and the key-region persons archive (重点地区人员档案库).

Lists of arrivals come from many sources (transport hubs, telecom pushes, other cities' notices, the
arrival self-report page): a ``ListImport`` is one uploaded file, kept row by row (``ListRow``) with the
raw cells, the normalised values, every validation error and the outcome of linking the row to a Person
(exact by ID number, probabilistic, a clerk's decision, or a provisional person). Nothing is dropped:
rejected rows stay with their reasons and can be corrected and processed again.

Linked rows become ``Arrival`` records, the key-region archive. ``ComparisonRule``s compare the archive with
the test, grid-task, vaccination and check-in archives; each run keeps its hits as an action list.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.fields import EncryptedJSONField, EncryptedTextField
from epigrid.core.models import OrgUnit, Person, User


class SourceKind(models.TextChoices):
    TRANSPORT = "transport", _("Transport hub (station, airport, highway)")
    TELECOM = "telecom", _("Telecom big-data push")
    NOTICE = "notice", _("Notice from another city")
    SELF_REPORT = "self_report", _("Arrival self-reports")
    OTHER = "other", _("Other list")


class ListSource(models.Model):
    """Where lists come from; remembers the column mapping last used for its files."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=SourceKind.choices, default=SourceKind.OTHER)
    # field name -> column header, e.g. {"name": "姓名", "id_number": "证件号码", "arrived_at": "到达时间"}
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    org_code = models.CharField(max_length=15, db_index=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("list source")
        verbose_name_plural = _("list sources")

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Processing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ListImport(models.Model):
    """One uploaded file. Its rows are stored as they came before anything else happens, so processing can
    stop (a restart, a crash) and resume with the rows still pending."""

    source = models.ForeignKey(ListSource, on_delete=models.PROTECT, related_name="imports")
    org_code = models.CharField(max_length=15, db_index=True)
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    header = models.JSONField(default=list)  # the column headers as read
    header_row = models.PositiveIntegerField(default=1)  # the header's row in the file (titles above it)
    blank_rows = models.JSONField(default=list, blank=True)  # numbers of the blank rows skipped
    mapping = models.JSONField(default=dict, blank=True)  # field -> header, as confirmed for this file
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("list import")
        verbose_name_plural = _("list imports")

    def __str__(self) -> str:
        return self.file_name


class RowStatus(models.TextChoices):
    PENDING = "pending", _("Not processed yet")
    REJECTED = "rejected", _("Rejected")
    LINKED = "linked", _("Linked to a person")
    REVIEW = "review", _("Waiting for review")
    PROVISIONAL = "provisional", _("New provisional person")
    CORRECTED = "corrected", _("Corrected (see the new row)")


class LinkMethod(models.TextChoices):
    EXACT_ID = "exact_id", _("Same ID number")
    PROBABILISTIC = "probabilistic", _("Probabilistic match")
    CLERICAL = "clerical", _("Decided by a clerk")
    REMEMBERED = "remembered", _("An earlier decision")
    PROVISIONAL = "provisional", _("No match: provisional person")


class ListRow(models.Model):
    """One row of a list: raw cells, normalised values, errors, and the person it was linked to."""

    list_import = models.ForeignKey(ListImport, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"))  # as in the file (1 = the header row)
    org_code = models.CharField(max_length=15)  # the geocoded grid's, else the importer's area
    raw = EncryptedJSONField(default=dict, blank=True)  # header -> cell text (encrypted: IDs, phones)
    # normalised values (empty when missing or invalid)
    name = models.CharField(_("name"), max_length=100, blank=True, default="")
    id_type = models.CharField(_("document type"), max_length=10, blank=True, default="")
    id_number = EncryptedTextField(_("document number"), blank=True, default="")
    id_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    id_number_masked = models.CharField(_("document number"), max_length=40, blank=True, default="")
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="")
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, default="")
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True, default="")
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(_("came from"), max_length=120, blank=True, default="")
    origin_region_code = models.CharField(_("region code"), max_length=6, blank=True, default="")
    travel_mode = models.CharField(_("travel mode"), max_length=40, blank=True, default="")
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    # outcome
    status = models.CharField(
        _("status"), max_length=12, choices=RowStatus.choices, default=RowStatus.PENDING
    )
    errors = models.JSONField(default=list, blank=True)  # [{"field": ..., "message": ...}]
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    link_method = models.CharField(max_length=14, choices=LinkMethod.choices, blank=True, default="")
    match_probability = models.FloatField(null=True, blank=True)
    candidates = models.JSONField(default=list, blank=True)  # [[person_id, probability], ...] best first
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections"
    )

    class Meta:
        ordering = ["list_import_id", "row_number"]
        verbose_name = _("list row")
        verbose_name_plural = _("list rows")
        indexes = [
            models.Index(fields=["list_import", "status"], name="listrow_import_status"),
            models.Index(fields=["org_code", "status"], name="listrow_scope_status"),
        ]

    def __str__(self) -> str:
        return f"{self.list_import_id}#{self.row_number}"


class LinkMemory(models.Model):
    """A clerk's decision about a list row, remembered by the row's normalised identity so that the same
    person on a later list is linked the same way without asking again. ``person`` None: "nobody we know"."""

    fingerprint = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.fingerprint[:8]} -> {self.person_id}"


class ArrivalSource(models.TextChoices):
    LIST = "list", _("Imported list")
    SELF_REPORT = "self_report", _("Self-report")
    STAFF = "staff", _("Entered by staff")


class Arrival(models.Model):
    """An arrival from elsewhere: the key-region persons archive (重点地区人员档案库)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="arrivals")
    org_code = models.CharField(max_length=15, db_index=True)  # the person's area
    origin = models.CharField(_("came from"), max_length=120)
    origin_region_code = models.CharField(_("region code"), max_length=6, blank=True, default="")
    risk_level = models.CharField(_("risk level at arrival"), max_length=6, blank=True, default="")
    travel_mode = models.CharField(_("travel mode"), max_length=40, blank=True, default="")
    arrived_at = models.DateTimeField(_("arrived at"))
    arrived_on = models.DateField()  # local date: one arrival per person, origin and day
    address = models.CharField(_("staying at"), max_length=200, blank=True, default="")
    source = models.CharField(_("source"), max_length=12, choices=ArrivalSource.choices)
    list_row = models.ForeignKey(ListRow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    reported_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-arrived_at"]
        verbose_name = _("arrival")
        verbose_name_plural = _("arrivals")
        indexes = [models.Index(fields=["org_code", "arrived_at"], name="arrival_scope_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "origin_region_code", "arrived_on"], name="arrival_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.origin} {self.arrived_on}"


class ComparisonKind(models.TextChoices):
    NOT_TESTED = "not_tested", _("Arrived but not tested within N hours")
    NOT_SCREENED = "not_screened", _("Arrived but not screened by the grid")
    NOT_VACCINATED = "not_vaccinated", _("Arrived but not fully vaccinated")
    VENUE_VISITORS = "venue_visitors", _("Arrivals who checked in at a venue")
    NO_GRID = "no_grid", _("Arrivals living in no known grid")


class Schedule(models.TextChoices):
    MANUAL = "manual", _("On demand")
    DAILY = "daily", _("Every day")
    HOURLY = "hourly", _("Every hour")


class ComparisonRule(models.Model):
    """A saved comparison: which arrivals (window, risk level, source) against which archive, with its
    parameters (``hours`` for tests, ``venue_id`` and window for check-ins...)."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("comparison"), max_length=16, choices=ComparisonKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    schedule = models.CharField(_("runs"), max_length=8, choices=Schedule.choices, default=Schedule.MANUAL)
    active = models.BooleanField(_("active"), default=True)
    org_code = models.CharField(max_length=15, db_index=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("comparison rule")
        verbose_name_plural = _("comparison rules")

    def __str__(self) -> str:
        return self.name


class ComparisonRun(models.Model):
    rule = models.ForeignKey(ComparisonRule, on_delete=models.CASCADE, related_name="runs")
    org_code = models.CharField(max_length=15, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    compared = models.PositiveIntegerField(default=0)  # arrivals looked at
    hits = models.PositiveIntegerField(default=0)
    tasks_created = models.PositiveIntegerField(default=0)
    run_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.rule} {self.started_at:%Y-%m-%d %H:%M}"


class ComparisonHit(models.Model):
    """One person on a run's action list, with why."""

    run = models.ForeignKey(ComparisonRun, on_delete=models.CASCADE, related_name="hit_rows")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    arrival = models.ForeignKey(Arrival, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    org_code = models.CharField(max_length=15)
    reason = models.CharField(_("reason"), max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    task_created = models.BooleanField(default=False)

    class Meta:
        ordering = ["run_id", "pk"]
        indexes = [models.Index(fields=["run", "org_code"], name="hit_run_scope")]
        constraints = [
            models.UniqueConstraint(fields=["run", "person"], name="hit_once_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.person_id}"
