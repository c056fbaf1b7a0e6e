"""List imports: sources, upload, column mapping, processing, correction of rejected rows, and the Excel
files of an import's rows.

The life of an import: ``import_upload`` reads the file (``comparison.reading``) and stores every non-blank
row's raw cells at once (status MAPPING) with a guessed mapping; ``import_set_mapping`` confirms the mapping,
remembers it on the source and queues the processing task (QUEUED); ``import_process`` (the task) works
through the rows still waiting, a chunk per transaction: each row is normalised and validated
(``comparison.normalise``), rejected rows are saved with their reasons, accepted rows are linked to persons
(``services.linkage.link_rows``) and become arrivals (``services.archive.arrivals_from_rows``); the progress
counter moves with every chunk, and the import is DONE at the end (event ``lists.imported``).

Resumable: a row is waiting while it is PENDING and has no normalised identity (no name, no ID number):
every accepted row has one, every rejected row is REJECTED. A crash or a stop mid-way leaves the committed
chunks done, and running the task again (``import_resume``, the page's "Resume" button) carries on with
the rest; no row is processed twice. Chunks of one import are serialised by a lock on the import row.

Duplicates: rows of one import with the same person (same document number, or the same name, phone and birth
date without one) are linked once; the later rows follow the first and say so in a warning.

Nothing is lost: a rejected row keeps its raw cells and reasons; ``row_correct`` adds the corrected row to
the same import (``corrects`` the old one, which becomes CORRECTED) and processes it at once; the rejected rows
can also be downloaded as a workbook in the file's own layout, corrected and uploaded as a new list.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from epigrid.comparison import normalise, reading
from epigrid.comparison.addresses import AddressIndex, locate_grid_id
from epigrid.comparison.models import (
    ImportStatus,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
    SourceKind,
)
from epigrid.comparison.services import archive, linkage
from epigrid.core import events
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.masking import mask_document, mask_name, mask_phone
from epigrid.core.models import OrgLevel, OrgUnit, Sex, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code
from epigrid.core.services import person_document_index, phone_index

CHUNK = 2000
REFERENCE_SAMPLE = 2000  # rows whose full arrival dates give the year of dates written without one
NORMALISED_FIELDS = [
    "name",
    "id_type",
    "id_number",
    "id_number_index",
    "id_number_masked",
    "phone",
    "phone_index",
    "phone_masked",
    "birth_date",
    "sex",
    "address",
    "grid",
    "org_code",
    "origin",
    "origin_region_code",
    "travel_mode",
    "arrived_at",
    "status",
    "errors",
]
LINK_FIELDS = ["person", "link_method", "match_probability", "status", "candidates", "errors"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


def _require_area(actor: User | None, org_code: str) -> None:
    if actor is not None and not in_scope_code(actor, org_code):
        raise Forbidden(_("This is outside your area."))


def _who(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


# --- sources ------------------------------------------------------------------------------------------


def source_create(
    *, actor: User | None, name: str, kind: str = SourceKind.OTHER, org_code: str = ""
) -> ListSource:
    """A place lists come from, in the actor's area (``org_code``: a unit inside it; the actor's own by
    default). Its name is unique in the area."""
    _require(actor, Perm.COMPARISON_IMPORT)
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_("Give the source a name."), field="name")
    if len(name) > 120:
        raise DomainError(_("The name is longer than 120 characters."), field="name")
    if kind not in SourceKind.values:
        raise DomainError(_("Choose the kind of source."), field="kind")
    org_code = org_code or (actor.org_code if actor is not None else "") or district_code()
    _require_area(actor, org_code)
    if ListSource.objects.filter(org_code=org_code, name=name).exists():
        raise Conflict(_("A source named %(name)s exists already.") % {"name": name}, field="name")
    with transaction.atomic():
        source = ListSource.objects.create(name=name, kind=kind, org_code=org_code, created_by=_who(actor))
        audit_record(actor=actor, action="listsource.create", obj=source, detail={"kind": kind})
    return source


# --- upload and mapping -------------------------------------------------------------------------------


def _insert_rows(list_import: ListImport, rows: list[tuple[int, dict[str, str]]]) -> None:
    """Store the rows as read (PENDING), through one prepared INSERT per batch: ``bulk_create`` compiles
    every value of every row and SQLite's parameter limit cuts it to ~30 rows a statement (20,000 rows took
    12 s)."""
    meta = ListRow._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    template = ListRow(list_import=list_import, org_code=list_import.org_code)
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    raw_field = meta.get_field("raw")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            params = []
            for number, cells in rows[start : start + 5000]:
                values = {**base, "row_number": number, "raw": raw_field.get_db_prep_save(cells, connection)}
                params.append([values[f.attname] for f in fields])
            cursor.executemany(sql, params)


def import_upload(*, actor: User | None, source: ListSource, file_name: str, content: bytes) -> ListImport:
    """Read an uploaded list and store it row by row, waiting for its column mapping (a guess is ready:
    the source's saved mapping where this file has those headers, else the usual header names)."""
    _require(actor, Perm.COMPARISON_IMPORT)
    _require_area(actor, source.org_code)
    sheet = reading.read_list(file_name=file_name, content=content)
    digest = hashlib.sha256(content).hexdigest()
    earlier = (
        ListImport.objects.filter(source=source, file_sha256=digest)
        .exclude(status=ImportStatus.FAILED)
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            _("This file was uploaded to %(source)s already on %(day)s (%(file)s).")
            % {
                "source": source.name,
                "day": timezone.localtime(earlier.uploaded_at).strftime("%Y-%m-%d %H:%M"),
                "file": earlier.file_name,
            },
            field="file",
        )
    with transaction.atomic():
        list_import = ListImport.objects.create(
            source=source,
            org_code=source.org_code,
            file_name=(file_name or "list")[:200],
            file_sha256=digest,
            header=sheet.header,
            header_row=sheet.header_row,
            blank_rows=sheet.blank_rows[:1000],
            mapping=normalise.guess_mapping(sheet.header, source.mapping),
            status=ImportStatus.MAPPING,
            total_rows=len(sheet.rows),
            uploaded_by=_who(actor),
        )
        _insert_rows(list_import, sheet.rows)
        audit_record(
            actor=actor,
            action="listimport.upload",
            obj=list_import,
            detail={
                "source": source.pk,
                "file": list_import.file_name,
                "rows": len(sheet.rows),
                "header_row": sheet.header_row,
                "blank_rows": len(sheet.blank_rows),
            },
        )
    return list_import


def mapping_validate(*, mapping: dict[str, str], header: list[str], kind: str) -> dict[str, str]:
    """The mapping without empty entries; DomainError (naming the field) when a field names a column the
    file does not have, two fields share a column, nothing identifies a person, or a column the source's
    lists need is not mapped."""
    clean: dict[str, str] = {}
    for name, column in (mapping or {}).items():
        if name not in normalise.FIELDS:
            raise DomainError(_("Unknown field %(f)s.") % {"f": name}, field="mapping")
        if not column:
            continue
        if column not in header:
            raise DomainError(_("The file has no column %(c)s.") % {"c": column}, field=name)
        if column in clean.values():
            raise DomainError(_("The column %(c)s is chosen for two fields.") % {"c": column}, field=name)
        clean[name] = column
    if "name" not in clean and "id_number" not in clean:
        raise DomainError(_("Choose the column of the names or of the ID numbers."), field="name")
    for name in normalise.REQUIRED_BY_KIND.get(kind, ()):
        if name not in clean:
            raise DomainError(
                _("Lists from this source need the column %(field)s.")
                % {"field": normalise.FIELD_LABELS[name]},
                field=name,
            )
    return clean


def _enqueue(list_import: ListImport) -> None:
    from epigrid.comparison.tasks import process_list_import

    process_list_import.enqueue(list_import_id=list_import.pk)


def import_set_mapping(
    *, actor: User | None, list_import: ListImport, mapping: dict[str, str], remember: bool = True
) -> ListImport:
    """Confirm which column holds which field, remember it on the source (``remember``), and queue the
    processing of the rows."""
    _require(actor, Perm.COMPARISON_IMPORT)
    _require_area(actor, list_import.org_code)
    with transaction.atomic():
        locked = ListImport.objects.select_for_update().select_related("source").get(pk=list_import.pk)
        if locked.status != ImportStatus.MAPPING:
            raise Conflict(_("The columns of this list are mapped already."))
        clean = mapping_validate(mapping=mapping, header=locked.header, kind=locked.source.kind)
        locked.mapping = clean
        locked.status = ImportStatus.QUEUED
        locked.save(update_fields=["mapping", "status"])
        if remember:
            locked.source.mapping = clean
            locked.source.save(update_fields=["mapping"])
        audit_record(
            actor=actor,
            action="listimport.map",
            obj=locked,
            detail={"mapping": clean, "remembered": remember},
        )
    # After the commit: a worker that picks the task up must see the mapping. (With the database backend
    # the task row could join the transaction; the immediate backend runs it on the spot.)
    _enqueue(locked)
    locked.refresh_from_db()
    return locked


def import_resume(*, actor: User | None, list_import: ListImport) -> ListImport:
    """Queue the processing again for an import that stopped (failed, or its worker went away)."""
    _require(actor, Perm.COMPARISON_IMPORT)
    _require_area(actor, list_import.org_code)
    with transaction.atomic():
        locked = ListImport.objects.select_for_update().get(pk=list_import.pk)
        if locked.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED):
            raise Conflict(_("This list is not waiting to be processed."))
        locked.status, locked.error = ImportStatus.QUEUED, ""
        locked.save(update_fields=["status", "error"])
        audit_record(actor=actor, action="listimport.resume", obj=locked)
    _enqueue(locked)
    locked.refresh_from_db()
    return locked


