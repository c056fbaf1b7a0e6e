"""Reads of comparison rules, runs and hits, scoped (out of scope answers 404 like missing).

(Kept apart from ``comparison.selectors`` only because that module did not exist yet when these were written.)
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.http import Http404

from epigrid.comparison.models import ComparisonHit, ComparisonRule, ComparisonRun
from epigrid.core.models import OrgUnit, User
from epigrid.core.scope import prefix_q, scoped

# --- comparisons

# The columns a list shows: the encrypted document number, phone and address stay undecrypted.
_PERSON_SECRETS = ("person__id_number", "person__phone", "person__address")


def rule_list(*, actor: User) -> QuerySet[ComparisonRule]:
    """The rules of the actor's area, each with its last run's id, hits and tasks made (None: never run)."""
    last = ComparisonRun.objects.filter(rule=OuterRef("pk")).order_by("-started_at", "-pk")
    return (
        scoped(ComparisonRule.objects.all(), actor)
        .annotate(
            last_run_id=Subquery(last.values("pk")[:1], output_field=IntegerField()),
            last_hits=Subquery(last.values("hits")[:1], output_field=IntegerField()),
            last_tasks=Subquery(last.values("tasks_created")[:1], output_field=IntegerField()),
            run_count=Count("runs"),
        )
        .order_by("name", "pk")
    )


def rule_get(*, actor: User, pk: int) -> ComparisonRule:
    rule = scoped(ComparisonRule.objects.all(), actor).filter(pk=pk).first()
    if rule is None:
        raise Http404
    return rule


def run_list(*, actor: User, rule: ComparisonRule) -> QuerySet[ComparisonRun]:
    return scoped(ComparisonRun.objects.filter(rule=rule), actor).select_related("run_by")


def run_get(*, actor: User, pk: int) -> ComparisonRun:
    run = scoped(ComparisonRun.objects.select_related("rule", "run_by"), actor).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def hit_list(*, actor: User, run: ComparisonRun, within: str = "") -> QuerySet[ComparisonHit]:
    """A run's action list in the actor's scope (under the unit ``within`` when given), with the person's
    masked columns, grid and arrival."""
    hits = scoped(ComparisonHit.objects.filter(run=run), actor)
    if within:
        hits = hits.filter(prefix_q("org_code", within))
    return (
        hits.select_related("person", "person__grid", "arrival")
        .defer(*_PERSON_SECRETS)
        .order_by("org_code", "pk")
    )


def hit_grids(*, actor: User, run: ComparisonRun) -> list[tuple[OrgUnit | None, str, int]]:
    """The grids of a run's hits in the actor's scope, with how many people each: (grid or None, code, n)."""
    counts = (
        scoped(ComparisonHit.objects.filter(run=run), actor)
        .values("org_code")
        .annotate(n=Count("pk"))
        .order_by("org_code")
    )
    rows = list(counts.values_list("org_code", "n"))
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[code for code, _n in rows])}
    return [(units.get(code), code, n) for code, n in rows]
