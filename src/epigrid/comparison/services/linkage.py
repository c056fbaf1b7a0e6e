"""Linking list rows to persons, and the clerk's review of the uncertain ones.

In order, for each row waiting (PENDING):

1. **Exact**: the same document (type and number) through the blind index: linked at once.
2. **Remembered**: a clerk's earlier decision about the same normalised identity (``LinkMemory``, keyed by
   :func:`fingerprint`) is followed without asking again.
3. **Probabilistic**: the district's model (``comparison.matching``: Splink on DuckDB, trained on the
   district's own persons and lists) scores the row against the district's persons. At or above the policy's
   ``linkage_auto_link`` (0.95) with no second candidate at ``linkage_review`` (0.5) or above: linked;
   otherwise, with a best candidate at ``linkage_review`` or above: the review queue, with the best
   candidates in ``row.candidates``; below: nobody we know.
4. **Provisional**: a new person from the row (with the row's document when it has one, else numbered by the
   platform), one per identity in a call.

Outcomes are saved per row (one prepared UPDATE through ``executemany``); rows already decided are skipped,
so a call is idempotent per row. :func:`review_decide` records a clerk's decision, remembers it and adds
the arrival.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.comparison import matching
from epigrid.comparison.models import LinkMemory, LinkMethod, ListRow, RowStatus
from epigrid.comparison.services import archive
from epigrid.core import crypto
from epigrid.core import services as core_services
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdType
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import general_rule

AUTO_LINK_DEFAULT = 0.95
REVIEW_DEFAULT = 0.5
EXACT_CHUNK = 10_000  # document indexes per look-up query (SQLite allows 32,766 parameters)


def fingerprint(row: ListRow) -> str:
    """The row's normalised identity: what a remembered decision is keyed by. A keyed hash (the blind-index
    key), so that the stored value cannot be recomputed from a guessed ID number, name and phone."""
    parts = [
        row.id_type,
        row.id_number,
        row.name,
        row.phone,
        row.birth_date.isoformat() if row.birth_date else "",
    ]
    return crypto.blind_index("\x1f".join(parts), purpose="link-memory")


def thresholds() -> tuple[float, float]:
    """(auto-link, review) probabilities from the active general policy."""
    try:
        auto = float(general_rule("linkage_auto_link", AUTO_LINK_DEFAULT))
        review = float(general_rule("linkage_review", REVIEW_DEFAULT))
    except LookupError:
        auto, review = AUTO_LINK_DEFAULT, REVIEW_DEFAULT
    return auto, min(review, auto)


def exact_links(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Persons by document: ``(id_type, id_number_index)`` -> person id, for the keys registered. One query
    per type and :data:`EXACT_CHUNK` indexes, each an index probe of the unique (id_type, id_number_index);
    on PostgreSQL a long list is copied into a temporary table and joined at once (a hash join: 1,000,000
    documents in ~3 s where index probes take ~11 s)."""
    by_type: dict[str, list[str]] = {}
    for id_type, index in dict.fromkeys(keys):
        if index:
            by_type.setdefault(id_type, []).append(index)
    table = connection.ops.quote_name(Person._meta.db_table)
    col = {
        f: connection.ops.quote_name(Person._meta.get_field(f).column)
        for f in ("id", "id_type", "id_number_index")
    }
    found: dict[tuple[str, str], int] = {}
    select = f"SELECT {col['id_number_index']}, {col['id']} FROM {table} WHERE {col['id_type']} = %s AND "  # noqa: S608
    with connection.cursor() as cursor:
        for id_type, indexes in by_type.items():
            if connection.vendor == "postgresql" and len(indexes) > PG_COPY_ABOVE:
                found.update(((id_type, index), pk) for index, pk in _pg_joined(cursor, id_type, indexes))
                continue
            for start in range(0, len(indexes), EXACT_CHUNK):
                part = indexes[start : start + EXACT_CHUNK]
                if connection.vendor == "postgresql":  # one array parameter, not thousands of placeholders
                    cursor.execute(select + f"{col['id_number_index']} = ANY(%s)", [id_type, part])
                else:
                    cursor.execute(
                        select + f"{col['id_number_index']} IN ({', '.join(['%s'] * len(part))})",
                        [id_type, *part],
                    )
                for index, pk in cursor.fetchall():
                    found[(id_type, index)] = pk
    return found


PG_COPY_ABOVE = 20_000