# --- processing ---------------------------------------------------------------------------------------


@dataclass
class _Context:
    row: normalise.RowContext
    grid_codes: dict[int, str] = field(default_factory=dict)


def _reference_date(list_import: ListImport) -> object:
    column = list_import.mapping.get("arrived_at", "")
    default = timezone.localdate(list_import.uploaded_at)
    if not column:
        return default
    sample = list_import.rows.filter(corrects__isnull=True).order_by("row_number")[:REFERENCE_SAMPLE]
    return normalise.date_reference((row.raw.get(column, "") for row in sample), default)


def _context(list_import: ListImport, *, bulk: bool) -> _Context:
    """What normalising this import's rows needs; ``bulk``: build the district's address index once
    (a run over many rows), else locate addresses one by one (a correction)."""
    locate = None
    if list_import.mapping.get("address"):
        locate = AddressIndex.build().locate if bulk else locate_grid_id
    grid_codes = dict(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("pk", "code"))
    return _Context(
        row=normalise.RowContext(
            required=normalise.REQUIRED_BY_KIND.get(list_import.source.kind, ()),
            reference=_reference_date(list_import),
            now=timezone.now(),
            locate=locate,
        ),
        grid_codes=grid_codes,
    )


def _save(rows: list[ListRow], names: list[str]) -> None:
    """Save ``names`` of ``rows``: one prepared UPDATE per row through ``executemany`` (``bulk_update``'s
    CASE WHEN statements grow with rows × fields: 2,000 rows of 19 fields took 28 s on SQLite)."""
    if not rows:
        return
    meta = ListRow._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [*(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields), row.pk] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _apply(row: ListRow, values: normalise.RowValues, list_import: ListImport, context: _Context) -> None:
    row.name = values.name
    row.id_type = values.id_type
    row.id_number = values.id_number
    row.id_number_index = person_document_index(values.id_type, values.id_number) if values.id_number else ""
    row.id_number_masked = mask_document(values.id_number)
    row.phone = values.phone
    row.phone_index = phone_index(values.phone)
    row.phone_masked = mask_phone(values.phone)
    row.birth_date = values.birth_date
    row.sex = values.sex
    row.address = values.address
    row.grid_id = values.grid_id if values.grid_id in context.grid_codes else None
    row.org_code = context.grid_codes[row.grid_id] if row.grid_id else list_import.org_code
    row.origin = values.origin
    row.origin_region_code = values.origin_region_code
    row.travel_mode = values.travel_mode
    row.arrived_at = values.arrived_at
    row.errors = values.errors
    row.status = RowStatus.REJECTED if values.rejected else RowStatus.PENDING
    # No outcome yet (a chunk done again after a failed attempt starts clean).
    row.person, row.link_method, row.match_probability, row.candidates = None, "", None, []


