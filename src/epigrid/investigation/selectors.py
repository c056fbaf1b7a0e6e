"""Reads of the investigation, scoped: cases by the case's area; a case's contacts and trajectory go with it.

Transmission chains are computed here, on read, as the connected components of the case links the reader can
see: a few thousand cases at most, a fraction of a millisecond each, and never stale.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from epigrid.core.models import AuditEntry, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import scoped
from epigrid.core.selectors import policy_param
from epigrid.investigation.models import Case, CaseLink, Classification, Contact, TrajectoryEntry


def _cases(actor: User) -> QuerySet[Case]:
    if not has_perm(actor, Perm.CASE_VIEW):
        return Case.objects.none()
    return scoped(Case.objects.all(), actor)


def case_list(
    *, actor: User, classification: str = "", status: str = "", search: str = "", include_merged: bool = False
) -> QuerySet[Case]:
    qs = _cases(actor).select_related("person", "investigator")
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    if classification:
        qs = qs.filter(classification=classification)
    if status:
        qs = qs.filter(status=status)
    search = search.strip()
    if search:
        query = Q(person__name__icontains=search)
        if search.lstrip("#").isdigit():
            query |= Q(pk=int(search.lstrip("#")))
        qs = qs.filter(query)
    return qs.order_by("-created_at", "-pk")


def case_get(*, actor: User, pk: int) -> Case:
    case = _cases(actor).select_related("person", "investigator", "merged_into").filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


def case_contacts(*, actor: User, case: Case, tier: str = "") -> QuerySet[Contact]:
    """The contacts of a case the actor may see (``case`` comes from :func:`case_get`), closest first."""
    case_get(actor=actor, pk=case.pk)
    qs = Contact.objects.filter(case=case).select_related("person", "venue", "via__person", "linked_case")
    if tier:
        qs = qs.filter(tier=tier)
    return qs.order_by("tier", "-score", "pk")


def contact_get(*, actor: User, case: Case, pk: int) -> Contact:
    contact = case_contacts(actor=actor, case=case).filter(pk=pk).first()
    if contact is None:
        raise Http404
    return contact


def case_trajectory(*, actor: User, case: Case) -> QuerySet[TrajectoryEntry]:
    case_get(actor=actor, pk=case.pk)
    return TrajectoryEntry.objects.filter(case=case).select_related("venue").order_by("start", "pk")


def trajectory_entry_get(*, actor: User, case: Case, pk: int) -> TrajectoryEntry:
    entry = case_trajectory(actor=actor, case=case).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def case_history(*, actor: User, case: Case) -> QuerySet[AuditEntry]:
    """The audit entries of one case, oldest first, for whoever may see the case (the general audit search
    needs ``audit.view``; the history of a case is part of the case)."""
    case_get(actor=actor, pk=case.pk)
    return AuditEntry.objects.filter(object_type=Case._meta.label_lower, object_id=str(case.pk)).order_by(
        "seq"
    )


def person_contact_records(*, actor: User, person_id: int) -> QuerySet[Contact]:
    """Where a person was listed as a contact, for the staff of the person's area (and the person)."""
    return scoped(Contact.objects.filter(person_id=person_id), actor).select_related("case", "venue")


# --- chains -------------------------------------------------------------------------------------------


def case_time(case: Case) -> dt.datetime:
    """When the case became infectious-evident: onset, else first positive sampling, else when recorded."""
    if case.onset_date is not None:
        return timezone.make_aware(dt.datetime.combine(case.onset_date, dt.time.min))
    return case.first_positive_at or case.created_at


@dataclass
class Chain:
    id: int  # the smallest case id of the chain: stable while the chain only grows
    cases: list[Case]
    links: list[CaseLink]
    generations: int
    depth: dict[int, int] = field(default_factory=dict)  # case id -> generation (1 = a root)
    active: bool = False
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None

    @property
    def size(self) -> int:
        return len(self.cases)

    @property
    def roots(self) -> list[Case]:
        return [c for c in self.cases if self.depth.get(c.pk) == 1]


def _visible_graph(actor: User) -> tuple[dict[int, Case], list[CaseLink]]:
    cases = {
        c.pk: c
        for c in _cases(actor)
        .filter(merged_into__isnull=True)
        .exclude(classification=Classification.EXCLUDED)
        .select_related("person")
    }
    links = [
        link
        for link in CaseLink.objects.filter(source_id__in=list(cases), target_id__in=list(cases))
        if link.source_id in cases and link.target_id in cases
    ]
    return cases, links


