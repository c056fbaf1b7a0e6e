"""The notification service: messages to accounts (invitations, reminders, results of long jobs).

Every message lands in the recipient's **inbox** (a :class:`~epigrid.core.models.Notice` row, the page at
``/notices/`` and the unread badge in the header). The inbox is the record: whatever else carries a message,
the inbox always has it, so nothing is lost when an SMS gateway or a mail server is down.

Other channels are plug-ins. A channel is any object with a ``name`` and a ``deliver(notices)`` method; an app
registers it once in its ``AppConfig.ready()``::

    from epigrid.core import notices

    class SmsChannel:
        name = "sms"

        def deliver(self, sent: list[Notice]) -> None:
            enqueue_sms.enqueue(notice_ids=[n.pk for n in sent])  # a background task, never a network call here

    notices.register_channel(SmsChannel())

and a sender asks for it by name: ``notice_send(..., channels=["sms"])``. Channels run after the inbox rows
commit (never for a rolled-back send), each in turn, a failing channel logged and contained (the inbox and the
other channels keep the message). A channel must not block: it enqueues its own work (``django-tasks``) and
records its own delivery state, so that a retry is its own business. Asking for a channel nobody registered
is an error before anything is written.

Writes (``notice_send``, ``notice_mark_read``, ``notice_mark_all_read``) follow the services' rules:
keyword-only, actor first, atomic, audited. ``notice_send`` publishes one ``notice.sent`` event for the whole
batch, addressed to the recipients (``user_ids``): the live stream hands it only to those accounts, which
update their badge. Reads (``notices_for``, ``unread_count``, ``notice_get``) only ever show an account its
own inbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import Notice, User
from epigrid.core.roles import is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 5_000
SENT_EVENT = "notice.sent"


class Channel(Protocol):
    """A way of delivering notices besides the inbox (SMS, email, an app push...)."""

    name: str

    def deliver(self, notices: list[Notice]) -> None: ...


_channels: dict[str, Channel] = {}


def register_channel(channel: Channel) -> None:
    """Make ``channel`` available to senders under ``channel.name`` (re-registering replaces)."""
    _channels[channel.name] = channel


def unregister_channel(name: str) -> None:
    _channels.pop(name, None)


def channel_names() -> list[str]:
    return sorted(_channels)


def _deliver(channel: Channel, notices: list[Notice]) -> None:
    try:
        channel.deliver(notices)
    except Exception:
        logger.exception("notice channel %s failed for %d notices", channel.name, len(notices))


def _clean_url(url: str) -> str:
    """A link the inbox may show: a path on this site or an http(s) address, nothing else (no
    ``javascript:``, no ``//other.host`` that looks like a path)."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > 500:
        raise DomainError(_("The link is longer than 500 characters."), field="url")
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")) and len(url.split("//", 1)[1].split("/", 1)[0]) > 0:
        return url
    raise DomainError(_("A notice links to a page of this site or to an http(s) address."), field="url")


def _recipient_code(user: User) -> str:
    """The org code a notice to ``user`` carries: the account's unit, or a resident's own grid."""
    if user.org_unit_id:
        return user.org_code
    person = user.person if user.person_id else None
    return person.org_code if person is not None else ""


def notice_send(
    *,
    actor: User | None,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    channels: Iterable[str] = (),
) -> list[Notice]:
    """Put one message into the inbox of each of ``users`` (and hand it to ``channels`` after commit).

    ``actor`` None is the system. A person sending must be staff, and may write only to accounts inside their
    jurisdiction (the notification service is not a way around scope). The same account listed twice gets one
    notice; inactive accounts get none. Returns the notices made, in the order of ``users``."""
    kind = (kind or "").strip()
    title = (title or "").strip()
    if not kind or len(kind) > 40:
        raise DomainError(_("A notice needs a kind of at most 40 characters."), field="kind")
    if not title:
        raise DomainError(_("A notice needs a title."), field="title")
    if len(title) > 200:
        raise DomainError(_("The title is longer than 200 characters."), field="title")
    url = _clean_url(url)
    wanted = list(dict.fromkeys(channels))
    unknown = [name for name in wanted if name not in _channels]
    if unknown:
        raise DomainError(_("Unknown notice channel: %(names)s.") % {"names": ", ".join(unknown)})
    if actor is not None and not (actor.is_active and is_staff_role(actor.role)):
        raise Forbidden(_("Your role may not do this."))

    seen: set[int] = set()
    recipients: list[User] = []
    for user in users:
        if user.pk is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        recipients.append(user)
    if len(recipients) > MAX_RECIPIENTS:
        raise DomainError(_("At most %(n)d recipients at once.") % {"n": MAX_RECIPIENTS})
    if actor is not None:
        outside = [u.username for u in recipients if not in_scope_code(actor, _recipient_code(u))]
        if outside:
            raise Forbidden(
                _("These accounts are outside your jurisdiction: %(names)s.") % {"names": ", ".join(outside)}
            )
    if not recipients:
        return []

    now = timezone.now()
    made = [
        Notice(
            user=user,
            kind=kind,
            title=title,
            body=body or "",
            url=url,
            org_code=_recipient_code(user),
            created_at=now,
        )
        for user in recipients
    ]
    user_ids = [user.pk for user in recipients]
    with transaction.atomic():
        Notice.objects.bulk_create(made, batch_size=1000)
        audit_record(
            actor=actor,
            action="notice.send",
            org_code=actor.org_code if actor is not None and actor.org_code else district_code(),
            detail={"kind": kind, "count": len(made), "user_ids": user_ids[:200]},
        )
        events.publish(SENT_EVENT, payload={"user_ids": user_ids, "kind": kind}, org_code="")
        for name in wanted:
            channel = _channels[name]
            transaction.on_commit(lambda channel=channel: _deliver(channel, made))
    return made


def notice_mark_read(*, actor: User, notice: Notice) -> Notice:
    """Mark one notice read; only its recipient may. Reading it again changes nothing."""
    if actor is None or notice.user_id != actor.pk:
        raise Forbidden(_("Only the recipient marks a message read."))
    if notice.read_at is not None:
        return notice
    with transaction.atomic():
        notice.read_at = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
        audit_record(actor=actor, action="notice.read", obj=notice)
    return notice


def notice_mark_all_read(*, actor: User) -> int:
    """Mark every unread notice of the actor's inbox read; returns how many."""
    with transaction.atomic():
        count = Notice.objects.filter(user=actor, read_at__isnull=True).update(read_at=timezone.now())
        if count:
            audit_record(
                actor=actor,
                action="notice.read_all",
                org_code=_recipient_code(actor),
                detail={"count": count},
            )
    return count


# --- reads: an account's own inbox ------------------------------------------------------------------------


def notices_for(*, user: User, unread_only: bool = False) -> QuerySet[Notice]:
    """The inbox of ``user``, newest first (nothing for anonymous or inactive accounts)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Notice.objects.none()
    qs = Notice.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    """How many notices ``user`` has not read: one COUNT over the (user, read_at) index."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def notice_get(*, user: User, pk: int) -> Notice:
    """One notice of the user's own inbox; anyone else's answers 404 like a missing one."""
    notice = notices_for(user=user).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return notice
