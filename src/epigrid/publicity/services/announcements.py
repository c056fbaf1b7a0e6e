"""Announcements: written by an editor, approved by someone else, public from ``publish_at`` to ``expires_at``.

Workflow: draft → in review → approved (or sent back with a note) → withdrawn. Every saved edit is a new
version with its :class:`AnnouncementRevision`; restoring an old version saves it again as the newest. An
approved announcement whose content, audience or schedule is edited goes back to draft: the four-eyes rule
holds for every version the public sees, at the price of it leaving the public pages until it is approved
again (the edit page says so).

Going public happens once (``published_at`` is set by a conditional UPDATE): at approval when ``publish_at``
has come, otherwise by the minute job :func:`announcements_publish_due`. That moment publishes
``announcement.published``, whose handler pushes an inbox notice to the audience's residents when the editor
asked for it. Every function takes an optional ``now`` so that the demo's history and the tests can place
things in time; it defaults to the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm, Role, has_perm
from epigrid.core.scope import in_scope_code, prefix_q
from epigrid.core.selectors import district_code
from epigrid.publicity.models import (
    Announcement,
    AnnouncementRevision,
    AnnouncementStatus,
    Attachment,
    Category,
)
from epigrid.publicity.sanitize import clean_html, html_text
from epigrid.publicity.services.files import checked_file

Status = AnnouncementStatus
EDITABLE = (Status.DRAFT, Status.REJECTED, Status.WITHDRAWN, Status.IN_REVIEW, Status.APPROVED)
SUBMITTABLE = (Status.DRAFT, Status.REJECTED, Status.WITHDRAWN)
PUSH_BATCH = 2000
NOTICE_KIND = "announcement"


@dataclass
class AnnouncementInput:
    title: str
    category: str
    body_html: str = ""
    summary: str = ""
    audience: list[OrgUnit] = field(default_factory=list)
    publish_at: dt.datetime | None = None  # None: when approved
    expires_at: dt.datetime | None = None  # None: until withdrawn
    pinned: bool = False
    push: bool = False


# --- checks ---------------------------------------------------------------------------------------------------


def _require(actor: User | None, *perms: str) -> None:
    if actor is not None and not any(has_perm(actor, perm) for perm in perms):
        raise Forbidden(_("Your role may not do this."))


def _require_area(actor: User | None, announcement: Announcement) -> None:
    if actor is not None and not in_scope_code(actor, announcement.org_code):
        raise Forbidden(_("This announcement belongs to another unit."))


def _aware(moment: dt.datetime | None, field_name: str) -> dt.datetime | None:
    if moment is not None and timezone.is_naive(moment):
        raise DomainError(_("A time without its time zone cannot be used."), field=field_name)
    return moment


def _clean(actor: User | None, data: AnnouncementInput, now: dt.datetime) -> dict:
    """The stored values of ``data``, or a DomainError naming the field that is wrong."""
    title = " ".join((data.title or "").split())
    if not title:
        raise DomainError(_("An announcement needs a title."), field="title")
    if len(title) > 200:
        raise DomainError(_("The title is longer than 200 characters."), field="title")
    if data.category not in Category.values:
        raise DomainError(_("Choose one of the categories."), field="category")
    summary = " ".join((data.summary or "").split())
    if len(summary) > 400:
        raise DomainError(_("The summary is longer than 400 characters."), field="summary")
    body = clean_html(data.body_html or "")
    if len(body) > 500_000:
        raise DomainError(_("The text is too long (at most 500,000 characters of HTML)."), field="body_html")
    publish_at = _aware(data.publish_at, "publish_at")
    expires_at = _aware(data.expires_at, "expires_at")
    if expires_at is not None and expires_at <= (publish_at or now):
        raise DomainError(_("The expiry time must come after the publication time."), field="expires_at")
    audience = list({unit.pk: unit for unit in data.audience}.values())
    outside = [unit.name for unit in audience if actor is not None and not in_scope_code(actor, unit.code)]
    if outside:
        raise DomainError(
            _("These units are outside your area: %(names)s.") % {"names": "、".join(outside)},
            field="audience",
        )
    return {
        "title": title,
        "summary": summary,
        "body_html": body,
        "category": data.category,
        "publish_at": publish_at,
        "expires_at": expires_at,
        "pinned": bool(data.pinned),
        "push": bool(data.push),
        "audience": audience,
    }


def _locked(announcement: Announcement) -> Announcement:
    return Announcement.objects.select_for_update().get(pk=announcement.pk)


def _sync(target: Announcement, source: Announcement) -> Announcement:
    """Copy the saved state onto the caller's instance (it keeps working with what it holds)."""
    target.__dict__.update({k: v for k, v in source.__dict__.items() if not k.startswith("_")})
    return target


