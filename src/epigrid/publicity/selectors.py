"""Reads of announcements: the staff's lists (scoped by the authoring unit) and what the public sees.

Public means: approved, its publication time has come and its expiry has not. An announcement without an
audience is for everyone; one with an audience only for the residents living in one of its units (their
person's org code starts with the unit's code) and for staff whose area lies within one of the units or
contains it — never for anonymous visitors, the feed or the public API.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm, is_staff_role
from epigrid.core.scope import prefix_q, scoped
from epigrid.publicity.models import Announcement, AnnouncementRevision, AnnouncementStatus, Attachment

Status = AnnouncementStatus
_Audience = Announcement.audience.through


# --- staff ------------------------------------------------------------------------------------------------------


def staff_announcements(*, actor: User, status: str = "", category: str = "") -> QuerySet[Announcement]:
    """The announcements of the actor's area (written by their unit or below), last changed first."""
    qs = scoped(Announcement.objects.select_related("created_by", "reviewed_by"), actor)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    return qs.defer("body_html").order_by("-updated_at", "-pk")


def status_counts(*, actor: User) -> dict[str, int]:
    from django.db.models import Count

    rows = scoped(Announcement.objects.all(), actor).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def staff_announcement_get(*, actor: User, pk: int) -> Announcement:
    found = (
        scoped(Announcement.objects.select_related("created_by", "reviewed_by"), actor).filter(pk=pk).first()
    )
    if found is None:
        raise Http404
    return found


def review_queue(*, actor: User) -> QuerySet[Announcement]:
    """What waits for review in the actor's area, the longest waiting first."""
    qs = scoped(Announcement.objects.select_related("created_by"), actor).filter(status=Status.IN_REVIEW)
    return qs.defer("body_html").order_by("updated_at", "pk")


def revisions(*, announcement: Announcement) -> QuerySet[AnnouncementRevision]:
    return announcement.revisions.select_related("edited_by").order_by("-version")


def revision_get(*, announcement: Announcement, version: int) -> AnnouncementRevision:
    found = announcement.revisions.select_related("edited_by").filter(version=version).first()
    if found is None:
        raise Http404
    return found


def attachments_of(announcement: Announcement) -> QuerySet[Attachment]:
    return announcement.attachments.defer("data").order_by("pk")


# --- the public -------------------------------------------------------------------------------------------------


def _prefixes(code: str) -> list[str]:
    return [code[:n] for n in range(1, len(code) + 1)]


def _audience_q(viewer: User | None) -> Q:
    """Which audiences ``viewer`` belongs to (see the module's description)."""
    targeted = _Audience.objects.filter(announcement_id=OuterRef("pk"))
    everyone = ~Exists(targeted)
    if viewer is None or not getattr(viewer, "is_authenticated", False) or not viewer.is_active:
        return everyone
    if is_staff_role(viewer.role):
        code = viewer.org_code
        if not code:
            return everyone
        units = Q(orgunit__code__in=_prefixes(code)) | prefix_q("orgunit__code", code)
        return everyone | Exists(targeted.filter(units))
    person = viewer.person if viewer.person_id else None
    if person is None or not person.org_code:
        return everyone
    return everyone | Exists(targeted.filter(orgunit__code__in=_prefixes(person.org_code)))


def live_q(now: dt.datetime) -> Q:
    return Q(status=Status.APPROVED, publish_at__lte=now) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def public_announcements(
    *, viewer: User | None = None, now: dt.datetime | None = None, category: str = ""
) -> QuerySet[Announcement]:
    """Announcements ``viewer`` (None: the public) may read now: pinned first, then newest. Each carries
    ``shown_at`` (when it went public) and ``last_edit`` (its latest saved version)."""
    now = now or timezone.now()
    qs = Announcement.objects.filter(live_q(now)).filter(_audience_q(viewer))
    if category:
        qs = qs.filter(category=category)
    return qs.annotate(
        shown_at=Coalesce(F("published_at"), F("publish_at")), last_edit=Max("revisions__edited_at")
    ).order_by("-pinned", "-shown_at", "-pk")


def public_announcement_get(*, viewer: User | None, pk: int, now: dt.datetime | None = None) -> Announcement:
    """One announcement ``viewer`` may read now; anything else answers 404 like a missing one."""
    found = public_announcements(viewer=viewer, now=now).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def public_attachment_get(*, viewer: User | None, pk: int) -> Attachment:
    """An attachment of an announcement ``viewer`` may read — or, for staff of the authoring area, of any of
    their announcements (the editor's preview shows images before anything is public)."""
    attachment = Attachment.objects.defer("data").filter(pk=pk).first()  # the bytes once it may be read
    if attachment is None:
        raise Http404
    visible = public_announcements(viewer=viewer).filter(pk=attachment.announcement_id)
    if visible.exists():
        return attachment
    if viewer is not None and getattr(viewer, "is_authenticated", False) and is_staff_role(viewer.role):
        may_edit = has_perm(viewer, Perm.PUBLICITY_EDIT) or has_perm(viewer, Perm.PUBLICITY_REVIEW)
        if may_edit and scoped(Announcement.objects.filter(pk=attachment.announcement_id), viewer).exists():
            return attachment
    raise Http404


def is_today(moment: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Whether ``moment`` falls on today's local date (the site's time zone)."""
    if moment is None:
        return False
    return timezone.localdate(moment) == timezone.localdate(now or timezone.now())