def _pg_joined(cursor: Any, id_type: str, indexes: list[str]) -> list[tuple[str, int]]:
    table = connection.ops.quote_name(Person._meta.db_table)
    id_col, type_col, index_col = (
        connection.ops.quote_name(Person._meta.get_field(f).column)
        for f in ("id", "id_type", "id_number_index")
    )
    with transaction.atomic():
        cursor.execute("CREATE TEMPORARY TABLE linkage_keys (k text) ON COMMIT DROP")
        with cursor.copy("COPY linkage_keys (k) FROM STDIN") as copy:
            for index in indexes:
                copy.write_row((index,))
        cursor.execute("ANALYZE linkage_keys")
        cursor.execute(
            f"SELECT p.{index_col}, p.{id_col} FROM linkage_keys AS k JOIN {table} AS p "  # noqa: S608
            f"ON p.{type_col} = %s AND p.{index_col} = k.k",
            [id_type],
        )
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE linkage_keys")
    return rows


def _row_input(row: ListRow) -> matching.RowInput:
    return matching.RowInput(
        uid=row.pk,
        name=row.name,
        birth_date=row.birth_date,
        sex=row.sex,
        phone=row.phone,
        phone_index=row.phone_index,
        doc_index=row.id_number_index if row.id_type != IdType.PROVISIONAL else "",
        address=row.address,
    )


def _set(row: ListRow, *, person_id: int | None, method: str, status: str, probability: float | None) -> None:
    row.person_id = person_id
    row.link_method = method
    row.status = status
    row.match_probability = probability


@dataclass
class LinkResult:
    """What one call did (counts), and the probabilistic step's figures."""

    exact: int = 0
    remembered: int = 0
    probabilistic: int = 0
    review: int = 0
    provisional: int = 0
    scored: list[matching.Scored] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "exact": self.exact,
            "remembered": self.remembered,
            "probabilistic": self.probabilistic,
            "review": self.review,
            "provisional": self.provisional,
            "pairs_scored": sum(s.pairs for s in self.scored),
        }


def link_rows(*, actor: User | None, rows: list[ListRow], retrain: bool = False) -> LinkResult:
    """Link the rows waiting (PENDING; warnings in ``errors`` do not matter) and save their outcome; rows in
    another status are left as they are. ``retrain``: train the districts' models again first.

    Raises DomainError when a row that matches nobody cannot become a person (no name, say); nothing of the
    call is saved then."""
    result = LinkResult()
    todo = [row for row in rows if row.status == RowStatus.PENDING and row.pk]
    if not todo:
        return result
    auto, review = thresholds()
    exact = exact_links([(row.id_type, row.id_number_index) for row in todo if row.id_number_index])
    prints = {row.pk: fingerprint(row) for row in todo}
    memory = dict(
        LinkMemory.objects.filter(fingerprint__in=set(prints.values()), person__isnull=False).values_list(
            "fingerprint", "person_id"
        )
    )
    rest: list[ListRow] = []
    labels: dict[str, dict[int, int]] = {}
    for row in todo:
        row.candidates = []
        person_id = exact.get((row.id_type, row.id_number_index)) if row.id_number_index else None
        if person_id is not None:
            _set(
                row, person_id=person_id, method=LinkMethod.EXACT_ID, status=RowStatus.LINKED, probability=1.0
            )
            labels.setdefault(row.org_code[:6], {})[row.pk] = person_id
            result.exact += 1
        elif prints[row.pk] in memory:
            _set(
                row,
                person_id=memory[prints[row.pk]],
                method=LinkMethod.REMEMBERED,
                status=RowStatus.LINKED,
                probability=None,
            )
            result.remembered += 1
        else:
            rest.append(row)

    by_district: dict[str, list[ListRow]] = {}
    for row in todo:
        by_district.setdefault(row.org_code[:6], []).append(row)
    nobody: list[ListRow] = []
    waiting = {row.pk for row in rest}
    for district, district_rows in by_district.items():
        scoring = [row for row in district_rows if row.pk in waiting]
        if not scoring:
            continue
        scored = matching.score(
            district=district,
            rows=[_row_input(row) for row in scoring],
            training_rows=[_row_input(row) for row in district_rows],
            labels=labels.get(district, {}),
            retrain=retrain,
        )
        result.scored.append(scored)
        for row in scoring:
            found = scored.candidates.get(row.pk, [])
            best = found[0] if found else None
            clear = best is not None and (row.pk, best[0]) not in scored.conflicts
            if best and clear and best[1] >= auto and (len(found) == 1 or found[1][1] < review):
                _set(
                    row,
                    person_id=best[0],
                    method=LinkMethod.PROBABILISTIC,
                    status=RowStatus.LINKED,
                    probability=round(best[1], 6),
                )
                row.candidates = [[pid, round(p, 6)] for pid, p in found]
                result.probabilistic += 1
            elif best and best[1] >= review:
                _set(row, person_id=None, method="", status=RowStatus.REVIEW, probability=round(best[1], 6))
                row.candidates = [[pid, round(p, 6)] for pid, p in found]
                result.review += 1
            else:
                nobody.append(row)

    with transaction.atomic():
        still = _still_pending([row.pk for row in todo])
        # A person removed since the district's persons were read (they are cached for minutes) is nobody.
        linked = {row.person_id for row in todo if row.person_id}
        gone = linked - _existing(sorted(linked))
        for row in todo:
            if row.person_id in gone:
                result.probabilistic -= row.link_method == LinkMethod.PROBABILISTIC
                result.remembered -= row.link_method == LinkMethod.REMEMBERED
                result.exact -= row.link_method == LinkMethod.EXACT_ID
                nobody.append(row)
        nobody = [row for row in nobody if row.pk in still]
        made = provisional_persons(actor=actor, rows=nobody)
        for row in nobody:
            _set(
                row,
                person_id=made[row.pk],
                method=LinkMethod.PROVISIONAL,
                status=RowStatus.PROVISIONAL,
                probability=None,
            )
        result.provisional = len(nobody)
        _save_outcomes([row for row in todo if row.pk in still])
        audit_record(
            actor=actor,
            action="comparison.rows_link",
            org_code=todo[0].org_code[:6],
            detail=result.as_dict(),
        )
    return result


