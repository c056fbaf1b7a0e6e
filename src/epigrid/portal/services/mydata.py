"""The "my data" download: a person's own export, rate-limited and audited as a self-export."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.audit import audit_record
from epigrid.core.errors import Forbidden
from epigrid.core.models import AuditEntry, User
from epigrid.core.roles import is_staff_role
from epigrid.core.selectors import general_rule
from epigrid.portal import mydata, selectors
from epigrid.portal.services.login import TooManyRequests

ACTION = "person.self_export"
DEFAULT_PER_HOUR = 5


def my_data_export(*, actor: User, now: dt.datetime | None = None) -> bytes:
    """The ZIP of everything held about the actor's person. At most ``portal_data_exports_per_hour``
    (default 5) per account an hour, counted from the audit log; each export is audited with the full
    values it holds (ID number, phone) named, like a reveal."""
    if is_staff_role(actor.role):
        raise Forbidden(_("Only residents download their own data here."))
    now = now or timezone.now()
    person = selectors.own_person(actor=actor)
    per_hour = int(general_rule("portal_data_exports_per_hour", DEFAULT_PER_HOUR))
    recent = list(
        AuditEntry.objects.filter(action=ACTION, actor=actor, at__gt=now - dt.timedelta(hours=1))
        .order_by("-at")
        .values_list("at", flat=True)[:per_hour]
    )
    if len(recent) >= per_hour:
        until = recent[-1] + dt.timedelta(hours=1)
        raise TooManyRequests(
            _("You downloaded your data %(n)d times in the last hour. You can download it again at %(time)s.")
            % {"n": per_hour, "time": timezone.localtime(until).strftime("%H:%M")},
            until=until,
        )
    content = mydata.build_zip(actor=actor, now=now)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=ACTION,
            obj=person,
            revealed_fields=["id_number", "phone"],
            detail={"bytes": len(content)},
        )
    return content
