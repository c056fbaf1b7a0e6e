"""Delivery on tracked channels (SMS, email): the background sending, retries, and the monitor's reads.

``core.notices`` records a queued :class:`~epigrid.core.models.NoticeDelivery` per notice and channel in the
send's transaction; after commit the channel (a :class:`TrackedChannel`) enqueues
:func:`notice_deliveries_send` with ``[delivery id, attempts seen]`` pairs. The task *claims* each delivery
with a compare-and-set on ``attempts`` (``UPDATE … SET attempts = attempts + 1 WHERE attempts = seen``), so a
delivery enqueued twice — by the periodic retry while the first task still waits in the queue, or by two
workers — is sent once. It then asks the channel to send and records ``sent`` with the gateway's reference, or
``failed`` with the error. Nothing here raises into a sender: every failure is a recorded state.

A failed delivery is tried again by the periodic job (every minute) after a backoff of 1, 5 and 25 minutes:
four attempts in all, then it stays failed, where the monitor sees it and may send it again by hand. A queued
delivery that no task took within 15 minutes (its enqueueing was lost with a process) is enqueued again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django_tasks import task

from epigrid.core import notice_templates, notices
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, Forbidden
from epigrid.core.models import DeliveryStatus, Notice, NoticeDelivery, User
from epigrid.core.periodic import register_periodic
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code, scoped

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # the first try and three retries
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=25))
STALE_QUEUED = dt.timedelta(minutes=15)
RETRY_BATCH = 2_000
ENQUEUE_CHUNK = 200


class DeliveryError(Exception):
    """The channel could not carry this notice; the message is recorded on the delivery."""


class TrackedChannel:
    """Base of the channels whose deliveries are recorded. Subclasses give ``name``, ``label``,
    ``addresses`` (masked, from what is stored masked — no decryption at send time) and ``send`` (reads the
    real address, hands the message over, returns the provider's reference or raises)."""

    name: str = ""
    label: Promise | str = ""

    def addresses(self, users: list[User]) -> dict[int, str]:
        raise NotImplementedError

    def send(self, delivery: NoticeDelivery) -> str:
        raise NotImplementedError

    def deliver(self, sent: list[Notice]) -> None:
        """After commit: enqueue the sending of this channel's queued deliveries of ``sent``."""
        items = list(
            NoticeDelivery.objects.filter(
                notice_id__in=[n.pk for n in sent], channel=self.name, status=DeliveryStatus.QUEUED
            )
            .order_by("pk")
            .values_list("pk", "attempts")
        )
        enqueue(items)


def enqueue(items: list[tuple[int, int]]) -> None:
    for start in range(0, len(items), ENQUEUE_CHUNK):
        chunk = [[pk, attempts] for pk, attempts in items[start : start + ENQUEUE_CHUNK]]
        notice_deliveries_send.enqueue(items=chunk)


@task()
def notice_deliveries_send(items: list[list[int]]) -> dict[str, int]:
    """Send the given deliveries (``[id, attempts seen]`` pairs); returns how many were sent, failed, or
    already taken by another run."""
    return deliveries_send(items)


def deliveries_send(items: list[list[int]]) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0, "taken": 0}
    for pk, seen in items:
        try:
            counts[_send_one(int(pk), int(seen))] += 1
        except Exception:  # a bug here must not stop the other deliveries of the batch
            logger.exception("notice delivery %s could not be processed", pk)
            counts["failed"] += 1
    return counts


def _send_one(pk: int, seen: int) -> str:
    claimed = NoticeDelivery.objects.filter(
        pk=pk, attempts=seen, status__in=(DeliveryStatus.QUEUED, DeliveryStatus.FAILED)
    ).update(attempts=F("attempts") + 1, status=DeliveryStatus.QUEUED, updated_at=timezone.now())
    if not claimed:
        return "taken"
    delivery = NoticeDelivery.objects.select_related("notice__user").get(pk=pk)
    channel = notices.get_channel(delivery.channel)
    try:
        if not isinstance(channel, TrackedChannel):
            raise DeliveryError(f"channel {delivery.channel!r} is not available")
        ref = channel.send(delivery)
    except Exception as err:  # a gateway's error, a timeout, a missing address: all become the state
        message = (str(err) or type(err).__name__)[:300]
        NoticeDelivery.objects.filter(pk=pk).update(
            status=DeliveryStatus.FAILED, last_error=message, updated_at=timezone.now()
        )
        level = logging.WARNING if delivery.attempts + 1 >= MAX_ATTEMPTS else logging.INFO
        logger.log(level, "notice delivery %s (%s) failed: %s", pk, delivery.channel, message)
        return "failed"
    NoticeDelivery.objects.filter(pk=pk).update(
        status=DeliveryStatus.SENT,
        provider_ref=str(ref or "")[:100],
        last_error="",
        updated_at=timezone.now(),
    )
    return "sent"