def _still_pending(pks: list[int]) -> set[int]:
    """The rows among ``pks`` still waiting in the database (another run may have decided some)."""
    pending: set[int] = set()
    for start in range(0, len(pks), EXACT_CHUNK):
        pending.update(
            ListRow.objects.filter(
                pk__in=pks[start : start + EXACT_CHUNK], status=RowStatus.PENDING
            ).values_list("pk", flat=True)
        )
    return pending


def _existing(pks: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(pks), EXACT_CHUNK):
        found.update(
            Person.objects.filter(pk__in=pks[start : start + EXACT_CHUNK]).values_list("pk", flat=True)
        )
    return found


OUTCOME_FIELDS = ("person", "link_method", "match_probability", "status", "candidates")


def _save_outcomes(rows: list[ListRow]) -> None:
    """One prepared UPDATE per row through ``executemany`` (``bulk_update``'s CASE WHEN statements grow with
    the square of the batch)."""
    if not rows:
        return
    meta = ListRow._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in OUTCOME_FIELDS]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [*(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields), row.pk] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _identity(row: ListRow) -> tuple[str, ...]:
    if row.id_number_index and row.id_type and row.id_type != IdType.PROVISIONAL:
        return ("doc", row.id_type, row.id_number_index)
    return ("fp", fingerprint(row))


def _person_input(row: ListRow, *, with_document: bool) -> core_services.PersonInput:
    if with_document:
        id_type, number = row.id_type, row.id_number
    else:
        id_type, number = IdType.PROVISIONAL, "P" + secrets.token_hex(8).upper()
    return core_services.PersonInput(
        id_type=id_type,
        id_number=number,
        name=row.name,
        phone=row.phone,
        address=row.address,
        birth_date=row.birth_date,
        sex=row.sex,
        grid_id=row.grid_id,
    )


def provisional_persons(*, actor: User | None, rows: list[ListRow]) -> dict[int, int]:
    """A new person for each identity among ``rows`` (rows of the same identity share one): with the row's
    document when it has one (a document registered meanwhile is taken as it is), else a platform number.
    Returns row pk -> person id. Raises DomainError for a row that cannot be a person (no name, say)."""
    if not rows:
        return {}
    groups: dict[tuple[str, ...], list[ListRow]] = {}
    for row in rows:
        groups.setdefault(_identity(row), []).append(row)
    inputs = {
        key: _person_input(members[0], with_document=key[0] == "doc") for key, members in groups.items()
    }
    for key, data in inputs.items():
        try:
            core_services.person_validate(data)
        except DomainError as err:
            if key[0] != "doc" or err.field == "name":
                raise
            # A document the registry refuses (sex or birth date against the ID): a platform number instead.
            inputs[key] = _person_input(groups[key][0], with_document=False)
            core_services.person_validate(inputs[key])
    registered = core_services.person_bulk_register(actor=actor, rows=list(inputs.values()))
    refused = [message for _n, message in registered.errors]
    persons = exact_links(
        [
            (data.id_type, core_services.person_document_index(data.id_type, _normal(data)))
            for data in inputs.values()
        ]
    )
    out: dict[int, int] = {}
    for key, data in inputs.items():
        pid = persons.get((data.id_type, core_services.person_document_index(data.id_type, _normal(data))))
        if pid is None:
            raise DomainError(refused[0] if refused else _("A person could not be registered for this row."))
        for row in groups[key]:
            out[row.pk] = pid
    return out


