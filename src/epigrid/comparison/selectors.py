"""Reads of comparison, always through scope; out of scope and missing look the same (404).

One section per concern; each module of comparison adds its reads under its own header.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.comparison.models import (
    Arrival,
    ArrivalSource,
    ComparisonHit,
    ComparisonRule,
    ComparisonRun,
    ImportStatus,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
)
from epigrid.comparison.services.archive import RISKY, default_disease, test_within_hours, travel_mode_label
from epigrid.core import selectors as core_selectors
from epigrid.core.models import DiseaseProfile, OrgUnit, Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import prefix_q, scoped
from epigrid.grids.models import OPEN_STATES, Task, TaskState, TaskType
from epigrid.healthcode.models import Colour, PersonFacts, RiskLevel
from epigrid.testing.models import Specimen
from epigrid.vaccination.models import VaccinationStatus

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


# --- archive and dossier ------------------------------------------------------------------------------------
# The archive is shown per person: their arrivals in the filter, the risk level of each, the health code's
# arrival fact, and the status of the actions each arrival requires — a test since arriving and a grid
# screening for arrivals from a medium- or high-risk area, a full vaccination series for everyone. These are
# the same tests as the comparison rules' (``services.comparisons``): a specimen sampled at or after the
# arrival, a ``screen_arrival`` task finished at or after it, a complete series of the default disease.
#
# The dossier joins every archive about one person, each section read through its own app's selectors with
# the viewer as actor; a section whose permission the viewer lacks is marked as not available to them.

LEVEL_NONE = "none"  # the filter value for arrivals from places that were no risk area
TEST_LABELS = {
    "negative": _("Negative"),
    "positive": _("Positive"),
    "recall": _("Pool positive: re-test"),
    "pending": _("Result pending"),
}


@dataclass
class ArrivalFilters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    origin: str = ""  # words of the place, or a region code (a prefix: 31 = Shanghai)
    level: str = ""  # high | medium | none
    source: str = ""
    grid: str = ""  # an org unit code in scope
    outstanding: bool = False


def _disease_id() -> int | None:
    return DiseaseProfile.objects.filter(code=default_disease()).values_list("pk", flat=True).first()


def _tested() -> QuerySet:
    return Specimen.objects.filter(person_id=OuterRef("person_id"), sampled_at__gte=OuterRef("arrived_at"))


def _screened() -> QuerySet:
    return Task.objects.filter(
        type=TaskType.SCREEN_ARRIVAL,
        state=TaskState.DONE,
        subject_person_id=OuterRef("person_id"),
        finished_at__gte=OuterRef("arrived_at"),
    )


def _vaccinated(disease_id: int | None) -> QuerySet:
    return VaccinationStatus.objects.filter(
        person_id=OuterRef("person_id"), disease_id=disease_id, series_complete=True
    )


def _outstanding_q(disease_id: int | None) -> Q:
    risky = Q(risk_level__in=RISKY)
    return (risky & (~Exists(_tested()) | ~Exists(_screened()))) | ~Exists(_vaccinated(disease_id))


def _origin_q(origin: str) -> Q:
    origin = origin.strip()
    if origin.isdigit() and 2 <= len(origin) <= 6:
        while origin.endswith("00") and len(origin) > 2:
            origin = origin[:-2]
        return Q(origin_region_code__startswith=origin)
    return Q(origin__icontains=origin) | Q(origin_region_code=origin)


def arrivals_in_scope(*, actor: User, filters: ArrivalFilters | None = None) -> QuerySet[Arrival]:
    """The arrivals the actor may see (``comparison.view``, by the person's area), filtered."""
    if not has_perm(actor, Perm.COMPARISON_VIEW):
        return Arrival.objects.none()
    qs = scoped(Arrival.objects.all(), actor)
    f = filters or ArrivalFilters()
    if f.date_from:
        qs = qs.filter(arrived_on__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(arrived_on__lte=f.date_to)
    if f.origin.strip():
        qs = qs.filter(_origin_q(f.origin))
    if f.level == LEVEL_NONE:
        qs = qs.exclude(risk_level__in=RISKY)
    elif f.level in RISKY:
        qs = qs.filter(risk_level=f.level)
    if f.source in ArrivalSource.values:
        qs = qs.filter(source=f.source)
    if f.grid:
        qs = qs.filter(prefix_q("org_code", f.grid))
    if f.outstanding:
        qs = qs.filter(_outstanding_q(_disease_id()))
    return qs


def arrival_people(*, actor: User, filters: ArrivalFilters | None = None) -> QuerySet:
    """One row per person with arrivals in the filter, the latest arrival first: ``{person_id, last}``."""
    return (
        arrivals_in_scope(actor=actor, filters=filters)
        .values("person_id")
        .annotate(last=Max("arrived_at"))
        .order_by("-last", "person_id")
    )


@dataclass
class ArrivalStatus:
    """One arrival with the status of the actions it requires."""

    arrival: Arrival
    risky: bool
    tested_at: dt.datetime | None  # the latest sampling since arriving
    test_result: str  # what that test says for the person: negative | positive | recall | pending
    test_due_at: dt.datetime | None
    screened_at: dt.datetime | None
    screening_open: bool
    vaccinated: bool

    @property
    def level_label(self) -> str:
        level = self.arrival.risk_level
        return str(RiskLevel(level).label) if level in RiskLevel.values else ""

    @property
    def test_label(self) -> str:
        return str(TEST_LABELS.get(self.test_result, ""))

    @property
    def travel(self) -> str:
        return travel_mode_label(self.arrival.travel_mode)

    @property
    def test_overdue(self) -> bool:
        return bool(
            self.risky and not self.tested_at and self.test_due_at and self.test_due_at < timezone.now()
        )

    @property
    def outstanding(self) -> list[str]:
        """Which required actions are still open: "test", "screening", "vaccination"."""
        due = []
        if self.risky and not self.tested_at:
            due.append("test")
        if self.risky and not self.screened_at:
            due.append("screening")
        if not self.vaccinated:
            due.append("vaccination")
        return due


@dataclass
class PersonArrivals:
    """A row of the archive: one person, their arrivals (newest first), the health code's arrival fact."""

    person: Person
    arrivals: list[ArrivalStatus]
    facts: PersonFacts | None = None
    facts_visible: bool = False

    @property
    def latest(self) -> ArrivalStatus:
        return self.arrivals[0]


def _meaning(tube_result: str | None, pool_size: int | None) -> str:
    """What a tube's result says for one of its members (as ``testing.selectors.person_results`` reads it)."""
    if not tube_result:
        return "pending"
    if tube_result == "negative":
        return "negative"
    return "positive" if pool_size == 1 and tube_result == "positive" else "recall"


def _statuses(qs: QuerySet[Arrival], disease_id: int | None) -> list[ArrivalStatus]:
    last_test = _tested().order_by("-sampled_at", "-pk")
    rows = qs.select_related("person", "person__grid").annotate(
        tested_at=Subquery(last_test.values("sampled_at")[:1]),
        tube_result=Subquery(last_test.values("tube__result")[:1]),
        tube_pool=Subquery(last_test.values("tube__pool_size")[:1]),
        screened_at=Subquery(_screened().order_by("finished_at").values("finished_at")[:1]),
        screening_open=Exists(
            Task.objects.filter(
                type=TaskType.SCREEN_ARRIVAL, state__in=OPEN_STATES, subject_person_id=OuterRef("person_id")
            )
        ),
        vaccinated=Exists(_vaccinated(disease_id)),
    )
    hours = dt.timedelta(hours=test_within_hours())
    return [
        ArrivalStatus(
            arrival=a,
            risky=a.risk_level in RISKY,
            tested_at=a.tested_at,
            test_result=_meaning(a.tube_result, a.tube_pool) if a.tested_at else "",
            test_due_at=a.arrived_at + hours,
            screened_at=a.screened_at,
            screening_open=a.screening_open,
            vaccinated=a.vaccinated,
        )
        for a in rows.order_by("person_id", "-arrived_at", "-pk")
    ]


def arrival_rows(
    *, actor: User, person_ids: list[int], filters: ArrivalFilters | None = None
) -> list[PersonArrivals]:
    """The archive rows of these people (one page), in the given order."""
    if not person_ids:
        return []
    qs = arrivals_in_scope(actor=actor, filters=filters).filter(person_id__in=person_ids)
    by_person: dict[int, list[ArrivalStatus]] = {}
    for status in _statuses(qs, _disease_id()):
        by_person.setdefault(status.arrival.person_id, []).append(status)
    facts_visible = has_perm(actor, Perm.HEALTHCODE_VIEW)
    facts = (
        {f.person_id: f for f in scoped(PersonFacts.objects.filter(person_id__in=person_ids), actor)}
        if facts_visible
        else {}
    )
    return [
        PersonArrivals(
            person=by_person[pid][0].arrival.person,
            arrivals=by_person[pid],
            facts=facts.get(pid),
            facts_visible=facts_visible,
        )
        for pid in person_ids
        if pid in by_person
    ]


def arrival_grids(*, actor: User) -> QuerySet[OrgUnit]:
    """The units an archive reader may narrow the list to (their area and everything below it)."""
    return core_selectors.orgunit_list(actor=actor).exclude(code=getattr(actor, "org_code", ""))


def person_arrivals(*, actor: User, person: Person) -> list[ArrivalStatus]:
    """One person's arrivals with the status of their actions (the dossier; the key-region archive)."""
    return _statuses(arrivals_in_scope(actor=actor).filter(person=person), _disease_id())


# --- the one-person dossier (一人一档) ----------------------------------------------------------------

# Each section and the permission that opens it (None: whoever may open the dossier).
SECTIONS: tuple[tuple[str, Any, str | None], ...] = (
    ("identity", _("Identity"), None),
    ("household", _("Household"), Perm.PERSON_VIEW),
    ("grid", _("Grid"), None),
    ("checkins", _("Check-ins"), Perm.CHECKIN_VIEW),
    ("tests", _("Nucleic-acid tests"), Perm.TESTING_VIEW),
    ("vaccinations", _("Vaccinations"), Perm.VACCINATION_VIEW),
    ("arrivals", _("Arrivals and risk-area history"), Perm.COMPARISON_VIEW),
    ("cases", _("Cases and contacts"), Perm.CASE_VIEW),
    ("quarantine", _("Quarantine"), Perm.QUARANTINE_VIEW),
    ("healthcode", _("Health code"), Perm.HEALTHCODE_VIEW),
    ("tasks", _("Grid tasks"), Perm.TASK_VIEW),
)
DOSSIER_ROWS = 50  # the most rows a section shows (newest first)


@dataclass
class Dossier:
    person: Person
    allowed: list[str] = field(default_factory=list)  # the section keys the viewer may see
    denied: list[str] = field(default_factory=list)
    household_members: list[Person] = field(default_factory=list)
    grid_path: list[OrgUnit] = field(default_factory=list)  # district ... grid
    grid_staff: list = field(default_factory=list)
    checkins: list = field(default_factory=list)
    retention_days: int = 28
    tests: list = field(default_factory=list)
    vaccination: Any = None
    arrivals: list[ArrivalStatus] = field(default_factory=list)
    declarations: list = field(default_factory=list)
    facts: PersonFacts | None = None
    cases: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    placements: list = field(default_factory=list)
    health_code: Any = None
    colour_history: list = field(default_factory=list)
    tasks: list = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, Any, bool]]:
        return [(key, title, key in self.allowed) for key, title, _perm in SECTIONS]


