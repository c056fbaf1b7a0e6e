"""Reads of comparison, always through scope; out of scope and missing look the same (404).

One section per concern; each module of comparison adds its reads under its own header.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from epigrid.comparison.models import (
    ComparisonHit,
    ComparisonRule,
    ComparisonRun,
    ImportStatus,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
)
from epigrid.core.models import OrgUnit, User
from epigrid.core.scope import prefix_q, scoped

# --- list sources and imports ------------------------------------------------------------------------------
#
# An import belongs to the area of its source (the importer's). Its rows belong to the grid their address was
# found in, else to the import's area. Who sees what:
# - the staff of the import's area see the import and all its rows (they uploaded the list), wherever the
#   rows' addresses are;
# - other staff see an import when some of its rows lie in their area, and only those rows (a grid worker
#   sees the rows of their grid, with the counts of those rows).


def source_list(*, actor: User) -> QuerySet[ListSource]:
    return scoped(ListSource.objects.all(), actor).order_by("name", "pk")


def source_get(*, actor: User, pk: int) -> ListSource:
    source = source_list(actor=actor).filter(pk=pk).first()
    if source is None:
        raise Http404
    return source


def _own_imports(actor: User) -> QuerySet[ListImport]:
    return scoped(ListImport.objects.all(), actor)


def import_list(*, actor: User, source: ListSource | None = None, status: str = "") -> QuerySet[ListImport]:
    """Imports the actor may see (their area's, and those with rows in their area), newest first."""
    via_rows = scoped(ListRow.objects.all(), actor).values("list_import_id")
    qs = ListImport.objects.filter(Q(pk__in=_own_imports(actor).values("pk")) | Q(pk__in=via_rows))
    if source is not None:
        qs = qs.filter(source=source)
    if status in ImportStatus.values:
        qs = qs.filter(status=status)
    return qs.select_related("source", "uploaded_by").order_by("-uploaded_at", "-pk")


def import_get(*, actor: User, pk: int) -> ListImport:
    found = import_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def import_is_own(*, actor: User, list_import: ListImport) -> bool:
    """Whether the import belongs to the actor's area (all its rows are theirs to see)."""
    return _own_imports(actor).filter(pk=list_import.pk).exists()


def import_rows(*, actor: User, list_import: ListImport, status: str = "") -> QuerySet[ListRow]:
    """The rows of an import the actor may see, in file order; ``status`` narrows to one outcome."""
    qs = ListRow.objects.filter(list_import=list_import)
    if not import_is_own(actor=actor, list_import=list_import):
        qs = scoped(qs, actor)
    if status in RowStatus.values:
        qs = qs.filter(status=status)
    return qs.select_related("grid").order_by("row_number", "pk")


def import_status_counts(*, actor: User, list_import: ListImport) -> dict[str, int]:
    """Rows per status (every status present, zero when none) among the rows the actor may see."""
    counts = dict.fromkeys(RowStatus.values, 0)
    rows = import_rows(actor=actor, list_import=list_import).order_by()
    for status, n in rows.values_list("status").annotate(n=Count("pk")):
        counts[status] = n
    return counts


def row_get(*, actor: User, pk: int) -> ListRow:
    """One row the actor may see: in their area, or of an import of their area."""
    row = ListRow.objects.select_related("list_import", "list_import__source", "grid").filter(pk=pk).first()
    if row is None:
        raise Http404
    visible = import_is_own(actor=actor, list_import=row.list_import) or (
        scoped(ListRow.objects.filter(pk=pk), actor).exists()
    )
    if not visible:
        raise Http404
    return row


# --- linkage and review ------------------------------------------------------------------------------------
#
# The review queue holds the rows of the actor's area (the row's org code) that wait for a clerk: oldest list
# first, in file order. A row once reviewed stays readable there (its page shows the decision).


def review_rows(*, actor: User) -> QuerySet[ListRow]:
    """Rows in the actor's area waiting for review, oldest list first."""
    return (
        scoped(ListRow.objects.filter(status=RowStatus.REVIEW), actor)
        .select_related("list_import", "list_import__source", "grid")
        .order_by("list_import__uploaded_at", "list_import_id", "row_number", "pk")
    )


def review_counts(*, actor: User) -> list[dict]:
    """Rows waiting per list in the actor's area: [{"list_import", "file_name", "source", "waiting"}]."""
    per_list = (
        scoped(ListRow.objects.filter(status=RowStatus.REVIEW), actor)
        .values(
            "list_import", "list_import__file_name", "list_import__source__name", "list_import__uploaded_at"
        )
        .annotate(waiting=Count("pk"))
        .order_by("list_import__uploaded_at", "list_import")
    )
    return [
        {
            "list_import": row["list_import"],
            "file_name": row["list_import__file_name"],
            "source": row["list_import__source__name"],
            "uploaded_at": row["list_import__uploaded_at"],
            "waiting": row["waiting"],
        }
        for row in per_list
    ]


def review_row_get(*, actor: User, pk: int) -> ListRow:
    """A row of the actor's area that is or was in review (404 otherwise, and out of scope)."""
    row = (
        scoped(ListRow.objects.filter(pk=pk), actor)
        .filter(Q(status=RowStatus.REVIEW) | Q(reviewed_at__isnull=False))
        .select_related("list_import", "list_import__source", "grid", "person", "reviewed_by")
        .first()
    )
    if row is None:
        raise Http404
    return row


def review_next(*, actor: User, after: ListRow | None = None) -> ListRow | None:
    """The oldest row still waiting in the actor's area (other than ``after``)."""
    rows = review_rows(actor=actor)
    if after is not None:
        rows = rows.exclude(pk=after.pk)
    return rows.first()


# --- comparisons -------------------------------------------------------------------------------------------
#
# Rules, runs and hits belong to an area: a rule and its runs to their maker's, a hit to the person's arrival's.
# The columns a list shows are the masked ones: the encrypted document number, phone and address stay as they
# are stored.

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
