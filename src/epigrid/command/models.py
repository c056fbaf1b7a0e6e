"""The command center's records: alarms raised from domain events, instructions sent down to grids, the
camera registry and video consultations. The map and the situation panel are reads over the other apps."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import Event, OrgUnit, User


class Severity(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class AlarmStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (AlarmStatus.OPEN, AlarmStatus.ACKNOWLEDGED, AlarmStatus.ASSIGNED)


class Alarm(models.Model):
    """An alarm-class domain event that someone in the command center has to see and deal with.

    ``kind`` is the event type that raised it (``command.alarmtypes`` says which types do, how severe they
    are, what they are called and where they are on the map); ``params`` fills the title. People are placed
    at their grid's centre, never at their address: the map shows cases aggregated to grids."""

    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    params = models.JSONField(default=dict, blank=True)
    source_key = models.CharField(max_length=100, unique=True)  # one alarm per source event (idempotent)
    # What the alarm is about ("venue:12", "grid:370699001001001"): a repeat about the same subject while the
    # alarm is still active counts on it instead of raising a second one.
    subject = models.CharField(max_length=64, blank=True, default="", db_index=True)
    repeats = models.PositiveIntegerField(default=0)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    url = models.CharField(max_length=300, blank=True, default="")  # the record it is about
    status = models.CharField(
        _("status"), max_length=12, choices=AlarmStatus.choices, default=AlarmStatus.OPEN, db_index=True
    )
    raised_at = models.DateTimeField(_("raised at"), db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    close_note = models.CharField(_("note"), max_length=500, blank=True, default="")
    version = models.PositiveIntegerField(default=1)  # compare-and-set: two operators, one decision

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["status", "org_code"], name="alarm_status_org")]
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class AlarmUpdate(models.Model):
    """What was done to an alarm, by whom and when: acknowledged, assigned, noted, closed, reopened."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="updates")
    action = models.CharField(max_length=12)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} alarm #{self.alarm_id}"


class Instruction(models.Model):
    """One instruction sent from the command center to several grids: one grid task per grid, all sharing
    ``ref`` as their ``source_ref``, so that acknowledgement and completion per grid are read off the tasks."""

    ref = models.CharField(max_length=12, unique=True)
    text = models.TextField(_("instruction"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    grids = models.ManyToManyField(OrgUnit, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)  # the narrowest unit holding every grid
    sent_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("instruction")
        verbose_name_plural = _("instructions")

    def __str__(self) -> str:
        return self.text[:50]


class CameraKind(models.TextChoices):
    HLS = "hls", _("HLS stream (.m3u8)")
    MJPEG = "mjpeg", _("MJPEG stream")
    SNAPSHOT = "snapshot", _("Snapshot image, refreshed")
    VIDEO = "video", _("Video file or stream the browser plays (MP4, WebM)")


class Camera(models.Model):
    """A monitoring camera: where it is and the URL its picture comes from (the video system's, not ours)."""

    name = models.CharField(_("name"), max_length=100)
    place = models.CharField(_("place"), max_length=200, blank=True, default="")
    lat = models.FloatField(_("latitude"))
    lng = models.FloatField(_("longitude"))
    kind = models.CharField(_("kind"), max_length=10, choices=CameraKind.choices, default=CameraKind.SNAPSHOT)
    stream_url = models.CharField(_("stream URL"), max_length=500)
    grid = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_code", "name"]
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")

    def __str__(self) -> str:
        return self.name


class Consultation(models.Model):
    """A video consultation: a meeting room on the configured video-conferencing server and whom it invited."""

    topic = models.CharField(_("topic"), max_length=200)
    room = models.CharField(max_length=64, unique=True)
    url = models.CharField(max_length=500)
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invitees = models.ManyToManyField(User, related_name="+")
    org_code = models.CharField(max_length=15, db_index=True)
    started_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("video consultation")
        verbose_name_plural = _("video consultations")

    def __str__(self) -> str:
        return self.topic
