"""Writes of nucleic-acid testing: tubes and specimens, sealing, boxes, lab results, recall.

Results propagate to every specimen of the tube and, as ``test.resulted`` events, to the health code; a
positive pool recalls its members for a single-tube re-test (``testing.recall``, which the grid tasks and
the resident portal consume), and a positive single tube publishes ``specimen.positive`` for the case module.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from epigrid.core import events, notices
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Person, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.selectors import district_code, general_rule
from epigrid.core.services import PersonInput, person_find_or_register
from epigrid.healthcode import engine
from epigrid.testing.models import (
    POOL_SIZES,
    Box,
    Recall,
    SamplingPoint,
    Specimen,
    TestingRound,
    Tube,
    TubeResult,
    TubeStatus,
)


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


# --- sampling -------------------------------------------------------------------------------------


def tube_register(
    *,
    actor: User,
    barcode: str,
    pool_size: int,
    sampling_point: SamplingPoint | None = None,
    testing_round: TestingRound | None = None,
    client_id: uuid.UUID | str | None = None,
) -> Tube:
    """A pre-barcoded tube is scanned at the station: it opens for ``pool_size`` swabs.

    With a ``client_id``, registering the same tube again (a replay after a network drop) returns it."""
    _require(actor, Perm.TESTING_SAMPLE)
    if client_id is not None:
        try:
            client_id = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
        except ValueError:
            raise DomainError(_("client_id must be a UUID."), field="client_id") from None
        replayed = Tube.objects.filter(client_id=client_id).first()
        if replayed is not None:
            if replayed.barcode != (barcode or "").strip():
                raise Conflict(_("This client_id was already used for another tube."))
            return replayed
    barcode = (barcode or "").strip()
    if not barcode or len(barcode) > 40 or not barcode.replace("-", "").isalnum():
        raise DomainError(_("A tube barcode is 1 to 40 letters, digits or dashes."), field="barcode")
    if pool_size not in POOL_SIZES:
        raise DomainError(_("A tube holds 1, 5, 10 or 20 swabs."), field="pool_size")
    org_code = sampling_point.org_code if sampling_point else (actor.org_code or district_code())
    try:
        with transaction.atomic():
            tube = Tube.objects.create(
                barcode=barcode,
                pool_size=pool_size,
                sampling_point=sampling_point,
                testing_round=testing_round,
                org_code=org_code,
                sampler=actor,
                client_id=client_id,
            )
            audit_record(actor=actor, action="tube.register", obj=tube)
    except IntegrityError:
        raise Conflict(_("Tube %(b)s is registered already; use a new tube.") % {"b": barcode}) from None
    return tube


@dataclass
class SpecimenResult:
    specimen: Specimen
    created: bool
    sealed: bool


def specimen_add(
    *,
    actor: User,
    tube: Tube,
    client_id: uuid.UUID | str,
    person: Person | None = None,
    person_data: PersonInput | None = None,
    method: str = "typed",
) -> SpecimenResult:
    """Add one person's swab to an open tube; the tube seals itself when full. Idempotent on ``client_id``."""
    _require(actor, Perm.TESTING_SAMPLE)
    try:
        client_id = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except ValueError:
        raise DomainError(_("client_id must be a UUID."), field="client_id") from None
    existing = Specimen.objects.filter(client_id=client_id).select_related("tube").first()
    if existing is not None:
        if existing.tube_id != tube.pk:
            raise Conflict(_("This client_id was already used for another tube."))
        return SpecimenResult(existing, False, existing.tube.status != TubeStatus.OPEN)
    if person is None:
        if person_data is None:
            raise DomainError(_("Name the person or scan their code."), field="person")
        person, _created = person_find_or_register(actor=actor, data=person_data)
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.status != TubeStatus.OPEN:
            raise Conflict(_("Tube %(b)s is sealed; start a new tube.") % {"b": tube.barcode})
        count = tube.specimens.count()
        if count >= tube.pool_size:
            raise Conflict(
                _("Tube %(b)s is full (%(n)d of %(n)d).") % {"b": tube.barcode, "n": tube.pool_size}
            )
        if tube.specimens.filter(person=person).exists():
            raise Conflict(_("%(name)s is in this tube already.") % {"name": person.name_masked})
        specimen = Specimen.objects.create(
            tube=tube,
            person=person,
            org_code=person.org_code,
            client_id=client_id,
            sampled_at=timezone.now(),
            sampler=actor,
            method=method,
        )
        sealed = count + 1 >= tube.pool_size
        if sealed:
            _seal(tube, actor)
    return SpecimenResult(specimen, True, sealed)