def _identity(row: ListRow) -> tuple[str, ...]:
    if row.id_number_index:
        return ("id", row.id_type, row.id_number_index)
    return ("fp", linkage.fingerprint(row))


def _follow(row: ListRow, first: ListRow) -> None:
    """A duplicate takes the outcome of the first row of the same person."""
    row.person_id = first.person_id
    row.link_method = first.link_method
    row.match_probability = first.match_probability
    row.candidates = first.candidates
    row.status = first.status
    row.errors = [
        *row.errors,
        normalise.Problem(
            "row", _("The same person as row %(n)d: linked the same way.") % {"n": first.row_number}
        ).as_dict(),
    ]


def _process(
    *,
    actor: User | None,
    list_import: ListImport,
    rows: list[ListRow],
    mapping: dict[str, str],
    context: _Context,
) -> tuple[int, int]:
    """Normalise, validate, link and archive ``rows`` (inside the caller's transaction). (accepted, rejected)."""
    accepted: list[ListRow] = []
    for row in rows:
        values = normalise.normalise_row(row.raw, mapping, context.row)
        _apply(row, values, list_import, context)
        if not values.rejected:
            accepted.append(row)
    _save(rows, NORMALISED_FIELDS)

    # One link per person: the first row of each identity is linked, later ones (here or in an earlier
    # chunk) follow it.
    firsts: dict[tuple[str, ...], ListRow] = {}
    indexes = {r.id_number_index for r in accepted if r.id_number_index}
    if indexes:
        earlier = (
            ListRow.objects.filter(list_import=list_import, id_number_index__in=indexes)
            .filter(status__in=(RowStatus.LINKED, RowStatus.PROVISIONAL, RowStatus.REVIEW))
            .exclude(pk__in=[r.pk for r in rows])
            .order_by("-row_number")
        )
        for done in earlier:
            firsts[_identity(done)] = done
    fresh, followers = [], []
    for row in accepted:
        key = _identity(row)
        if key in firsts:
            followers.append((row, firsts[key]))
        else:
            firsts[key] = row
            fresh.append(row)
    linkage.link_rows(actor=actor, rows=fresh)
    for row, first in followers:
        _follow(row, first)
    if followers:
        _save([row for row, _first in followers], LINK_FIELDS)
    archive.arrivals_from_rows(actor=actor, rows=accepted)
    return len(accepted), len(rows) - len(accepted)