def _revision(announcement: Announcement, actor: User | None, now: dt.datetime, note: str) -> None:
    AnnouncementRevision.objects.create(
        announcement=announcement,
        version=announcement.version,
        title=announcement.title,
        summary=announcement.summary,
        body_html=announcement.body_html,
        category=announcement.category,
        edited_by=actor,
        edited_at=now,
        note=note[:300],
    )


def _event(event_type: str, announcement: Announcement, **extra: object) -> None:
    events.publish(
        event_type,
        payload={
            "announcement_id": announcement.pk,
            "category": announcement.category,
            "version": announcement.version,
            **extra,
        },
        org_code=announcement.org_code,
    )


# --- writing ----------------------------------------------------------------------------------------------------


@transaction.atomic
def announcement_create(
    *, actor: User | None, data: AnnouncementInput, note: str = "", now: dt.datetime | None = None
) -> Announcement:
    """A new draft (version 1) of the actor's unit (``actor`` None, the system: the district's)."""
    _require(actor, Perm.PUBLICITY_EDIT)
    now = now or timezone.now()
    values = _clean(actor, data, now)
    audience = values.pop("audience")
    org_code = actor.org_code if actor is not None and actor.org_code else district_code()
    announcement = Announcement.objects.create(**values, version=1, created_by=actor, org_code=org_code)
    announcement.audience.set(audience)
    _revision(announcement, actor, now, note or _("First version"))
    audit_record(
        actor=actor,
        action="announcement.create",
        obj=announcement,
        org_code=org_code,
        detail={"version": 1, "category": announcement.category, "audience": [u.code for u in audience]},
    )
    return announcement


def _changed(announcement: Announcement, values: dict) -> list[str]:
    fields = [
        name for name, value in values.items() if name != "audience" and getattr(announcement, name) != value
    ]
    current = set(announcement.audience.values_list("pk", flat=True))
    if current != {unit.pk for unit in values["audience"]}:
        fields.append("audience")
    return fields


