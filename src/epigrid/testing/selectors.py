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
