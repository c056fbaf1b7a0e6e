"""Linking list rows to persons.

In order: the same document number (blind index) links at once; a clerk's earlier decision about the same
normalised identity (``LinkMemory``) is followed; otherwise the probabilistic model scores the candidates
(high: linked; uncertain: the review queue; none: a provisional person is created).

This first version links exactly and by memory and makes provisional persons; the probabilistic step
(Splink on DuckDB) plugs in at :func:`_score`.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from epigrid.comparison.models import LinkMemory, LinkMethod, ListRow, RowStatus
from epigrid.core import services as core_services
from epigrid.core.identity import IdType
from epigrid.core.models import Person, User


def fingerprint(row: ListRow) -> str:
    """The row's normalised identity: what a remembered decision is keyed by."""
    parts = [
        row.id_type,
        row.id_number,
        row.name,
        row.phone,
        row.birth_date.isoformat() if row.birth_date else "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _link(row: ListRow, person: Person | None, method: str, probability: float | None) -> None:
    row.person = person
    row.link_method = method
    row.match_probability = probability
    row.status = RowStatus.PROVISIONAL if method == LinkMethod.PROVISIONAL else RowStatus.LINKED


def provisional_person(*, actor: User | None, row: ListRow) -> Person:
    """A person known only from this row, numbered by the platform until a document is known."""
    number = "P" + secrets.token_hex(8).upper()
    return core_services.person_register(
        actor=actor,
        data=core_services.PersonInput(
            id_type=IdType.PROVISIONAL,
            id_number=number,
            name=row.name,
            phone=row.phone,
            address=row.address,
            birth_date=row.birth_date,
            sex=row.sex,
            grid_id=row.grid_id,
        ),
    )


def _score(rows: list[ListRow]) -> None:
    """The probabilistic step: leaves rows it cannot place as they are (PENDING)."""


def link_rows(*, actor: User | None, rows: list[ListRow]) -> None:
    """Link validated rows (status PENDING, no errors) and save their outcome."""
    if not rows:
        return
    by_index = {}
    indexes = {(r.id_type, r.id_number_index) for r in rows if r.id_number_index}
    for id_type, index in indexes:
        person = Person.objects.filter(id_type=id_type, id_number_index=index).first()
        if person is not None:
            by_index[(id_type, index)] = person
    memory = dict(
        LinkMemory.objects.filter(fingerprint__in=[fingerprint(r) for r in rows]).values_list(
            "fingerprint", "person_id"
        )
    )
    rest = []
    for row in rows:
        exact = by_index.get((row.id_type, row.id_number_index)) if row.id_number_index else None
        if exact is not None:
            _link(row, exact, LinkMethod.EXACT_ID, 1.0)
        elif fingerprint(row) in memory and memory[fingerprint(row)] is not None:
            _link(row, Person(pk=memory[fingerprint(row)]), LinkMethod.REMEMBERED, None)
        else:
            rest.append(row)
    _score(rest)
    with transaction.atomic():
        for row in rest:
            if row.status == RowStatus.PENDING:
                _link(row, provisional_person(actor=actor, row=row), LinkMethod.PROVISIONAL, None)
        ListRow.objects.bulk_update(
            rows, ["person", "link_method", "match_probability", "status", "candidates"]
        )