def _normal(data: core_services.PersonInput) -> str:
    return core_services.person_validate(data).id_number


def provisional_person(*, actor: User | None, row: ListRow) -> Person:
    """A person known only from this row (see :func:`provisional_persons`)."""
    return Person.objects.get(pk=provisional_persons(actor=actor, rows=[row])[row.pk])


# --- review -------------------------------------------------------------------------------------------------


def review_decide(*, actor: User, row: ListRow, person: Person | None = None) -> ListRow:
    """A clerk's decision on a row in review: ``person`` (one of the candidates, or a person of the clerk's
    area found by document number) is this row's person; None: none of these, a new person. Remembered for
    the same identity on later lists, audited; the arrival follows."""
    if not has_perm(actor, Perm.COMPARISON_REVIEW):
        raise Forbidden(_("Your role may not decide matches."))
    if not in_scope_code(actor, row.org_code):
        raise Forbidden(_("This row is outside your area."))
    candidates = {int(pid): float(p) for pid, p in (row.candidates or [])}
    if person is not None and person.pk not in candidates and not in_scope_code(actor, person.org_code):
        raise DomainError(_("Choose one of the candidates, or a person of your area."), field="person")
    with transaction.atomic():
        locked = ListRow.objects.select_for_update().filter(pk=row.pk).first()
        if locked is None or locked.status != RowStatus.REVIEW:
            raise Conflict(_("This row has been decided already."))
        if person is None:
            chosen_id = provisional_persons(actor=actor, rows=[row])[row.pk]
            _set(
                row,
                person_id=chosen_id,
                method=LinkMethod.PROVISIONAL,
                status=RowStatus.PROVISIONAL,
                probability=None,
            )
            choice = "none"
        else:
            chosen_id = person.pk
            _set(
                row,
                person_id=chosen_id,
                method=LinkMethod.CLERICAL,
                status=RowStatus.LINKED,
                probability=candidates.get(person.pk),
            )
            choice = "candidate" if person.pk in candidates else "other"
        row.reviewed_by = actor
        row.reviewed_at = timezone.now()
        row.save(update_fields=[*OUTCOME_FIELDS, "reviewed_by", "reviewed_at"])
        LinkMemory.objects.update_or_create(
            fingerprint=fingerprint(row), defaults={"person_id": chosen_id, "decided_by": actor}
        )
        audit_record(
            actor=actor,
            action="comparison.row_review",
            obj=row,
            org_code=row.org_code,
            detail={"choice": choice, "person_id": chosen_id, "candidates": len(candidates)},
        )
        archive.arrivals_from_rows(actor=actor, rows=[row])
    return row


# --- the model --------------------------------------------------------------------------------------------------

TRAINING_ROWS = 20_000  # the district's latest rows of lists a retraining learns from


def model_train(*, actor: User | None, district: str) -> matching.Model:
    """Train the district's model again now, from its persons and its latest linked rows of lists (those
    linked by document number teach m). Needs ``comparison.review``; audited."""
    if actor is not None and not has_perm(actor, Perm.COMPARISON_REVIEW):
        raise Forbidden(_("Your role may not retrain the matching model."))
    rows = list(
        ListRow.objects.filter(org_code__startswith=district)
        .exclude(status__in=(RowStatus.PENDING, RowStatus.REJECTED, RowStatus.CORRECTED))
        .order_by("-pk")[:TRAINING_ROWS]
    )
    labels = {
        row.pk: row.person_id for row in rows if row.link_method == LinkMethod.EXACT_ID and row.person_id
    }
    matching.forget_snapshots()
    model = matching.train(district=district, rows=[_row_input(row) for row in rows], labels=labels)
    audit_record(
        actor=actor,
        action="comparison.model_train",
        org_code=district,
        detail={
            k: model.meta.get(k) for k in ("source", "persons", "rows", "labelled", "m_source", "seconds")
        },
    )
    return model