def _seal(tube: Tube, actor: User | None) -> None:
    tube.status, tube.sealed_at = TubeStatus.SEALED, timezone.now()
    tube.save(update_fields=["status", "sealed_at"])
    audit_record(actor=actor, action="tube.seal", obj=tube, detail={"specimens": tube.specimens.count()})


def tube_seal(*, actor: User, tube: Tube) -> Tube:
    """Seal a tube before it is full (end of the queue). Sealing twice is harmless."""
    _require(actor, Perm.TESTING_SAMPLE)
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.status != TubeStatus.OPEN:
            return tube
        if not tube.specimens.exists():
            raise Conflict(_("Tube %(b)s is empty; there is nothing to seal.") % {"b": tube.barcode})
        _seal(tube, actor)
    return tube


# --- transport ------------------------------------------------------------------------------------


def box_pack(*, actor: User, code: str, barcodes: list[str], courier: str = "") -> Box:
    """Sealed tubes go into a box handed over to transport (handover record: who, when, how many)."""
    _require(actor, Perm.TESTING_SAMPLE)
    code = (code or "").strip()
    if not code or len(code) > 40 or not code.replace("-", "").isalnum():
        raise DomainError(_("A box code is 1 to 40 letters, digits or dashes."), field="code")
    barcodes = list(dict.fromkeys(b.strip() for b in barcodes if b and b.strip()))
    if not barcodes:
        raise DomainError(_("Scan the tubes going into the box."), field="barcodes")
    tubes = list(Tube.objects.filter(barcode__in=barcodes))
    found = {t.barcode for t in tubes}
    unknown = sorted(set(barcodes) - found)
    if unknown:
        raise DomainError(_("Unknown tubes: %(b)s.") % {"b": ", ".join(unknown)}, field="barcodes")
    not_sealed = sorted(t.barcode for t in tubes if t.status != TubeStatus.SEALED or t.box_id)
    if not_sealed:
        raise Conflict(
            _("These tubes are not sealed or are boxed already: %(b)s.") % {"b": ", ".join(not_sealed)}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            box = Box.objects.create(
                code=code,
                org_code=actor.org_code or district_code(),
                packed_by=actor,
                packed_at=now,
                courier=courier.strip()[:60],
                handed_over_at=now,
            )
            Tube.objects.filter(pk__in=[t.pk for t in tubes]).update(box=box)
            audit_record(
                actor=actor, action="box.pack", obj=box, detail={"tubes": len(tubes), "courier": courier}
            )
    except IntegrityError:
        raise Conflict(_("Box %(c)s exists already.") % {"c": code}) from None
    return box


def box_receive(*, actor: User, box: Box, scanned: list[str]) -> Box:
    """The lab scans the box's tubes on arrival; missing and extra tubes are flagged."""
    _require(actor, Perm.TESTING_LAB)
    if box.received_at is not None:
        raise Conflict(_("Box %(c)s was received already.") % {"c": box.code})
    packed = set(box.tubes.values_list("barcode", flat=True))
    scanned_set = {b.strip() for b in scanned if b.strip()}
    now = timezone.now()
    with transaction.atomic():
        box.received_by, box.received_at = actor, now
        box.missing, box.extra = sorted(packed - scanned_set), sorted(scanned_set - packed)
        box.save(update_fields=["received_by", "received_at", "missing", "extra"])
        box.tubes.filter(barcode__in=scanned_set, status=TubeStatus.SEALED).update(
            status=TubeStatus.RECEIVED, received_at=now
        )
        audit_record(
            actor=actor, action="box.receive", obj=box, detail={"missing": box.missing, "extra": box.extra}
        )
        if box.missing or box.extra:
            events.publish(
                "box.discrepancy",
                payload={"box": box.code, "missing": box.missing, "extra": box.extra},
                org_code=box.org_code,
            )
    return box


# --- results --------------------------------------------------------------------------------------


@dataclass
class RowOutcome:
    row: int
    tube: str
    ok: bool
    outcome: str  # recorded | unchanged | pending | rejected | error
    detail: str = ""
    notes: list[str] = field(default_factory=list)


RESULT_BATCH = 2_000  # rows per transaction: each batch is recorded, audited and propagated as one


def dual_confirmation_required() -> bool:
    """Policy switch ``testing_dual_confirmation`` (general rules): a result entered by one lab user is final
    only once a second, different lab user confirms it."""
    return bool(general_rule("testing_dual_confirmation", False))


def results_submit(*, actor: User, rows: list[dict[str, Any]]) -> list[RowOutcome]:
    """Record lab results, one per tube. Each row stands alone: a bad row says why, good rows are kept.

    Rows are checked first (result word, time); then every :data:`RESULT_BATCH` rows are one transaction:
    their tubes are read (and locked where the database can) in one query, each row is judged in order
    against the tube's state (including results recorded by earlier rows of the same submission), and the
    good rows are written with one prepared UPDATE, one audit entry for the batch and the batch's
    propagation (:func:`_propagate`): an outcome per row exactly as if each row had been recorded alone.

    Under dual confirmation (:func:`dual_confirmation_required`) good rows are entered as pending (outcome
    ``pending``): nothing propagates until another lab user confirms them (:func:`results_confirm`)."""
    _require(actor, Perm.TESTING_LAB)
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    checked: list[tuple[int, str, str, dt.datetime | None]] = []
    for index, row in enumerate(rows):
        barcode = str(row.get("tube", "")).strip()
        try:
            result, tested_at = _check_row(row)
        except DomainError as err:
            outcomes[index] = RowOutcome(index + 1, barcode, False, "error", err.message)
            continue
        checked.append((index, barcode, result, tested_at))
    pending = dual_confirmation_required()
    for start in range(0, len(checked), RESULT_BATCH):
        _record_batch(actor, checked[start : start + RESULT_BATCH], outcomes, pending=pending)
    return [outcome for outcome in outcomes if outcome is not None]


def _check_row(row: dict[str, Any]) -> tuple[str, dt.datetime | None]:
    result = str(row.get("result", "")).strip().lower()
    if result not in (TubeResult.NEGATIVE, TubeResult.POSITIVE, TubeResult.INVALID):
        raise DomainError(_("result must be negative, positive or invalid."))
    tested_at = row.get("tested_at")
    if isinstance(tested_at, str):
        tested_at = parse_datetime(tested_at)
        if tested_at is None:
            raise DomainError(_("tested_at is not a date and time."))
    if not tested_at:
        return result, None  # the time of recording
    if not isinstance(tested_at, dt.datetime):
        raise DomainError(_("tested_at is not a date and time."))
    if timezone.is_naive(tested_at):
        tested_at = timezone.make_aware(tested_at)
    return result, tested_at


@dataclass
class _Recorded:
    pk: int
    barcode: str
    result: str
    pool_size: int
    org_code: str


def _awaiting() -> str:
    return _("The result awaits confirmation by a second lab user.")


def _record_batch(
    actor: User | None,
    batch: list[tuple[int, str, str, dt.datetime | None]],
    outcomes: list[RowOutcome | None],
    *,
    pending: bool = False,
) -> None:
    with transaction.atomic():
        barcodes = sorted({barcode for _i, barcode, _r, _t in batch})
        tubes: dict[str, list] = {}
        for pk, barcode, status, result, pool_size, org_code, waiting in (
            Tube.objects.select_for_update()  # a no-op where the database has no row locks (SQLite)
            .filter(barcode__in=barcodes)
            .order_by("pk")
            .values_list("pk", "barcode", "status", "result", "pool_size", "org_code", "pending_result")
        ):
            tubes[barcode] = [pk, status, result, pool_size, org_code, waiting]
        now = timezone.now()
        by = actor.pk if actor is not None and actor.pk else None
        recorded: list[_Recorded] = []
        writes: list[tuple] = []
        receipts: list[int] = []
        cleared: list[int] = []  # pending entries a final result replaces (the switch was turned off)
        for index, barcode, result, tested_at in batch:
            tube = tubes.get(barcode)
            try:
                if tube is None:
                    raise DomainError(_("Unknown tube %(b)s.") % {"b": barcode or "?"})
                pk, status, current, pool_size, org_code, waiting = tube
                if status == TubeStatus.OPEN:
                    raise DomainError(_("Tube %(b)s is not sealed yet.") % {"b": barcode})
                if current:
                    if current == result:
                        outcomes[index] = RowOutcome(index + 1, barcode, True, "unchanged")
                        continue
                    raise DomainError(
                        _(
                            "Tube %(b)s already has the result %(r)s; a different result needs a re-test, not a correction."
                        )
                        % {"b": barcode, "r": current}
                    )
                if pending and waiting:
                    if waiting == result:
                        outcomes[index] = RowOutcome(index + 1, barcode, True, "pending", notes=[_awaiting()])
                        continue
                    raise DomainError(
                        _(
                            "Tube %(b)s has the result %(r)s awaiting confirmation; reject it before entering another."
                        )
                        % {"b": barcode, "r": waiting}
                    )
            except DomainError as err:
                outcomes[index] = RowOutcome(index + 1, barcode, False, "error", err.message)
                continue
            notes = []
            if status == TubeStatus.SEALED:
                notes.append(
                    _("The tube's receipt at the lab was never scanned; it is recorded as received now.")
                )
                receipts.append(pk)
            recorded.append(_Recorded(pk, barcode, result, pool_size, org_code))
            if pending:
                tube[1], tube[5] = TubeStatus.RECEIVED, result  # later rows of this submission see it
                writes.append((result, tested_at or now, by, now, pk))
                outcomes[index] = RowOutcome(index + 1, barcode, True, "pending", notes=[*notes, _awaiting()])
                continue
            if waiting:
                cleared.append(pk)
            tube[1], tube[2] = TubeStatus.RESULTED, result  # later rows of this submission see it
            writes.append((TubeStatus.RESULTED, result, tested_at or now, by, pk))
            outcomes[index] = RowOutcome(index + 1, barcode, True, "recorded", notes=notes)
        if not recorded:
            return
        if pending:
            _write_pending(writes, receipts, now)
            _audit_results(actor, "tube.result_pending", recorded)
            return
        _write_results(writes, receipts, now)
        if cleared:
            Tube.objects.filter(pk__in=cleared).update(**_NOT_PENDING)
        _audit_results(actor, "tube.result", recorded)
        _propagate(recorded, now)


_NOT_PENDING: dict[str, Any] = {
    "pending_result": "",
    "pending_tested_at": None,
    "pending_by": None,
    "pending_at": None,
}


def _audit_results(actor: User | None, action: str, tubes: list[_Recorded], **extra: Any) -> None:
    """One audit entry for a batch of tubes: how many, which results, which barcodes."""
    counts: dict[str, int] = {}
    for tube in tubes:
        counts[tube.result] = counts.get(tube.result, 0) + 1
    audit_record(
        actor=actor,
        action=action,
        org_code=_common_area(t.org_code for t in tubes),
        detail={"count": len(tubes), "results": counts, "tubes": [t.barcode for t in tubes], **extra},
    )


def _write_results(writes: list[tuple], receipts: list[int], now: dt.datetime) -> None:
    """Every recorded tube ``(status, result, tested_at, resulted_by id, pk)`` in one prepared UPDATE
    (``bulk_update``'s CASE WHEN is ~100x slower), or one UPDATE over arrays on PostgreSQL."""
    meta, ops, quote = Tube._meta, connection.ops, connection.ops.quote_name
    column = lambda name: quote(meta.get_field(name).column)  # noqa: E731
    at = ops.adapt_datetimefield_value(now)
    params = [
        (status, result, ops.adapt_datetimefield_value(tested_at), at, by, pk)
        for status, result, tested_at, by, pk in writes
    ]
    if engine.is_postgres():
        # executemany is one Bind/Execute per row on psycopg 3
        with engine.raw_cursor() as cursor:
            engine.pg_update(
                cursor, Tube, ("status", "result", "tested_at", "resulted_at", "resulted_by"), params
            )
    else:
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {column('status')} = %s, {column('result')} = %s, "  # noqa: S608
            f"{column('tested_at')} = %s, {column('resulted_at')} = %s, {column('resulted_by')} = %s "
            f"WHERE {quote(meta.pk.column)} = %s"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    for start in range(0, len(receipts), RESULT_BATCH):
        Tube.objects.filter(pk__in=receipts[start : start + RESULT_BATCH]).update(received_at=now)


def _write_pending(writes: list[tuple], receipts: list[int], now: dt.datetime) -> None:
    """Results entered for confirmation: ``(result, tested_at, entered by, entered at, pk)`` per tube; a tube
    whose receipt was never scanned is received now (the lab has it in hand)."""
    ops = connection.ops
    params = [
        (result, ops.adapt_datetimefield_value(tested_at), by, ops.adapt_datetimefield_value(at), pk)
        for result, tested_at, by, at, pk in writes
    ]
    fields = ("pending_result", "pending_tested_at", "pending_by", "pending_at")
    if engine.is_postgres():
        with engine.raw_cursor() as cursor:
            engine.pg_update(cursor, Tube, fields, params)
    else:
        with connection.cursor() as cursor:
            cursor.executemany(engine._update_sql(Tube, fields), params)
    for start in range(0, len(receipts), RESULT_BATCH):
        Tube.objects.filter(pk__in=receipts[start : start + RESULT_BATCH]).update(
            status=TubeStatus.RECEIVED, received_at=now
        )


def _barcodes(barcodes: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(str(b).strip() for b in barcodes if str(b or "").strip()))
    if not wanted:
        raise DomainError(_("Name at least one tube."), field="tubes")
    return wanted


def results_confirm(*, actor: User, barcodes: list[str]) -> list[RowOutcome]:
    """A second lab user confirms results entered by another: each becomes its tube's result and propagates
    exactly as a result recorded without the switch (``resulted_by`` stays the user who entered it,
    ``confirmed_by`` is the actor). One outcome per named tube; a tube without a result awaiting
    confirmation is an error row.

    Confirming a result one entered oneself is refused as a whole (400) and nothing is confirmed: the
    second pair of eyes is the point of the switch."""
    _require(actor, Perm.TESTING_LAB)
    wanted = _barcodes(barcodes)
    own: list[str] = []
    for start in range(0, len(wanted), RESULT_BATCH):
        own += (
            Tube.objects.filter(barcode__in=wanted[start : start + RESULT_BATCH], pending_by=actor)
            .exclude(pending_result="")
            .values_list("barcode", flat=True)
        )
    if own:
        raise DomainError(
            _("You entered the results of %(b)s yourself; a second lab user must confirm them.")
            % {"b": ", ".join(sorted(own))},
            field="tubes",
        )
    outcomes: list[RowOutcome | None] = [None] * len(wanted)
    indexed = list(enumerate(wanted))
    for start in range(0, len(indexed), RESULT_BATCH):
        _confirm_batch(actor, indexed[start : start + RESULT_BATCH], outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def _pending_tubes(barcodes: list[str]) -> dict[str, tuple]:
    return {
        row[1]: row
        for row in Tube.objects.select_for_update()
        .filter(barcode__in=barcodes)
        .order_by("pk")
        .values_list(
            "pk", "barcode", "pool_size", "org_code", "pending_result", "pending_tested_at", "pending_by_id"
        )
    }


def _confirm_batch(actor: User, batch: list[tuple[int, str]], outcomes: list[RowOutcome | None]) -> None:
    with transaction.atomic():
        tubes = _pending_tubes([barcode for _i, barcode in batch])
        now = timezone.now()
        recorded: list[_Recorded] = []
        writes: list[tuple] = []
        entered_by: set[int] = set()
        for index, barcode in batch:
            tube = tubes.get(barcode)
            if tube is None:
                outcomes[index] = RowOutcome(index + 1, barcode, False, "error", _unknown(barcode))
                continue
            pk, _b, pool_size, org_code, waiting, tested_at, by = tube
            if not waiting:
                outcomes[index] = RowOutcome(index + 1, barcode, False, "error", _nothing_pending(barcode))
                continue
            if by == actor.pk:  # entered by the actor between the check and the lock
                raise DomainError(
                    _("You entered the results of %(b)s yourself; a second lab user must confirm them.")
                    % {"b": barcode},
                    field="tubes",
                )
            writes.append((TubeStatus.RESULTED, waiting, tested_at or now, by, pk))
            recorded.append(_Recorded(pk, barcode, waiting, pool_size, org_code))
            if by is not None:
                entered_by.add(by)
            outcomes[index] = RowOutcome(index + 1, barcode, True, "recorded")
        if not recorded:
            return
        _write_results(writes, [], now)
        Tube.objects.filter(pk__in=[t.pk for t in recorded]).update(
            confirmed_by=actor, confirmed_at=now, **_NOT_PENDING
        )
        _audit_results(actor, "tube.result", recorded, confirmed=True, entered_by=sorted(entered_by))
        _propagate(recorded, now)


def _unknown(barcode: str) -> str:
    return _("Unknown tube %(b)s.") % {"b": barcode or "?"}


def _nothing_pending(barcode: str) -> str:
    return _("Tube %(b)s has no result awaiting confirmation.") % {"b": barcode}


def results_reject(*, actor: User, barcodes: list[str], reason: str = "") -> list[RowOutcome]:
    """Results awaiting confirmation are dropped (the second lab user disagrees, or the one who entered them
    withdraws them); the tubes can then be entered again. Audited with the reason."""
    _require(actor, Perm.TESTING_LAB)
    wanted = _barcodes(barcodes)
    outcomes: list[RowOutcome] = []
    with transaction.atomic():
        tubes = _pending_tubes(wanted)
        dropped: list[_Recorded] = []
        for index, barcode in enumerate(wanted):
            tube = tubes.get(barcode)
            if tube is None:
                outcomes.append(RowOutcome(index + 1, barcode, False, "error", _unknown(barcode)))
            elif not tube[4]:
                outcomes.append(RowOutcome(index + 1, barcode, False, "error", _nothing_pending(barcode)))
            else:
                dropped.append(_Recorded(tube[0], barcode, tube[4], tube[2], tube[3]))
                outcomes.append(RowOutcome(index + 1, barcode, True, "rejected"))
        if dropped:
            for start in range(0, len(dropped), RESULT_BATCH):
                chunk = [t.pk for t in dropped[start : start + RESULT_BATCH]]
                Tube.objects.filter(pk__in=chunk).update(**_NOT_PENDING)
            _audit_results(actor, "tube.result_reject", dropped, reason=reason.strip()[:200])
    return outcomes


def _common_area(codes: Any) -> str:
    """The narrowest area code (district 6, street 9, community 12, grid 15 digits) covering all ``codes``."""
    codes = sorted(set(codes))
    if not codes:
        return ""
    first, last = codes[0], codes[-1]  # the common prefix of the sorted ends is that of all
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last))
    )
    prefix = first[:size]
    for length in (15, 12, 9, 6):
        if len(prefix) >= length:
            return prefix[:length]
    return ""


