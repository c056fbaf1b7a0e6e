"""Sentinel points and grid management (网格化管理): who staffs each grid, the one task model every module
ends in ("someone must go there"), offline sync of the workers' phones, patrols of key places, emergencies.

A task belongs to one grid (``org_code`` is the grid's code, so scope is the usual prefix test: a worker sees
their grid, a community officer their community). ``dedupe_key`` makes task creation idempotent: an event
handled twice, or a burst replayed, creates each task once.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.fields import EncryptedTextField
from epigrid.core.models import Household, OrgUnit, Person, User
from epigrid.places.models import Venue


class GridRole(models.TextChoices):
    LEADER = "leader", _("Grid leader")
    WORKER = "worker", _("Full-time grid worker")
    ASSISTANT = "assistant", _("Grid assistant")


class GridAssignment(models.Model):
    grid = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="staff_assignments")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grid_assignments")
    org_code = models.CharField(max_length=15, db_index=True)
    role = models.CharField(_("role in the grid"), max_length=10, choices=GridRole.choices)
    active = models.BooleanField(default=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_code", "role", "pk"]
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "user"], condition=models.Q(active=True), name="grid_assignment_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.grid_id} ({self.role})"


class SentinelKind(models.TextChoices):
    CONSTRUCTION = "construction", _("Construction site")
    HOSPITAL = "hospital", _("Hospital or clinic")
    ENTERPRISE = "enterprise", _("Enterprise")
    STREET = "street", _("Town or street")
    COMMUNITY = "community", _("Community or village")
    SCHOOL = "school", _("School")
    MARKET = "market", _("Market")
    OTHER = "other", _("Other")


class SentinelPoint(models.Model):
    """A sentinel point (哨点): a place with a responsible person and a checklist to keep."""

    kind = models.CharField(_("kind"), max_length=14, choices=SentinelKind.choices)
    name = models.CharField(_("name"), max_length=120)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    responsible_name = models.CharField(_("responsible person"), max_length=50)
    responsible_phone = EncryptedTextField(_("phone"), blank=True, default="")
    responsible_phone_masked = models.CharField(max_length=20, blank=True, default="")
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_code", "kind", "name"]
        verbose_name = _("sentinel point")
        verbose_name_plural = _("sentinel points")

    def __str__(self) -> str:
        return self.name


class TaskType(models.TextChoices):
    SCREEN_ARRIVAL = "screen_arrival", _("Screen an arrival")
    RESAMPLE = "resample", _("Re-sample in a single tube")
    CONTACT_CONTROL = "contact_control", _("Control a contact")
    QUARANTINE_TEST = "quarantine_test", _("Door-to-door test")
    QUARANTINE_VISIT = "quarantine_visit", _("Home-quarantine visit")
    DOOR_SEAL = "door_seal", _("Door seal")
    DELIVER_SUPPLIES = "deliver_supplies", _("Deliver supplies")
    PATROL = "patrol", _("Patrol")
    RECTIFY = "rectify", _("Rectification")
    VERIFY_REPORT = "verify_report", _("Verify a self-report")
    EMERGENCY = "emergency", _("Emergency")
    INSTRUCTION = "instruction", _("Instruction")
    VACCINATION_FOLLOWUP = "vaccination_followup", _("Follow up an overdue vaccination")
    ARRIVAL_TEST = "arrival_test", _("Arrange a test for an arrival")
    ARRIVAL_VACCINATION = "arrival_vaccination", _("Check an arrival's vaccination")
    VENUE_VISITOR = "venue_visitor", _("Check on a venue visitor")


class TaskState(models.TextChoices):
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANNOT = "cannot", _("Cannot do")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = (TaskState.NEW, TaskState.ACCEPTED, TaskState.IN_PROGRESS)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Task(models.Model):
    type = models.CharField(_("type"), max_length=20, choices=TaskType.choices)
    title = models.CharField(_("title"), max_length=200)
    subject_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject_venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject_household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject_text = models.CharField(_("where / who"), max_length=200, blank=True, default="")
    # What the task needs to be done (a patrol's checklist, an instruction's text, a recall's tube...).
    params = models.JSONField(default=dict, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    org_code = models.CharField(max_length=15)  # the grid's code (the district's when it could not be routed)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    due_at = models.DateTimeField(_("due"))
    state = models.CharField(_("state"), max_length=12, choices=TaskState.choices, default=TaskState.NEW)
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    # 0: the grid's workers; 1: overdue, escalated to the grid leader; 2: escalated to the community.
    escalation = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    cannot_reason = models.CharField(max_length=300, blank=True, default="")
    evidence_photo = models.BinaryField(null=True, blank=True)
    evidence_lat = models.FloatField(null=True, blank=True)
    evidence_lng = models.FloatField(null=True, blank=True)
    evidence_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")  # the event or page that made it
    source_ref = models.CharField(max_length=60, blank=True, default="")
    dedupe_key = models.CharField(max_length=120, unique=True)
    version = models.PositiveIntegerField(default=1)  # bumped by every change: offline edits detect conflicts
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "-priority", "pk"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["org_code", "state", "due_at"], name="task_grid_state_due"),
            models.Index(fields=["state", "due_at"], name="task_state_due"),
            models.Index(fields=["assignee", "state"], name="task_assignee_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.title}"


class SyncOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    CONFLICT = "conflict", _("Conflict")
    REJECTED = "rejected", _("Rejected")


class TaskUpdate(models.Model):
    """One change a phone sent (possibly queued offline): stored once per ``client_id`` with its outcome, so
    a replay gets the same answer and changes nothing."""

    client_id = models.UUIDField(unique=True)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="updates")
    org_code = models.CharField(max_length=15, db_index=True)
    user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=10)
    at = models.DateTimeField()  # when the worker did it (the phone's clock)
    base_version = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=SyncOutcome.choices)
    message = models.CharField(max_length=300, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.action} {self.outcome}"


class PatrolRoute(models.Model):
    """A scheduled patrol of key places with a checklist: each scheduled day gives the grid a patrol task."""

    name = models.CharField(_("name"), max_length=120)
    grid = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    venues = models.ManyToManyField(Venue, blank=True, related_name="+")
    checklist = models.JSONField(_("checklist"), default=list)
    weekdays = models.JSONField(_("weekdays"), default=list)  # 0 = Monday
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_code", "name"]
        verbose_name = _("patrol route")
        verbose_name_plural = _("patrol routes")

    def __str__(self) -> str:
        return self.name


class EmergencyKind(models.TextChoices):
    FEVER = "fever", _("Person with fever or symptoms")
    CROWD = "crowd", _("Crowding")
    VIOLATION = "violation", _("Quarantine violation")
    REFUSAL = "refusal", _("Refusal to cooperate")
    MEDICAL = "medical", _("Medical emergency")
    OTHER = "other", _("Other")


class EmergencyStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")


class Emergency(models.Model):
    kind = models.CharField(_("kind"), max_length=10, choices=EmergencyKind.choices)
    place = models.CharField(_("place"), max_length=200)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    description = models.TextField(_("description"))
    photo = models.BinaryField(null=True, blank=True)
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    status = models.CharField(max_length=10, choices=EmergencyStatus.choices, default=EmergencyStatus.OPEN)
    task = models.OneToOneField(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="emergency"
    )
    reported_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    closed_note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("emergency")
        verbose_name_plural = _("emergencies")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.place}"