# --- retries --------------------------------------------------------------------------------------------------


def deliveries_retry_due(*, now: dt.datetime | None = None) -> int:
    """Enqueue the failed deliveries whose backoff has passed (fewer than :data:`MAX_ATTEMPTS` tries) and the
    queued ones nobody took; returns how many."""
    now = now or timezone.now()
    names = [channel.name for channel in notices.tracked_channels()]
    backoff = Q()
    for attempts in range(1, MAX_ATTEMPTS):
        backoff |= Q(attempts=attempts, updated_at__lte=now - BACKOFF[min(attempts, len(BACKOFF)) - 1])
    due = (
        NoticeDelivery.objects.filter(channel__in=names)
        .filter(
            (Q(status=DeliveryStatus.FAILED) & backoff)
            | Q(status=DeliveryStatus.QUEUED, updated_at__lte=now - STALE_QUEUED)
        )
        .order_by("updated_at", "pk")
        .values_list("pk", "attempts")[:RETRY_BATCH]
    )
    items = list(due)
    enqueue(items)
    return len(items)


@task()
def notice_deliveries_retry() -> int:
    return deliveries_retry_due()


register_periodic("notice_deliveries_retry", notice_deliveries_retry, every=dt.timedelta(minutes=1))


def notice_delivery_retry(*, actor: User, delivery: NoticeDelivery) -> NoticeDelivery:
    """Send a failed delivery again now (the monitor's button), whatever its attempts so far."""
    if not has_perm(actor, Perm.NOTICE_MONITOR):
        raise Forbidden(_("Your role may not do this."))
    if not in_scope_code(actor, delivery.org_code):
        raise Forbidden(_("This delivery is outside your jurisdiction."))
    with transaction.atomic():
        now = timezone.now()
        changed = NoticeDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.QUEUED, updated_at=now
        )
        if not changed:
            raise Conflict(_("Only a delivery that failed can be sent again."))
        delivery.refresh_from_db()
        audit_record(
            actor=actor,
            action="notice.delivery_retry",
            obj=delivery,
            org_code=delivery.org_code,
            detail={"channel": delivery.channel, "attempts": delivery.attempts},
        )
        item = (delivery.pk, delivery.attempts)
        transaction.on_commit(lambda: enqueue([item]))
    return delivery


# --- the monitor's reads ----------------------------------------------------------------------------------------


def deliveries_in_scope(*, actor: User) -> QuerySet[NoticeDelivery]:
    if not has_perm(actor, Perm.NOTICE_MONITOR):
        return NoticeDelivery.objects.none()
    return scoped(NoticeDelivery.objects.all(), actor)


def deliveries_list(
    *,
    actor: User,
    status: str = "",
    channel: str = "",
    kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[NoticeDelivery]:
    """Deliveries in the actor's scope, newest first, filtered (dates are local days of the sending)."""
    qs = _filtered(deliveries_in_scope(actor=actor), channel, kind, date_from, date_to)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("notice").order_by("-created_at", "-pk")


def deliveries_counts(
    *,
    actor: User,
    channel: str = "",
    kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, int]:
    """How many deliveries are in each state under the same filters (one grouped query)."""
    qs = _filtered(deliveries_in_scope(actor=actor), channel, kind, date_from, date_to)
    counts = {value: 0 for value in DeliveryStatus.values}
    for row in qs.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def _filtered(
    qs: QuerySet[NoticeDelivery],
    channel: str,
    kind: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> QuerySet[NoticeDelivery]:
    tz = timezone.get_current_timezone()
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        template = notice_templates.get(kind)
        # Older senders' names of a kind (aliases) count as the kind.
        qs = qs.filter(notice__kind__in=[kind, *(template.aliases if template else ())])
    if date_from:
        qs = qs.filter(created_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(
            created_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return qs


def delivery_get(*, actor: User, pk: int) -> NoticeDelivery:
    """One delivery in the actor's scope; outside it answers 404 like a missing one."""
    delivery = deliveries_in_scope(actor=actor).select_related("notice").filter(pk=pk).first()
    if delivery is None:
        raise Http404
    return delivery