def _propagate(tubes: list[_Recorded], now: dt.datetime) -> None:
    """Every member takes the tube's result; a positive or invalid pool recalls its members.

    For a batch of tubes (in the order of their rows) with the effect of propagating them one by one:
    one ``test.resulted`` event per result with each person's own sampling time (a person in two tubes of
    the batch takes the later row's result, as the later event would have written), single tubes resolve
    the open recalls of their person (also those made by an earlier row of the batch), ``specimen.positive``
    per positive single tube, and ``testing.recall`` per grid and reason."""
    members: dict[int, list[tuple]] = {}
    ids = [t.pk for t in tubes]
    for start in range(0, len(ids), RESULT_BATCH):
        for row in _members(ids[start : start + RESULT_BATCH]):
            members.setdefault(row[0], []).append(row[1:])

    tested: dict[int, tuple[str, dt.datetime]] = {}  # person -> (result, sampled at), the last row wins
    tubes_by_result: dict[str, list[_Recorded]] = {}
    for tube in tubes:
        if tube.result in (TubeResult.NEGATIVE, TubeResult.POSITIVE):
            tubes_by_result.setdefault(tube.result, []).append(tube)
            for _pk, pid, _org, sampled_at in members.get(tube.pk, ()):
                tested.pop(pid, None)  # re-insert: dict order is then the order of the last rows
                tested[pid] = (tube.result, sampled_at)
    for result, result_tubes in tubes_by_result.items():
        people = [(pid, at) for pid, (r, at) in tested.items() if r == result]
        if not people:
            continue
        events.publish(
            "test.resulted",
            payload={
                "person_ids": [pid for pid, _at in people],
                "people": [[pid, at.isoformat()] for pid, at in people],
                "result": result,
                "at": min(at for _pid, at in people).isoformat(),
                "tubes": [t.barcode for t in result_tubes],
            },
            org_code=_common_area(t.org_code for t in result_tubes),
        )
    _recall(tubes, members, now)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _members(tube_ids: list[int]) -> list[tuple]:
    """(tube_id, specimen pk, person_id, org_code, sampled_at) of the specimens of ``tube_ids``, by pk.

    Raw SQL: the ORM spends ~4 µs on each value of an ``IN`` list, and Django's datetime converters ~2 µs
    (SQLite) to ~10 µs (PostgreSQL) on each of 20,000 sampling times a batch. The times are the same aware
    UTC datetimes: on PostgreSQL from whole microseconds since the epoch (exact), on SQLite from the stored
    naive UTC text."""
    meta, quote = Specimen._meta, connection.ops.quote_name
    column = lambda name: quote(meta.get_field(name).column)  # noqa: E731
    if engine.is_postgres():
        rows = engine.select_each(
            f"{column('tube')}, {quote(meta.pk.column)}, {column('person')}, {column('org_code')}, "
            f"(EXTRACT(EPOCH FROM {column('sampled_at')}) * 1000000)::int8",
            quote(meta.db_table),
            column("tube"),
            tube_ids,
            per_query=engine.PG_EACH // 10,  # tubes of up to 20 specimens
        )
        # Sorted here: with an ORDER BY the planner may walk the whole primary key (a million specimens) in
        # order and filter, rather than look the tubes up in their index.
        rows.sort(key=lambda row: row[1])
        return [
            (tube, pk, pid, org, _EPOCH + dt.timedelta(microseconds=us)) for tube, pk, pid, org, us in rows
        ]
    if not engine._fast_path():
        return list(
            Specimen.objects.filter(tube_id__in=tube_ids)
            .order_by("pk")
            .values_list("tube_id", "pk", "person_id", "org_code", "sampled_at")
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column('tube')}, {quote(meta.pk.column)}, {column('person')}, "  # noqa: S608
            f"{column('org_code')}, CAST({column('sampled_at')} AS TEXT) "
            f"FROM {quote(meta.db_table)} WHERE {column('tube')} IN ({', '.join(['%s'] * len(tube_ids))}) "
            f"ORDER BY {quote(meta.pk.column)}",
            tube_ids,
        )
        parse = dt.datetime.fromisoformat
        return [
            (tube, pk, pid, org, parse(at).replace(tzinfo=dt.UTC))
            for tube, pk, pid, org, at in cursor.fetchall()
        ]


