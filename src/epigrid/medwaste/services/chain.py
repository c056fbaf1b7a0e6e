"""What every step of the chain shares: the stage order, the refusal messages of a wrong step, weights,
and writing one custody record while keeping the bag's ``stage``/``stage_at``/``holder``/``trip`` equal to its
last record (the one of the highest stage: a gap filled later by an offline replay does not move the bag back).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from epigrid.core.errors import Conflict, DomainError
from epigrid.core.models import User
from epigrid.medwaste.models import STAGE_ORDER, Anomaly, Bag, CustodyRecord, Handover, Party, Stage, Trip

MAX_WEIGHT_G = 50_000  # a bag or box heavier than 50 kg is a typing error, not waste
# Where a bag is, and what happens to it at a stage, for the messages of a refused step.
STATE = {
    Stage.LABELLED: gettext_lazy("labelled at the producer"),
    Stage.STORED: gettext_lazy("in temporary storage"),
    Stage.COLLECTED: gettext_lazy("on a collection vehicle"),
    Stage.DELIVERED: gettext_lazy("at the disposal plant"),
    Stage.INCINERATED: gettext_lazy("incinerated"),
}
DONE = {
    Stage.STORED: gettext_lazy("stored"),
    Stage.COLLECTED: gettext_lazy("collected"),
    Stage.DELIVERED: gettext_lazy("delivered"),
    Stage.INCINERATED: gettext_lazy("incinerated"),
}


def index(stage: str) -> int:
    return STAGE_ORDER.index(stage)


def previous(stage: str) -> str:
    return STAGE_ORDER[index(stage) - 1]


def following(stage: str) -> str | None:
    i = index(stage) + 1
    return STAGE_ORDER[i] if i < len(STAGE_ORDER) else None


def check_weight(weight_g: int | None, *, code: str = "") -> int:
    if weight_g is None or isinstance(weight_g, bool) or not isinstance(weight_g, int) or weight_g <= 0:
        raise DomainError(_("Enter the weight: more than 0 g."), field="weight_g")
    if weight_g > MAX_WEIGHT_G:
        message = _("%(weight)s kg is not plausible for one bag or box (at most %(max)s kg); weigh it again.")
        if code:
            message = _("Bag %(code)s: ") % {"code": code} + message
        raise DomainError(
            message % {"weight": f"{weight_g / 1000:g}", "max": MAX_WEIGHT_G // 1000}, field="weight_g"
        )
    return weight_g


def refuse_step(bag: Bag, stage: str) -> None:
    """A live step must follow the bag's current stage; say precisely why it does not."""
    if bag.stage == previous(stage):
        return
    if index(bag.stage) >= index(stage):
        raise Conflict(
            _("Bag %(code)s is already %(state)s; it cannot be %(done)s again.")
            % {"code": bag.code, "state": STATE[bag.stage], "done": DONE[stage]}
        )
    raise DomainError(
        _("Bag %(code)s is %(state)s; it must be %(next)s before it is %(done)s.")
        % {
            "code": bag.code,
            "state": STATE[bag.stage],
            "next": DONE[following(bag.stage)],
            "done": DONE[stage],
        }
    )


def refuse_holder(bag: Bag, party: Party) -> None:
    if bag.holder_id != party.pk:
        raise DomainError(
            _("Bag %(code)s is held by %(holder)s, not by %(party)s.")
            % {"code": bag.code, "holder": bag.holder.name, "party": party.name}
        )


def anomaly_for(bag: Bag, stage: str, at: dt.datetime) -> str:
    """For a step that is stored whatever it finds (an offline replay): a skipped stage, else a time earlier
    than the bag's record before it."""
    earlier = list(
        CustodyRecord.objects.filter(bag=bag, stage__in=STAGE_ORDER[: index(stage)]).values_list(
            "stage", "at"
        )
    )
    recorded = {s for s, _at in earlier}
    if previous(stage) not in recorded:
        return Anomaly.MISSING_STEP
    if earlier and at < max(a for _s, a in earlier):
        return Anomaly.OUT_OF_ORDER
    return Anomaly.NONE


def write_record(
    *,
    bag: Bag,
    stage: str,
    at: dt.datetime,
    weight_g: int,
    from_party: Party | None,
    to_party: Party,
    recorded_by: User | None,
    given_by: str = "",
    taken_by: str = "",
    handover: Handover | None = None,
    trip: Trip | None = None,
    anomaly: str = "",
) -> CustodyRecord:
    """One step of ``bag`` (locked by the caller). The bag follows when the step is its furthest."""
    record = CustodyRecord.objects.create(
        bag=bag,
        stage=stage,
        at=at,
        weight_g=weight_g,
        from_party=from_party,
        to_party=to_party,
        handover=handover,
        trip=trip,
        given_by=given_by[:60],
        taken_by=taken_by[:60],
        recorded_by=recorded_by if recorded_by is not None and recorded_by.pk else None,
        recorded_at=timezone.now(),
        anomaly=anomaly,
        org_code=bag.org_code,
    )
    if index(stage) > index(bag.stage) or stage == Stage.LABELLED:
        bag.stage, bag.stage_at, bag.holder = stage, at, to_party
        if trip is not None:
            bag.trip = trip
        bag.save(update_fields=["stage", "stage_at", "holder", "trip"])
    return record


def when(value: dt.datetime | None) -> dt.datetime:
    """A step's time: now, or the time the phone says it happened (aware; not in the future)."""
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise DomainError(_("Give the time with its time zone."), field="happened_at")
    if value > now + dt.timedelta(minutes=5):
        raise DomainError(_("The time of the step lies in the future."), field="happened_at")
    return value