def _grid_path(person: Person) -> list[OrgUnit]:
    path = []
    unit = person.grid
    while unit is not None:
        path.append(unit)
        unit = unit.parent
    return list(reversed(path))


def dossier_get(*, actor: User, pk: int) -> Dossier:
    """Everything the viewer may see about one person in their scope (404 otherwise). Every section reads
    through its own app's selectors with the viewer as actor."""
    from epigrid.checkins import selectors as checkin_selectors
    from epigrid.grids import selectors as grid_selectors
    from epigrid.healthcode import selectors as healthcode_selectors
    from epigrid.healthcode.models import TravelDeclaration
    from epigrid.investigation import selectors as case_selectors
    from epigrid.quarantine import selectors as quarantine_selectors
    from epigrid.testing import selectors as testing_selectors
    from epigrid.vaccination import selectors as vaccination_selectors

    person = core_selectors.person_get(actor=actor, pk=pk)
    dossier = Dossier(person=person)
    for key, _title, perm in SECTIONS:
        (dossier.allowed if perm is None or has_perm(actor, perm) else dossier.denied).append(key)
    allowed = set(dossier.allowed)
    dossier.grid_path = _grid_path(person)
    if "household" in allowed and person.household_id:
        dossier.household_members = list(
            core_selectors.person_list(actor=actor)
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)[:DOSSIER_ROWS]
        )
    if person.grid_id:
        dossier.grid_staff = list(grid_selectors.grid_staff(actor=actor, grid_code=person.grid.code))
    if "checkins" in allowed:
        dossier.retention_days = int(core_selectors.general_rule("checkin_retention_days", 28))
        since = timezone.now() - dt.timedelta(days=dossier.retention_days)
        dossier.checkins = list(
            checkin_selectors.checkin_list(actor=actor, person_id=person.pk, since=since)[:DOSSIER_ROWS]
        )
    if "tests" in allowed:
        # testing.selectors.person_results reads by person; the person is in the viewer's scope (above).
        dossier.tests = testing_selectors.person_results(person_id=person.pk)[:DOSSIER_ROWS]
    if "vaccinations" in allowed:
        dossier.vaccination = vaccination_selectors.person_record(actor=actor, person=person)
    if "arrivals" in allowed:
        dossier.arrivals = person_arrivals(actor=actor, person=person)[:DOSSIER_ROWS]
    if has_perm(actor, Perm.HEALTHCODE_VIEW):
        dossier.facts = healthcode_selectors.person_facts_get(actor=actor, person_id=person.pk)
        dossier.declarations = list(
            scoped(TravelDeclaration.objects.filter(person=person), actor).order_by("-arrived_at")[
                :DOSSIER_ROWS
            ]
        )
    if "cases" in allowed:
        dossier.cases = list(case_selectors.case_list(actor=actor).filter(person=person)[:DOSSIER_ROWS])
        dossier.contacts = list(
            case_selectors.person_contact_records(actor=actor, person_id=person.pk).order_by(
                "-last_exposure_at"
            )[:DOSSIER_ROWS]
        )
    if "quarantine" in allowed:
        dossier.placements = list(
            quarantine_selectors.line_list(actor=actor, name="all")
            .filter(person=person)
            .order_by("-start")[:DOSSIER_ROWS]
        )
    if "healthcode" in allowed:
        dossier.health_code = healthcode_selectors.health_code_list(actor=actor).filter(person=person).first()
        colours = dict(Colour.choices)
        dossier.colour_history = list(
            healthcode_selectors.change_history(actor=actor, person_id=person.pk)[:DOSSIER_ROWS]
        )
        for change in dossier.colour_history:
            change.from_label = colours.get(change.from_colour, change.from_colour)
            change.to_label = colours.get(change.to_colour, change.to_colour)
    if "tasks" in allowed:
        dossier.tasks = list(
            grid_selectors.task_list(actor=actor)
            .filter(subject_person=person)
            .order_by("-created_at", "-pk")[:DOSSIER_ROWS]
        )
    return dossier