def _recall(tubes: list[_Recorded], members: dict[int, list[tuple]], now: dt.datetime) -> None:
    """Recalls of positive or invalid pools (and invalid single tubes); single-tube results resolve open ones."""
    singles = [t for t in tubes if t.pool_size == 1]
    single_people = {pid for t in singles for _pk, pid, _org, _at in members.get(t.pk, ())}
    open_recalls: dict[int, list[list]] = {}  # person -> [[recall pk or None, tube pk, Recall or None]]
    for start in range(0, len(single_people), RESULT_BATCH) if single_people else ():
        chunk = sorted(single_people)[start : start + RESULT_BATCH]
        for pk, pid, tube_id in (
            Recall.objects.select_for_update()
            .filter(person_id__in=chunk, resolved_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "person_id", "tube_id")
        ):
            open_recalls.setdefault(pid, []).append([pk, tube_id, None])
    due = now + dt.timedelta(hours=int(general_rule("testing_recall_hours", 12)))
    resolved: dict[str, list[int]] = {}  # resolution -> pks of recalls that existed before the batch
    made: list[Recall] = []
    groups: dict[tuple[str, str], tuple[list[int], list[str]]] = {}  # (grid, reason) -> (persons, tubes)
    for tube in tubes:
        tube_members = members.get(tube.pk, [])
        if tube.pool_size == 1:
            # A single-tube result answers the person's open recalls (not those of this very tube).
            for _pk, pid, _org, _at in tube_members:
                still_open = []
                for entry in open_recalls.get(pid, []):
                    recall_pk, tube_id, recall = entry
                    if tube_id == tube.pk:
                        still_open.append(entry)
                    elif recall is not None:
                        recall.resolved_at, recall.resolution = now, tube.result
                    else:
                        resolved.setdefault(tube.result, []).append(recall_pk)
                open_recalls[pid] = still_open
        if tube.result == TubeResult.POSITIVE and tube.pool_size == 1:
            for specimen_pk, pid, org, sampled_at in tube_members[:1]:
                events.publish(
                    "specimen.positive",
                    payload={
                        "person_id": pid,
                        "specimen_id": specimen_pk,
                        "tube": tube.barcode,
                        "sampled_at": sampled_at.isoformat(),
                    },
                    org_code=org,
                )
        elif tube.result in (TubeResult.POSITIVE, TubeResult.INVALID):
            for _pk, pid, org, _at in tube_members:
                recall = Recall(
                    person_id=pid,
                    org_code=org,
                    tube_id=tube.pk,
                    reason=tube.result,
                    due_at=due,
                    created_at=now,
                )
                made.append(recall)
                if pid in single_people:
                    open_recalls.setdefault(pid, []).append([None, tube.pk, recall])
                persons, barcodes = groups.setdefault((org, tube.result), ([], []))
                persons.append(pid)
                if not barcodes or barcodes[-1] != tube.barcode:
                    barcodes.append(tube.barcode)
    for resolution, pks in resolved.items():
        Recall.objects.filter(pk__in=pks).update(resolved_at=now, resolution=resolution)
    Recall.objects.bulk_create(made, batch_size=500)
    if made:
        # The law requires telling each recalled person (inbox and SMS, whatever their settings).
        recalled = Person.objects.filter(pk__in={r.person_id for r in made}).only("pk", "org_code")
        notices.person_notify(actor=None, persons=recalled, kind="testing_recall", params={"due": due})
    for (org, reason), (ids, barcodes) in groups.items():
        # One event per grid (and reason): the grid module turns it into a task for that grid's workers.
        events.publish(
            "testing.recall",
            payload={"person_ids": ids, "tubes": barcodes, "reason": reason, "due_at": due.isoformat()},
            org_code=org,
        )