def _process_chunk(
    *,
    actor: User | None,
    list_import: ListImport,
    rows: list[ListRow],
    mapping: dict[str, str],
    context: _Context,
) -> tuple[int, int]:
    """:func:`_process` for a chunk; when a row cannot be linked (a new person without a name, say), the
    chunk is done again row by row and the rows that fail are rejected with the reason, so that one row
    never stops a list."""
    try:
        with transaction.atomic():
            return _process(actor=actor, list_import=list_import, rows=rows, mapping=mapping, context=context)
    except DomainError:
        pass
    accepted = rejected = 0
    for row in rows:
        try:
            with transaction.atomic():
                a, r = _process(
                    actor=actor, list_import=list_import, rows=[row], mapping=mapping, context=context
                )
        except DomainError as err:
            values = normalise.normalise_row(row.raw, mapping, context.row)
            _apply(row, values, list_import, context)
            row.status = RowStatus.REJECTED
            row.errors = [
                *row.errors,
                normalise.Problem(err.field or "identity", err.message, normalise.ERROR).as_dict(),
            ]
            _save([row], NORMALISED_FIELDS)
            a, r = 0, 1
        accepted, rejected = accepted + a, rejected + r
    return accepted, rejected


def _waiting(list_import: ListImport) -> QuerySet[ListRow]:
    """Rows not processed yet: PENDING without a normalised identity."""
    return list_import.rows.filter(status=RowStatus.PENDING, name="", id_number_index="")


