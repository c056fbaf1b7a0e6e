"""Reads of testing, scoped: tubes by the sampling area, specimens and recalls by the person's area."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.testing.models import Recall, Specimen, Tube, TubeResult


def tube_by_barcode(*, actor: User, barcode: str) -> Tube:
    """Samplers and the lab work district-wide on tubes; others see the tubes of their area."""
    if has_perm(actor, Perm.TESTING_SAMPLE) or has_perm(actor, Perm.TESTING_LAB):
        tube = Tube.objects.filter(barcode=barcode).first()
    else:
        tube = (
            scoped(Tube.objects.filter(barcode=barcode), actor).first()
            if has_perm(actor, Perm.TESTING_VIEW)
            else None
        )
    if tube is None:
        raise Http404
    return tube


def pending_results(*, actor: User) -> QuerySet[Tube]:
    """Results awaiting a second lab user's confirmation (dual confirmation), oldest first.

    The lab works district-wide; others see the pending tubes of their area if they may see tubes at all."""
    qs = Tube.objects.exclude(pending_result="").select_related("pending_by").order_by("pending_at", "pk")
    if has_perm(actor, Perm.TESTING_LAB):
        return qs
    return scoped(qs, actor) if has_perm(actor, Perm.TESTING_VIEW) else qs.none()


def box_list(*, actor: User) -> QuerySet:
    """Boxes in scope, newest first (the sampler's handover list; the lab sees every box)."""
    from epigrid.testing.models import Box

    qs = Box.objects.select_related("packed_by", "received_by").order_by("-packed_at", "-pk")
    return qs if has_perm(actor, Perm.TESTING_LAB) else scoped(qs, actor)


def box_by_code(*, actor: User, code: str):
    """The lab receives boxes from anywhere in the district; others see the boxes of their area."""
    from epigrid.testing.models import Box

    qs = Box.objects.filter(code=code.strip())
    if not has_perm(actor, Perm.TESTING_LAB):
        qs = scoped(qs, actor)
    return qs.first()


@dataclass(frozen=True)
class PersonResult:
    sampled_at: object
    result: str  # negative | positive | pending | recall
    tube_result: str
    pool_size: int
    tube: str
    recall_due_at: object | None


def person_results(*, person_id: int) -> list[PersonResult]:
    """A person's test history, newest first, with what each tube's result means for them."""
    specimens = (
        Specimen.objects.filter(person_id=person_id).select_related("tube").order_by("-sampled_at", "-pk")
    )
    recalls = {r.tube_id: r for r in Recall.objects.filter(person_id=person_id)}
    rows = []
    for specimen in specimens:
        tube = specimen.tube
        recall = recalls.get(tube.pk)
        if not tube.result:
            meaning = "pending"
        elif tube.result == TubeResult.NEGATIVE:
            meaning = "negative"
        elif tube.pool_size == 1 and tube.result == TubeResult.POSITIVE:
            meaning = "positive"
        else:
            meaning = "recall"
        rows.append(
            PersonResult(
                specimen.sampled_at,
                meaning,
                tube.result,
                tube.pool_size,
                tube.barcode,
                recall.due_at if recall and recall.resolved_at is None else None,
            )
        )
    return rows


def recall_list(*, actor: User, open_only: bool = True) -> QuerySet[Recall]:
    qs = scoped(Recall.objects.select_related("person", "tube"), actor)
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("due_at")


def recent_positivity(*, days: int = 7) -> tuple[float, int]:
    """Estimated per-person positivity from recent tube results, and how many persons it rests on.

    A pool of k with rate r of positive tubes implies p = 1 - (1 - r)^(1/k); pool sizes are weighted by the
    persons they hold."""
    import datetime as dt

    from django.db.models import Count, Q
    from django.utils import timezone

    since = timezone.now() - dt.timedelta(days=days)
    stats = (
        Tube.objects.filter(resulted_at__gte=since, result__in=[TubeResult.NEGATIVE, TubeResult.POSITIVE])
        .values("pool_size")
        .annotate(n=Count("id"), x=Count("id", filter=Q(result=TubeResult.POSITIVE)))
    )
    weighted, persons = 0.0, 0
    for row in stats:
        k, n, x = row["pool_size"], row["n"], row["x"]
        rate = x / n
        p = 1 - (1 - rate) ** (1 / k) if rate < 1 else 1.0
        weighted += p * n * k
        persons += n * k
    return (weighted / persons if persons else 0.0), persons


def dorfman_tests_per_person(p: float, k: int) -> float:
    """Expected tests per person with pools of k (Dorfman): 1/k + 1 - (1-p)^k; a single tube is 1."""
    return 1.0 if k == 1 else 1 / k + 1 - (1 - p) ** k


def recommend_pool_size(p: float) -> int:
    """The allowed pool size with the fewest expected tests per person at positivity ``p``."""
    from epigrid.testing.models import POOL_SIZES

    return min(POOL_SIZES, key=lambda k: (dorfman_tests_per_person(p, k), -k))


def round_coverage(*, actor: User, testing_round) -> dict:
    """Sampled and not yet sampled residents of a round's area on its day (scoped), with turnaround times."""
    from epigrid.core.models import Person

    people = scoped(Person.objects.filter(org_code__startswith=testing_round.org_code), actor)
    day_specimens = Specimen.objects.filter(
        person__in=people, sampled_at__date=testing_round.day
    ).select_related("tube")
    sampled_ids = set(day_specimens.values_list("person_id", flat=True))
    turnaround = sorted(
        (s.tube.resulted_at - s.sampled_at).total_seconds() / 3600
        for s in day_specimens
        if s.tube.resulted_at
    )
    pick = (
        (lambda q: turnaround[min(len(turnaround) - 1, int(q * (len(turnaround) - 1)))])
        if turnaround
        else (lambda q: None)
    )
    return {
        "target": people.count(),
        "sampled": len(sampled_ids),
        "not_sampled": people.exclude(pk__in=sampled_ids).order_by("org_code", "name"),
        "turnaround_hours_p50": pick(0.5),
        "turnaround_hours_p90": pick(0.9),
    }