# --- lab sheets -----------------------------------------------------------------------------------

DEFAULT_MAPPING = {"tube": "tube", "result": "result", "tested_at": "tested_at"}
RESULT_WORDS = {
    "阴性": "negative",
    "阳性": "positive",
    "无效": "invalid",
    "neg": "negative",
    "pos": "positive",
}


def read_sheet(*, filename: str, content: bytes) -> list[dict[str, Any]]:
    """The rows of an uploaded lab sheet (CSV in UTF-8 or GBK, or .xlsx) as dicts keyed by the header row."""
    import csv
    import io

    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception:
            raise DomainError(_("The file is not a readable Excel workbook (.xlsx).")) from None
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        return [dict(zip(header, row, strict=False)) for row in rows[1:]]
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError(_("The file is neither UTF-8 nor GBK text."))
    return list(csv.DictReader(io.StringIO(text)))


def results_import(
    *, actor: User, rows: list[dict[str, Any]], mapping: dict[str, str] | None = None
) -> list[RowOutcome]:
    """A lab sheet with its own column names: ``mapping`` says which column holds tube, result and time.

    Outcomes carry the sheet's row numbers (the header is row 1)."""
    mapping = {**DEFAULT_MAPPING, **(mapping or {})}
    if rows and mapping["tube"] not in rows[0]:
        raise DomainError(
            _("The sheet has no column %(c)s; map the tube column.") % {"c": mapping["tube"]}, field="mapping"
        )
    normalised = []
    for row in rows:
        result = str(row.get(mapping["result"], "") or "").strip()
        normalised.append(
            {
                "tube": str(row.get(mapping["tube"], "") or "").strip(),
                "result": RESULT_WORDS.get(result.lower(), RESULT_WORDS.get(result, result)),
                "tested_at": row.get(mapping["tested_at"]) or None,
            }
        )
    outcomes = results_submit(actor=actor, rows=normalised)
    for outcome in outcomes:
        outcome.row += 1
    return outcomes


