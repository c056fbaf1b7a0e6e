"""Epidemic announcements (防疫发布), the policy FAQ and its search, and hotline questions.

An :class:`Announcement` is written by an editor, reviewed by another (review before publish), and is public
from ``publish_at`` until ``expires_at``, to everyone or to the residents of the chosen org units. Every saved
edit keeps an :class:`AnnouncementRevision`. Published policies and FAQ entries are cut into
:class:`SearchPassage` rows with their segmented words, which the policy search ranks. Residents ask the
hotline with a :class:`HotlineTicket`; the answer reaches their inbox.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgUnit, User


class Category(models.TextChoices):
    POLICY = "policy", _("Policy")
    TESTING = "testing", _("Testing notice")
    VACCINATION = "vaccination", _("Vaccination")
    RISK_AREAS = "risk_areas", _("Risk areas")
    GUIDANCE = "guidance", _("Guidance")


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("Awaiting review")
    APPROVED = "approved", _("Approved")  # public from publish_at until expires_at
    REJECTED = "rejected", _("Sent back")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Announcement(models.Model):
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=400, blank=True, default="")
    body_html = models.TextField(_("text"), blank=True, default="")  # sanitised with nh3 when saved
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    # Empty: the whole district. Otherwise only residents of these units (and staff) see it.
    audience = models.ManyToManyField(OrgUnit, blank=True, related_name="+", verbose_name=_("audience"))
    status = models.CharField(
        _("status"), max_length=10, choices=AnnouncementStatus.choices, default=AnnouncementStatus.DRAFT
    )
    pinned = models.BooleanField(_("pinned"), default=False)
    # Tell the residents of the audience in their inbox when it first goes public.
    push = models.BooleanField(_("push to residents"), default=False)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    published_at = models.DateTimeField(
        _("first published"), null=True, blank=True
    )  # set when it went public
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=500, blank=True, default="")
    org_code = models.CharField(max_length=15, db_index=True)  # the authoring unit's

    class Meta:
        ordering = ["-pinned", "-publish_at", "-pk"]
        indexes = [models.Index(fields=["status", "publish_at", "expires_at"])]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self) -> str:
        return self.title


class AnnouncementRevision(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=400, blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    category = models.CharField(max_length=16, choices=Category.choices)
    edited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField()
    note = models.CharField(_("what changed"), max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["announcement", "version"], name="publicity_revision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} v{self.version}"


class Attachment(models.Model):
    """An image (re-encoded, shown in the text) or a document (PDF, Excel, Word) offered for download."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    is_image = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Faq(models.Model):
    question = models.CharField(_("question"), max_length=300)
    answer_html = models.TextField(_("answer"))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    published = models.BooleanField(_("published"), default=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    org_code = models.CharField(max_length=15, db_index=True)

    class Meta:
        ordering = ["category", "position", "pk"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")

    def __str__(self) -> str:
        return self.question


class SearchPassage(models.Model):
    """A passage of a published announcement or FAQ entry with its words (segmented, space-separated)."""

    announcement = models.ForeignKey(
        Announcement, null=True, blank=True, on_delete=models.CASCADE, related_name="passages"
    )
    faq = models.ForeignKey(Faq, null=True, blank=True, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True, default="")
    text = models.TextField()
    terms = models.TextField()  # segmented words, space separated
    length = models.PositiveIntegerField()  # number of terms (for BM25)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.text[:40]


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class HotlineTicket(models.Model):
    """A question a resident sent to the hotline (publicity team); the answer goes to their inbox."""

    asked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="hotline_tickets")
    person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="hotline_tickets"
    )
    question = models.TextField(_("question"))
    category = models.CharField(
        _("category"), max_length=16, choices=Category.choices, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    answer = models.TextField(_("answer"), blank=True, default="")
    answered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    client_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    org_code = models.CharField(max_length=15, db_index=True)  # the asker's

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk}"