@transaction.atomic
def announcement_update(
    *,
    actor: User | None,
    announcement: Announcement,
    data: AnnouncementInput,
    base_version: int | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Announcement:
    """Save an edit as a new version. ``base_version`` is the version the editor started from: if someone
    saved another meanwhile, the edit is refused rather than silently overwriting theirs. Saving the same
    content again changes nothing (a double-clicked save makes no version). An approved announcement goes
    back to draft (see the module's description)."""
    _require(actor, Perm.PUBLICITY_EDIT)
    _require_area(actor, announcement)
    now = now or timezone.now()
    values = _clean(actor, data, now)
    locked = _locked(announcement)
    if base_version is not None and base_version != locked.version:
        raise Conflict(
            _("Someone saved version %(n)d while you were editing; open it again and redo your change.")
            % {"n": locked.version}
        )
    changed = _changed(locked, values)
    if not changed:
        return _sync(announcement, locked)
    was_public = locked.status == Status.APPROVED
    audience = values.pop("audience")
    for name, value in values.items():
        setattr(locked, name, value)
    locked.version += 1
    if was_public:
        locked.status = Status.DRAFT
    locked.save()
    locked.audience.set(audience)
    _revision(locked, actor, now, note)
    audit_record(
        actor=actor,
        action="announcement.update",
        obj=locked,
        org_code=locked.org_code,
        detail={"version": locked.version, "fields": changed, "unpublished": was_public},
    )
    if was_public:
        _event("announcement.unpublished", locked, reason="edited")
    return _sync(announcement, locked)


def announcement_restore(
    *,
    actor: User | None,
    announcement: Announcement,
    version: int,
    base_version: int | None = None,
    now: dt.datetime | None = None,
) -> Announcement:
    """Save the text of an older version again, as the newest version."""
    revision = announcement.revisions.filter(version=version).first()
    if revision is None:
        raise DomainError(
            _("There is no version %(n)d of this announcement.") % {"n": version}, field="version"
        )
    data = AnnouncementInput(
        title=revision.title,
        summary=revision.summary,
        body_html=revision.body_html,
        category=revision.category,
        audience=list(announcement.audience.all()),
        publish_at=announcement.publish_at,
        expires_at=announcement.expires_at,
        pinned=announcement.pinned,
        push=announcement.push,
    )
    return announcement_update(
        actor=actor,
        announcement=announcement,
        data=data,
        base_version=base_version,
        note=_("Restored version %(n)d") % {"n": version},
        now=now,
    )


@transaction.atomic
def announcement_pin(*, actor: User | None, announcement: Announcement, pinned: bool) -> Announcement:
    """Pin to the top of the lists, or unpin. Not a change of content: no new version, no review."""
    _require(actor, Perm.PUBLICITY_EDIT)
    _require_area(actor, announcement)
    locked = _locked(announcement)
    if locked.pinned != pinned:
        locked.pinned = pinned
        locked.save(update_fields=["pinned", "updated_at"])
        audit_record(
            actor=actor,
            action="announcement.pin",
            obj=locked,
            org_code=locked.org_code,
            detail={"pinned": pinned},
        )
    return _sync(announcement, locked)


# --- review ---------------------------------------------------------------------------------------------------


@transaction.atomic
def announcement_submit(
    *, actor: User | None, announcement: Announcement, now: dt.datetime | None = None
) -> Announcement:
    """Send for review. Submitting what already waits for review changes nothing."""
    _require(actor, Perm.PUBLICITY_EDIT)
    _require_area(actor, announcement)
    now = now or timezone.now()
    locked = _locked(announcement)
    if locked.status == Status.IN_REVIEW:
        return _sync(announcement, locked)
    if locked.status not in SUBMITTABLE:
        raise Conflict(_("Only a draft, a sent-back or a withdrawn announcement can be sent for review."))
    if not html_text(locked.body_html) and "<img" not in locked.body_html:
        raise DomainError(_("Write the text before sending it for review."), field="body_html")
    if locked.expires_at is not None and locked.expires_at <= now:
        raise DomainError(_("The expiry time has passed; set a later one first."), field="expires_at")
    locked.status = Status.IN_REVIEW
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="announcement.submit",
        obj=locked,
        org_code=locked.org_code,
        detail={"version": locked.version},
    )
    _event("announcement.submitted", locked)
    return _sync(announcement, locked)


def _wrote_it(actor: User, announcement: Announcement) -> bool:
    if announcement.created_by_id == actor.pk:
        return True
    return announcement.revisions.filter(edited_by=actor).exists()


def _go_public(announcement: Announcement, *, at: dt.datetime) -> bool:
    """Mark the first publication, once: True only for the call that set it (another process may race)."""
    first = Announcement.objects.filter(pk=announcement.pk, published_at__isnull=True).update(published_at=at)
    if not first:
        return False
    announcement.published_at = at
    _event(
        "announcement.published",
        announcement,
        push=announcement.push,
        audience=list(announcement.audience.values_list("code", flat=True)),
    )
    return True