def _generations(members: list[int], links: list[CaseLink]) -> dict[int, int]:
    """Generation of each case: 1 for cases nobody infected (in the data), else 1 + the source's, by the
    longest path (a breadth-first pass over a DAG; a cycle from conflicting links is cut where first met)."""
    incoming: dict[int, list[int]] = defaultdict(list)
    outgoing: dict[int, list[int]] = defaultdict(list)
    for link in links:
        incoming[link.target_id].append(link.source_id)
        outgoing[link.source_id].append(link.target_id)
    depth: dict[int, int] = {}
    pending = {pk: len(incoming[pk]) for pk in members}
    queue = deque(pk for pk in members if pending[pk] == 0)
    for pk in queue:
        depth[pk] = 1
    while queue:
        pk = queue.popleft()
        for nxt in outgoing[pk]:
            depth[nxt] = max(depth.get(nxt, 0), depth[pk] + 1)
            pending[nxt] -= 1
            if pending[nxt] == 0:
                queue.append(nxt)
    for pk in members:  # only on a cycle
        depth.setdefault(pk, 1)
    return depth


def chain_list(*, actor: User, now: dt.datetime | None = None) -> list[Chain]:
    """Every chain (connected component of at least one case) the actor can see, largest first. A chain is
    active while its newest case is within one incubation period."""
    now = now or timezone.now()
    cases, links = _visible_graph(actor)
    parent = {pk: pk for pk in cases}

    def find(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for link in links:
        a, b = find(link.source_id), find(link.target_id)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = defaultdict(list)
    for pk in cases:
        members[find(pk)].append(pk)
    links_of: dict[int, list[CaseLink]] = defaultdict(list)
    for link in links:
        links_of[find(link.source_id)].append(link)
    chains = [_chain({pk: cases[pk] for pk in pks}, links_of[root], now=now) for root, pks in members.items()]
    return sorted(chains, key=lambda c: (-c.size, -c.last_at.timestamp(), c.id))


def _chain(cases: dict[int, Case], links: list[CaseLink], *, now: dt.datetime) -> Chain:
    """Measure one component: generations, first and newest case, whether it is still active."""
    pks = list(cases)
    depth = _generations(pks, links)
    times = sorted(case_time(c) for c in cases.values())
    days = max(
        int(policy_param(disease_code=code, name="incubation_days_max", default=14))
        for code in {c.disease_code for c in cases.values()}
    )
    return Chain(
        id=min(pks),
        cases=sorted(cases.values(), key=lambda c: (case_time(c), c.pk)),
        links=links,
        generations=max(depth.values()),
        depth=depth,
        active=times[-1] >= now - dt.timedelta(days=days),
        first_at=times[0],
        last_at=times[-1],
    )


def chain_of_case(*, actor: User, case: Case) -> Chain:
    """The chain holding ``case``: its component is found by walking the links out from it, then only that
    component is measured (the case page must not compute every chain of the district)."""
    cases, links = _visible_graph(actor)
    if case.pk not in cases:
        raise Http404
    neighbours: dict[int, set[int]] = defaultdict(set)
    for link in links:
        neighbours[link.source_id].add(link.target_id)
        neighbours[link.target_id].add(link.source_id)
    seen, queue = {case.pk}, deque([case.pk])
    while queue:
        for nxt in neighbours[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return _chain(
        {pk: cases[pk] for pk in seen}, [link for link in links if link.source_id in seen], now=timezone.now()
    )


@dataclass(frozen=True)
class SourceSplit:
    days: int
    known: int  # new cases linked to an earlier case
    unknown: int  # new cases with no known source


def source_split(*, actor: User, days: int = 14, now: dt.datetime | None = None) -> SourceSplit:
    """New cases of the last ``days`` in known chains against those whose source is unknown — the measure of
    whether tracing keeps up."""
    now = now or timezone.now()
    cases, links = _visible_graph(actor)
    linked = {link.target_id for link in links}
    since = now - dt.timedelta(days=days)
    recent = [pk for pk, c in cases.items() if case_time(c) >= since]
    known = sum(1 for pk in recent if pk in linked)
    return SourceSplit(days, known, len(recent) - known)


@dataclass(frozen=True)
class EpicurveDay:
    day: dt.date
    confirmed: int
    asymptomatic: int
    known_source: int
    unknown_source: int


def epicurve(*, actor: User, days: int = 28, now: dt.datetime | None = None) -> list[EpicurveDay]:
    """Cases per local day (onset, else first positive sampling) for the last ``days`` days."""
    now = now or timezone.now()
    cases, links = _visible_graph(actor)
    linked = {link.target_id for link in links}
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=days - 1)
    counts: dict[dt.date, list[int]] = {first + dt.timedelta(days=i): [0, 0, 0, 0] for i in range(days)}
    for pk, case in cases.items():
        day = timezone.localdate(case_time(case))
        if day in counts:
            row = counts[day]
            row[0 if case.classification == Classification.CONFIRMED else 1] += (
                1 if case.classification in (Classification.CONFIRMED, Classification.ASYMPTOMATIC) else 0
            )
            row[2 if pk in linked else 3] += 1
    return [EpicurveDay(day, *row) for day, row in sorted(counts.items())]