# --- sampling points and rounds ---------------------------------------------------------------------


def sampling_point_create(
    *,
    actor: User,
    name: str,
    kind: str,
    grid: Any,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    opening_hours: str = "",
) -> SamplingPoint:
    _require(actor, Perm.TESTING_VIEW)
    if not name.strip():
        raise DomainError(_("The sampling point needs a name."), field="name")
    with transaction.atomic():
        point = SamplingPoint.objects.create(
            name=name.strip()[:120],
            kind=kind,
            grid=grid,
            org_code=grid.code,
            address=address[:200],
            lat=lat,
            lng=lng,
            opening_hours=opening_hours[:100],
        )
        audit_record(actor=actor, action="samplingpoint.create", obj=point)
    return point


def testing_round_create(*, actor: User, name: str, area: Any, day: dt.date) -> TestingRound:
    """A campaign over an area (a street, a community...) on one day; its target is the area's residents."""
    _require(actor, Perm.TESTING_VIEW)
    target = Person.objects.filter(org_code__startswith=area.code).count()
    with transaction.atomic():
        testing_round = TestingRound.objects.create(
            name=name.strip()[:120] or str(day),
            area=area,
            org_code=area.code,
            day=day,
            target_population=target,
            created_by=actor,
        )
        audit_record(actor=actor, action="testinground.create", obj=testing_round, detail={"target": target})
    return testing_round