@transaction.atomic
def announcement_approve(
    *,
    actor: User | None,
    announcement: Announcement,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Announcement:
    """Approve what waits for review: public at once when its publication time has come (or none was set),
    else at that time. ``version`` is the version the reviewer read; a newer one is refused. The reviewer may
    not have written or edited it (four eyes). Approving it again changes nothing."""
    _require(actor, Perm.PUBLICITY_REVIEW)
    _require_area(actor, announcement)
    now = now or timezone.now()
    locked = _locked(announcement)
    if version is not None and version != locked.version:
        raise Conflict(
            _("The announcement was changed after you opened it; read version %(n)d first.")
            % {"n": locked.version}
        )
    if locked.status == Status.APPROVED:
        return _sync(announcement, locked)
    if locked.status != Status.IN_REVIEW:
        raise Conflict(_("Only an announcement that waits for review can be approved."))
    if actor is not None and _wrote_it(actor, locked):
        raise Forbidden(_("Someone else must approve it: you wrote or edited this announcement."))
    if locked.expires_at is not None and locked.expires_at <= now:
        raise DomainError(_("The expiry time has passed; it would never be seen."), field="expires_at")
    locked.status = Status.APPROVED
    locked.reviewed_by = actor
    locked.reviewed_at = now
    locked.review_note = ""
    if locked.publish_at is None:
        locked.publish_at = now
    locked.save()
    scheduled = locked.publish_at > now
    audit_record(
        actor=actor,
        action="announcement.approve",
        obj=locked,
        org_code=locked.org_code,
        detail={
            "version": locked.version,
            "publish_at": locked.publish_at.isoformat(),
            "scheduled": scheduled,
        },
    )
    _event("announcement.approved", locked, public=not scheduled)
    if not scheduled:
        _go_public(locked, at=now)
    return _sync(announcement, locked)


@transaction.atomic
def announcement_send_back(
    *, actor: User | None, announcement: Announcement, note: str, now: dt.datetime | None = None
) -> Announcement:
    """Return it to its editor with a note saying what to change; the author finds the note in the inbox."""
    from epigrid.core.notices import notice_send

    _require(actor, Perm.PUBLICITY_REVIEW)
    _require_area(actor, announcement)
    note = " ".join((note or "").split())
    if not note:
        raise DomainError(_("Say what should change."), field="note")
    if len(note) > 500:
        raise DomainError(_("The note is longer than 500 characters."), field="note")
    locked = _locked(announcement)
    if locked.status != Status.IN_REVIEW:
        raise Conflict(_("Only an announcement that waits for review can be sent back."))
    locked.status = Status.REJECTED
    locked.review_note = note
    locked.reviewed_by = actor
    locked.reviewed_at = now or timezone.now()
    locked.save()
    audit_record(
        actor=actor,
        action="announcement.send_back",
        obj=locked,
        org_code=locked.org_code,
        detail={"note": note},
    )
    _event("announcement.sent_back", locked)
    if locked.created_by_id and locked.created_by_id != getattr(actor, "pk", None):
        # The system sends it: the reviewer's area need not cover the author's unit.
        notice_send(
            actor=None,
            users=[locked.created_by],
            kind="announcement_review",
            title=_("Sent back: %(title)s") % {"title": locked.title[:150]},
            body=note,
            url=f"/publicity/{locked.pk}/",
        )
    return _sync(announcement, locked)


@transaction.atomic
def announcement_withdraw(*, actor: User | None, announcement: Announcement, note: str = "") -> Announcement:
    """Take it off the public pages (or out of review) at once; editors and reviewers may."""
    _require(actor, Perm.PUBLICITY_EDIT, Perm.PUBLICITY_REVIEW)
    _require_area(actor, announcement)
    locked = _locked(announcement)
    if locked.status == Status.WITHDRAWN:
        return _sync(announcement, locked)
    if locked.status not in (Status.APPROVED, Status.IN_REVIEW):
        raise Conflict(_("Only an approved announcement or one in review can be withdrawn."))
    was_public = locked.status == Status.APPROVED
    locked.status = Status.WITHDRAWN
    locked.review_note = " ".join((note or "").split())[:500]
    locked.save(update_fields=["status", "review_note", "updated_at"])
    audit_record(
        actor=actor,
        action="announcement.withdraw",
        obj=locked,
        org_code=locked.org_code,
        detail={"note": locked.review_note, "was_approved": was_public},
    )
    if was_public:
        _event("announcement.unpublished", locked, reason="withdrawn")
    return _sync(announcement, locked)


def announcements_publish_due(*, now: dt.datetime | None = None) -> int:
    """The minute job: approved announcements whose publication time has come go public (``published_at``
    is their publication time, not the job's). Each in its own transaction; returns how many went public."""
    now = now or timezone.now()
    due = Announcement.objects.filter(
        status=Status.APPROVED, published_at__isnull=True, publish_at__lte=now
    ).values_list("pk", flat=True)
    made = 0
    for pk in list(due):
        with transaction.atomic():
            announcement = (
                Announcement.objects.select_for_update().filter(pk=pk, status=Status.APPROVED).first()
            )
            if announcement is None or not _go_public(announcement, at=announcement.publish_at):
                continue
            audit_record(
                actor=None,
                action="announcement.publish",
                obj=announcement,
                org_code=announcement.org_code,
                detail={"publish_at": announcement.publish_at.isoformat()},
            )
            made += 1
    return made


# --- attachments ------------------------------------------------------------------------------------------------


def _content_changed(announcement: Announcement, actor: User | None, what: str) -> None:
    """Attachments are part of what the reviewer approved: a change sends an approved one back to draft."""
    if announcement.status == Status.APPROVED:
        Announcement.objects.filter(pk=announcement.pk).update(status=Status.DRAFT, updated_at=timezone.now())
        announcement.status = Status.DRAFT
        audit_record(
            actor=actor,
            action="announcement.update",
            obj=announcement,
            org_code=announcement.org_code,
            detail={"fields": [what], "unpublished": True},
        )
        _event("announcement.unpublished", announcement, reason="edited")


@transaction.atomic
def attachment_add(
    *, actor: User | None, announcement: Announcement, name: str, data: bytes, image: bool = False
) -> Attachment:
    """Attach a file: an image (re-encoded as JPEG, to show in the text) or a PDF, Excel, Word or text
    document (recognised by its content, not its name). ``image`` True refuses anything but an image."""
    _require(actor, Perm.PUBLICITY_EDIT)
    _require_area(actor, announcement)
    checked = checked_file(name, data, image_only=image)
    locked = _locked(announcement)
    attachment = Attachment.objects.create(
        announcement=locked,
        name=checked.name,
        content_type=checked.content_type,
        size=len(checked.data),
        data=checked.data,
        is_image=checked.is_image,
        uploaded_by=actor,
    )
    audit_record(
        actor=actor,
        action="announcement.attach",
        obj=locked,
        org_code=locked.org_code,
        detail={"attachment": attachment.pk, "name": attachment.name, "size": attachment.size},
    )
    _content_changed(locked, actor, "attachments")
    _sync(announcement, locked)
    return attachment


@transaction.atomic
def attachment_remove(*, actor: User | None, attachment: Attachment) -> None:
    announcement = attachment.announcement
    _require(actor, Perm.PUBLICITY_EDIT)
    _require_area(actor, announcement)
    locked = _locked(announcement)
    audit_record(
        actor=actor,
        action="announcement.detach",
        obj=locked,
        org_code=locked.org_code,
        detail={"attachment": attachment.pk, "name": attachment.name},
    )
    attachment.delete()
    _content_changed(locked, actor, "attachments")
    _sync(announcement, locked)


# --- the push to residents --------------------------------------------------------------------------------------


def _audience_q(codes: list[str]) -> Q:
    if not codes:
        return Q()
    q = Q(pk__in=[])
    for code in codes:
        q |= prefix_q("person__org_code", code)
    return q


def announcement_push(*, announcement: Announcement, now: dt.datetime | None = None) -> int:
    """Put a notice of the announcement into the inbox of every resident account of its audience (the whole
    district when it has none), in batches, through the ``announcement`` template (its channels and the
    residents' opt-outs are the notification service's business); only when the editor asked for it and it
    is public right now. Accounts that already have this notice are skipped, so a repeated push sends
    nothing twice. Returns the number of notices sent."""
    from epigrid.core.models import Notice
    from epigrid.core.notices import notice_send_templated

    now = now or timezone.now()
    if not announcement.push or announcement.status != Status.APPROVED:
        return 0
    if announcement.publish_at is None or announcement.publish_at > now:
        return 0
    if announcement.expires_at is not None and announcement.expires_at <= now:
        return 0
    url = f"/announcements/{announcement.pk}/"
    codes = list(announcement.audience.values_list("code", flat=True))
    already = Notice.objects.filter(kind=NOTICE_KIND, url=url).values("user_id")
    residents = (
        User.objects.filter(is_active=True, role=Role.RESIDENT, person__isnull=False)
        .filter(_audience_q(codes))
        .exclude(pk__in=already)
        .order_by("pk")
    )
    # The ids first: the inbox rows written meanwhile must not shift a cursor still reading accounts.
    ids = list(residents.values_list("pk", flat=True))
    params = {
        "title": announcement.title,
        "summary": announcement.summary or html_text(announcement.body_html)[:200],
    }
    sent = 0
    for start in range(0, len(ids), PUSH_BATCH):
        users = User.objects.filter(pk__in=ids[start : start + PUSH_BATCH]).select_related("person")
        made = notice_send_templated(actor=None, users=users, kind=NOTICE_KIND, params=params, url=url)
        sent += len(made)
    return sent