def import_process(*, list_import_id: int, chunk: int = CHUNK, max_chunks: int | None = None) -> ListImport:
    """Process the waiting rows of an import, ``chunk`` rows per transaction (``max_chunks``: stop after so
    many, leaving the import RUNNING — a long list shares the worker; the next run carries on). DONE at the
    end, with the ``lists.imported`` event."""
    list_import = ListImport.objects.select_related("source", "uploaded_by").get(pk=list_import_id)
    if list_import.status == ImportStatus.MAPPING:
        raise Conflict(_("The columns of this list are not mapped yet."))
    if list_import.status == ImportStatus.DONE:
        return list_import
    ListImport.objects.filter(pk=list_import.pk).update(status=ImportStatus.RUNNING, error="")
    actor = list_import.uploaded_by
    context = _context(list_import, bulk=True)
    done_chunks = 0
    while True:
        with transaction.atomic():
            # The lock serialises chunks of one import between workers (SQLite: the IMMEDIATE transaction).
            ListImport.objects.select_for_update().filter(pk=list_import.pk).first()
            rows = list(_waiting(list_import).order_by("row_number", "pk")[:chunk])
            if not rows:
                break
            accepted, rejected = _process_chunk(
                actor=actor, list_import=list_import, rows=rows, mapping=list_import.mapping, context=context
            )
            ListImport.objects.filter(pk=list_import.pk).update(
                processed_rows=F("processed_rows") + len(rows)
            )
            audit_record(
                actor=actor,
                action="listimport.process",
                obj=list_import,
                detail={"rows": len(rows), "accepted": accepted, "rejected": rejected},
            )
        done_chunks += 1
        if max_chunks is not None and done_chunks >= max_chunks:
            list_import.refresh_from_db()
            return list_import
    return _finish(list_import)


def _finish(list_import: ListImport) -> ListImport:
    with transaction.atomic():
        locked = ListImport.objects.select_for_update().get(pk=list_import.pk)
        if locked.status == ImportStatus.DONE:
            return locked
        rows = locked.rows.filter(corrects__isnull=True).count()
        rejected = locked.rows.filter(status=RowStatus.REJECTED).count()
        locked.status, locked.finished_at, locked.error = ImportStatus.DONE, timezone.now(), ""
        locked.save(update_fields=["status", "finished_at", "error"])
        audit_record(
            actor=locked.uploaded_by,
            action="listimport.done",
            obj=locked,
            detail={"rows": rows, "rejected": rejected},
        )
        events.publish(
            "lists.imported",
            payload={"import_id": locked.pk, "rows": rows, "rejected": rejected},
            org_code=locked.org_code,
        )
    return locked


def import_fail(*, list_import_id: int, message: str) -> None:
    """Mark an import whose processing broke off (the rows done stay done; resuming carries on)."""
    with transaction.atomic():
        ListImport.objects.filter(pk=list_import_id).exclude(status=ImportStatus.DONE).update(
            status=ImportStatus.FAILED, error=(message or "")[:500]
        )
        list_import = ListImport.objects.filter(pk=list_import_id).first()
        if list_import is not None:
            audit_record(
                actor=None, action="listimport.fail", obj=list_import, detail={"error": (message or "")[:200]}
            )


# --- correction ---------------------------------------------------------------------------------------


def correction_column(list_import: ListImport, name: str) -> str:
    """The column a corrected value of field ``name`` is kept under: the mapped one, else ``[name]``."""
    return list_import.mapping.get(name) or f"[{name}]"


def row_correct(*, actor: User | None, row: ListRow, values: dict[str, str]) -> ListRow:
    """A rejected row corrected by hand: a new row of the same import with the corrected cells (``values``:
    field -> text; fields left out keep the list's value) that ``corrects`` the old one, processed at once.
    The old row becomes CORRECTED."""
    _require(actor, Perm.COMPARISON_IMPORT)
    list_import = ListImport.objects.select_related("source").get(pk=row.list_import_id)
    if actor is not None and not (
        in_scope_code(actor, list_import.org_code) or in_scope_code(actor, row.org_code)
    ):
        raise Forbidden(_("This is outside your area."))
    unknown = set(values) - set(normalise.FIELDS)
    if unknown:
        raise DomainError(_("Unknown field %(f)s.") % {"f": sorted(unknown)[0]})
    mapping = dict(list_import.mapping)
    raw = dict(row.raw)
    changed = []
    for name, text in values.items():
        column = correction_column(list_import, name)
        mapping[name] = column
        text = (text or "").strip()
        if raw.get(column, "") != text:
            changed.append(name)
        if text:
            raw[column] = text
        else:
            raw.pop(column, None)
    with transaction.atomic():
        old = ListRow.objects.select_for_update().get(pk=row.pk)
        if old.status != RowStatus.REJECTED:
            raise Conflict(
                _("Only a rejected row can be corrected; this one is %(s)s.")
                % {"s": old.get_status_display()}
            )
        context = _context(list_import, bulk=False)
        new = ListRow.objects.create(
            list_import=list_import,
            row_number=old.row_number,
            org_code=list_import.org_code,
            raw=raw,
            corrects=old,
        )
        old.status = RowStatus.CORRECTED
        old.save(update_fields=["status"])
        _process_chunk(actor=actor, list_import=list_import, rows=[new], mapping=mapping, context=context)
        audit_record(
            actor=actor,
            action="listrow.correct",
            obj=new,
            detail={"corrects": old.pk, "import": list_import.pk, "fields": sorted(changed)},
        )
    new.refresh_from_db()
    return new


