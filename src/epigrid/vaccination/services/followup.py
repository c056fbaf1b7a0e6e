"""Follow-up of people overdue for a dose: one grid task per person, made in one click from the list."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.models import User
from epigrid.grids.models import TaskType
from epigrid.grids.services import TaskSpec, tasks_create_many
from epigrid.vaccination.models import DueKind, VaccinationStatus

TASK_DUE = dt.timedelta(days=3)


def overdue_tasks_create(*, actor: User | None, statuses: list[VaccinationStatus]) -> int:
    """A grid task "follow up an overdue vaccination" for each overdue person in ``statuses`` (what the
    overdue list shows), routed to the person's grid. A person already followed up for the same due date
    gets no second task. Returns how many tasks are new. Needs task.dispatch or grid.manage."""
    now = timezone.now()
    specs = [
        TaskSpec(
            type=TaskType.VACCINATION_FOLLOWUP,
            title=(
                _("Booster due since %(day)s: remind and help to book")
                if status.next_due_kind == DueKind.BOOSTER
                else _("Next dose overdue since %(day)s: remind and help to book")
            )
            % {"day": status.next_due_on},
            dedupe_key=f"vaccination-overdue:{status.person_id}:{status.disease_id}:{status.next_due_on}",
            person_id=status.person_id,
            due_at=now + TASK_DUE,
            params={"disease_id": status.disease_id, "doses": status.doses, "due_kind": status.next_due_kind},
            source="vaccination",
            source_ref=str(status.person_id),
        )
        for status in statuses
    ]
    return tasks_create_many(actor=actor, specs=specs) if specs else 0
