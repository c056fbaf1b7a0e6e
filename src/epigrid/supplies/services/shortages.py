"""The hourly shortage check: each point and item that newly falls short is announced once.

A shortage episode starts when a reorder rule's point drops below its minimum level or its days of cover
(``selectors.alerts``) and ends when it no longer is; ``ReorderRule.short_since`` remembers the running
episode, so the check announces the start (a ``supplies.shortage`` event and an inbox notice to the supplies
officers whose area covers the point) and stays quiet until the point has recovered and falls short again.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events, notices
from epigrid.core.audit import audit_record
from epigrid.core.models import User
from epigrid.core.roles import Role
from epigrid.supplies import selectors
from epigrid.supplies.models import HoldingPoint, ReorderRule


def _officers(point: HoldingPoint) -> list[User]:
    prefixes = [point.org_code[:n] for n in range(1, len(point.org_code) + 1)]
    return list(
        User.objects.filter(role=Role.SUPPLIES_OFFICER, is_active=True, org_unit__code__in=prefixes).order_by(
            "pk"
        )
    )


def shortages_announce(*, now: dt.datetime | None = None) -> int:
    """Announce the shortages that began since the last check; end the episodes that are over. Returns
    how many were announced."""
    now = now or timezone.now()
    short = {(a.point.pk, a.item.pk): a for a in selectors.alerts(actor=None, now=now) if a.is_shortage}
    announced = 0
    with transaction.atomic():
        rules = list(ReorderRule.objects.select_for_update().select_related("point", "item"))
        ended = [r.pk for r in rules if r.short_since is not None and (r.point_id, r.item_id) not in short]
        if ended:
            ReorderRule.objects.filter(pk__in=ended).update(short_since=None)
        for rule in rules:
            alert = short.get((rule.point_id, rule.item_id))
            if alert is None or rule.short_since is not None:
                continue
            ReorderRule.objects.filter(pk=rule.pk).update(short_since=now)
            events.publish(
                "supplies.shortage",
                payload={
                    "point_id": rule.point_id,
                    "item_id": rule.item_id,
                    "reason": alert.kind,
                    "on_hand": alert.on_hand,
                    "min_quantity": rule.min_quantity,
                    "min_cover_days": rule.min_cover_days,
                    "cover_days": None if alert.cover_days is None else round(alert.cover_days, 1),
                },
                org_code=rule.org_code,
            )
            title = _("%(item)s is short at %(point)s: %(on_hand)d %(unit)s on hand") % {
                "item": rule.item.name,
                "point": rule.point.name,
                "on_hand": alert.on_hand,
                "unit": rule.item.unit,
            }
            notices.notice_send(
                actor=None,
                users=_officers(rule.point),
                kind="supplies.shortage",
                title=title,
                url=reverse("supplies:point", args=[rule.point_id]),
            )
            announced += 1
        if announced or ended:
            audit_record(
                actor=None,
                action="supplies.shortage_check",
                detail={"announced": announced, "ended": len(ended)},
            )
    return announced