def row_reveal(*, actor: User, row: ListRow) -> dict[str, str]:
    """The row's raw cells in full (to correct it): needs the reveal permission, audited."""
    _require(actor, Perm.PERSON_REVEAL)
    audit_record(actor=actor, action="listrow.reveal", obj=row, revealed_fields=["id_number", "phone"])
    return dict(row.raw)


# --- files --------------------------------------------------------------------------------------------


def _text_cell(sheet, value: object, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    if bold:
        cell.font = Font(bold=True)
    return cell


def _problems(row: ListRow) -> str:
    return "; ".join(
        f"{normalise.FIELD_LABELS.get(e.get('field', ''), e.get('field', ''))}: {e.get('message', '')}"
        for e in row.errors or []
    )


def _masked_raw(list_import: ListImport, raw: dict[str, str]) -> dict[str, str]:
    maskers = {"name": mask_name, "id_number": mask_document, "phone": mask_phone}
    out = dict(raw)
    for name, mask in maskers.items():
        for column in {list_import.mapping.get(name, ""), f"[{name}]"}:
            if column and out.get(column):
                out[column] = mask(out[column])
    return out


def import_rows_workbook(
    *,
    actor: User,
    list_import: ListImport,
    rows: Iterable[ListRow],
    layout: str = "report",
    reveal: bool = False,
) -> bytes:
    """An .xlsx of ``rows`` (the caller's scoped selection).

    ``layout`` "report": one line per row with its status, reasons and normalised values. ``layout``
    "file": the file's own columns (and any added by corrections) with the row number and the reasons in
    front, to correct and upload again as a new list. Names, ID numbers and phones are masked unless
    ``reveal``: the full values are what the importer uploaded, given back only to a role that may reveal
    personal data, and the download is audited.
    """
    if reveal:
        _require(actor, Perm.PERSON_REVEAL)
    rows = list(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Rows")[:31])
    if layout == "file":
        columns = list(list_import.header)
        for row in rows:
            columns += [c for c in row.raw if c not in columns]
        sheet.append(
            [_text_cell(sheet, t, bold=True) for t in (_("Row in the file"), _("Problems"), *columns)]
        )
        for row in rows:
            raw = row.raw if reveal else _masked_raw(list_import, row.raw)
            sheet.append(
                [row.row_number, _text_cell(sheet, _problems(row))]
                + [_text_cell(sheet, raw.get(c, "")) for c in columns]
            )
    else:
        titles = (
            _("Row in the file"),
            _("Status"),
            _("Problems"),
            _("Name"),
            _("ID number"),
            _("Mobile phone"),
            _("Birth date"),
            _("Sex"),
            _("Address"),
            _("Grid"),
            _("Came from"),
            _("Region code"),
            _("Travel mode"),
            _("Arrival time"),
            _("Linked how"),
        )
        sheet.append([_text_cell(sheet, t, bold=True) for t in titles])
        for row in rows:
            arrived = timezone.localtime(row.arrived_at).strftime("%Y-%m-%d %H:%M") if row.arrived_at else ""
            values = (
                row.name if reveal else mask_name(row.name),
                row.id_number if reveal else row.id_number_masked,
                row.phone if reveal else row.phone_masked,
                row.birth_date.isoformat() if row.birth_date else "",
                str(Sex(row.sex).label) if row.sex in Sex.values else row.sex,
                row.address,
                row.grid.name if row.grid_id and row.grid else "",
                row.origin,
                row.origin_region_code,
                row.travel_mode,
                arrived,
                row.get_link_method_display() if row.link_method else "",
            )
            sheet.append(
                [
                    row.row_number,
                    _text_cell(sheet, row.get_status_display()),
                    _text_cell(sheet, _problems(row)),
                ]
                + [_text_cell(sheet, v) for v in values]
            )
    audit_record(
        actor=actor,
        action="listimport.export",
        obj=list_import,
        revealed_fields=["name", "id_number", "phone"] if reveal else [],
        detail={"rows": len(rows), "layout": layout},
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
