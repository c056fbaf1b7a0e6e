"""The probabilistic model that links list rows to the district's persons: Splink (Fellegi-Sunter) on an
in-memory DuckDB.

**Features.** Each side is reduced to comparable columns: the name, its surname (the first character, or two
for a compound surname such as 欧阳), its characters sorted (two characters swapped still agree), the birth
date, sex, the first 16 hex digits of the phone's and of the document's blind index (never a plaintext
number), and the address from the road on (what follows the last 街道/镇/乡; a list rarely writes the
province and district) with the last three numbers of it (building, unit, flat).

**Phones one keystroke apart without decrypting anybody's phone.** The blind index is deterministic, so
equal phones have equal indexes. For "one digit wrong or two adjacent digits swapped" the row's own number
(plaintext in memory while the row is processed) is expanded into the ~100 numbers one keystroke away,
each is indexed, and the persons whose phone index is among them are the row's ``near`` persons. No person's
phone is decrypted, and no plaintext goes to DuckDB or to disk.

**Blocking** (which pairs are scored at all): same phone, a phone one keystroke away, same birth date, same
name, same characters in another order, same surname and same building/unit/flat numbers.

**Comparisons** (the levels of evidence): name (exact with term-frequency adjustment — 张伟 says less than a
rare name —, same characters swapped, one character different (Damerau-Levenshtein <= 1), same surname),
birth date (exact, one digit off, same year), phone (exact, one keystroke apart), sex, address (exact,
Jaro-Winkler >= 0.9, same flat numbers with a similar address, similar), and the document (both known and
different: strong evidence against, fixed, never trained).

**Training on the district's own data** (:func:`train`): u (how often non-matching pairs agree) by random
sampling of row x person pairs; m (how often true matches agree) from the rows that the exact step linked by
document number, whose pairs are known matches (Splink's "label column"), or by expectation maximisation
blocked on birth date and on phone when too few rows had a document; the phone levels' u by counting, for
a sample of those labelled rows, the other persons with the same or a one-keystroke phone (random pairs
almost never show them); the prior from the share of rows with a document that found their person. A district
too small to train on (tests, a new installation) uses the hand-set priors below. The trained model (Splink's
JSON: parameters only, no personal data) is kept per district in ``LINKAGE_MODEL_DIR`` (default
``VAR_DIR/linkage``) and retrained when asked or when it is missing.

**The persons** of a district are read once per process into an Arrow table of features (~1 s per 100,000
persons) and then topped up with the persons added since (higher primary keys); the snapshot is forgotten
after :data:`SNAPSHOT_TTL` seconds and with the other process caches in tests.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute
from django.conf import settings
from django.db import connection
from django.utils import timezone

from epigrid.core import crypto
from epigrid.core.identity import IdType
from epigrid.core.models import Person
from epigrid.core.ttlcache import TTLCache

logger = logging.getLogger(__name__)

PERSONS = "a_persons"  # Splink's source dataset names; sorted this way the persons are the left side
ROWS = "b_rows"
MIN_TRAIN_PERSONS = 2_000  # below this the district's data says little; the priors are used
MIN_LABELS = 200  # rows linked by document number needed to estimate m from them
MIN_EM_ROWS = 1_000  # without labels, EM needs this many rows
U_MAX_PAIRS = 2e6
PHONE_U_SAMPLE = 2_000  # labelled rows whose phone neighbours are counted for the phone levels' u
CANDIDATE_FLOOR = 0.01  # pairs below this probability are not kept as candidates
TOP_CANDIDATES = 5
SNAPSHOT_TTL = 600.0
# Two-character surnames (the surname is the first character otherwise).
COMPOUND_SURNAMES = [
    *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "夏侯", "令狐", "长孙"),
    *("宇文", "司徒", "轩辕", "端木", "独孤", "南宫", "西门", "申屠", "太史", "闻人", "赫连", "澹台"),
    *("公冶", "宗政", "濮阳", "淳于", "单于", "呼延", "钟离", "万俟", "司空", "百里", "东郭", "第五"),
]


# --- features -----------------------------------------------------------------------------------------------

INPUT_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("phone16", pa.string()),
        ("doc", pa.string()),
        ("address", pa.string()),
    ]
)

_SURNAMES_SQL = ", ".join(f"'{s}'" for s in COMPOUND_SURNAMES)

# From a table ``src`` with INPUT_SCHEMA's columns to the compared columns. Missing values become NULL.
FEATURES_SQL = f"""
WITH s AS (
    SELECT unique_id,
           NULLIF(trim(name), '') AS name,
           birth_date,
           NULLIF(sex, '') AS sex,
           NULLIF(phone16, '') AS phone16,
           NULLIF(doc, '') AS doc,
           NULLIF(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
               regexp_replace(coalesce(address, ''), '\\s+', '', 'g'),
               '^.*(街道|镇|乡)|^(.{{2,3}}省)?(.{{2,4}}市)?', ''),
               '号楼|栋|幢|单元', '-', 'g'), '室$', ''), '-+', '-', 'g'), '') AS addr
    FROM src
)
SELECT unique_id, name,
       CASE WHEN substr(name, 1, 2) IN ({_SURNAMES_SQL}) THEN substr(name, 1, 2)
            ELSE substr(name, 1, 1) END AS surname,
       array_to_string(list_sort(string_split(name, '')), '') AS name_sorted,
       birth_date,
       strftime(birth_date, '%Y%m%d') AS birth_text,
       year(birth_date) AS birth_year,
       sex, phone16, doc, addr,
       NULLIF(array_to_string(list_slice(regexp_extract_all(addr, '[0-9]+'), -3, -1), '-'), '') AS addr_nums
FROM s
"""  # noqa: S608 - constants only

# The row side also carries its one-keystroke phone neighbours (person ids): a list for the comparison and
# the first three as columns for the blocking rules (equi-joins).
NEAR_COLUMNS_SQL = """
SELECT f.*, n.near, n.near[1] AS near1, n.near[2] AS near2, n.near[3] AS near3
FROM feats AS f LEFT JOIN (
    SELECT uid, list(person_id ORDER BY person_id) AS near FROM near_pairs GROUP BY uid
) AS n ON n.uid = f.unique_id
"""

NO_NEAR_SQL = """
SELECT f.*, CAST(NULL AS BIGINT[]) AS near, CAST(NULL AS BIGINT) AS near1, CAST(NULL AS BIGINT) AS near2,
       CAST(NULL AS BIGINT) AS near3
FROM feats AS f
"""


@dataclass(frozen=True)
class RowInput:
    """What the model needs of one list row (built by ``services.linkage`` from a ListRow)."""

    uid: int
    name: str = ""
    birth_date: dt.date | None = None
    sex: str = ""
    phone: str = ""  # normalised plaintext: only expanded into indexes of its neighbours, in memory
    phone_index: str = ""
    doc_index: str = ""
    address: str = ""


def _rows_arrow(rows: Sequence[RowInput]) -> pa.Table:
    return pa.table(
        {
            "unique_id": pa.array([r.uid for r in rows], pa.int64()),
            "name": pa.array([r.name for r in rows], pa.string()),
            "birth_date": pa.array([r.birth_date for r in rows], pa.date32()),
            "sex": pa.array([r.sex for r in rows], pa.string()),
            "phone16": pa.array([r.phone_index[:16] for r in rows], pa.string()),
            "doc": pa.array([r.doc_index[:16] for r in rows], pa.string()),
            "address": pa.array([r.address for r in rows], pa.string()),
        },
        schema=INPUT_SCHEMA,
    )


def _features(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    con.register("src", table)
    try:
        return con.sql(FEATURES_SQL).to_arrow_table()
    finally:
        con.unregister("src")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    threads = settings.LINKAGE_THREADS or os.cpu_count() or 1
    con.execute(f"SET threads TO {threads}")
    return con


# --- phones one keystroke apart --------------------------------------------------------------------------------


def phone_neighbours(phone: str) -> list[str]:
    """Mobile numbers one keystroke from ``phone``: one digit replaced (the leading 1 and the 3-9 after it
    stay valid), or two adjacent different digits swapped."""
    out: list[str] = []
    for i in range(1, len(phone)):
        choices = "3456789" if i == 1 else "0123456789"
        head, tail = phone[:i], phone[i + 1 :]
        out.extend(head + d + tail for d in choices if d != phone[i])
    for i in range(1, len(phone) - 1):
        if phone[i] != phone[i + 1]:
            out.append(phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :])
    return out


_hasher_lock = threading.Lock()
_hasher: list[Any] = []


def _phone_index16() -> Any:
    """A function from a phone number to the first 16 hex digits of its blind index, computed with a
    pre-keyed HMAC (half the cost of :func:`crypto.blind_index`) and checked against it once."""
    with _hasher_lock:
        if not _hasher or _hasher[0][0] != settings.FIELD_KEY:
            base = hmac.new(crypto._keys(settings.FIELD_KEY)[1], b"phone\x00", hashlib.sha256)

            def index16(phone: str) -> str:
                h = base.copy()
                h.update(phone.encode())
                return h.hexdigest()[:16]

            probe = "13800000000"
            if index16(probe) != crypto.blind_index(probe, purpose="phone")[:16]:  # pragma: no cover

                def index16(phone: str) -> str:  # the slow, certain way
                    return crypto.blind_index(phone, purpose="phone")[:16]

            _hasher[:] = [(settings.FIELD_KEY, index16)]
        return _hasher[0][1]


def _near_pairs(con: duckdb.DuckDBPyConnection, rows: Iterable[RowInput]) -> int:
    """Table ``near_pairs(uid, person_id)``: the persons (table ``persons``) whose phone is one keystroke
    from the row's. Returns how many neighbour indexes were computed."""
    index16 = _phone_index16()
    uids: list[int] = []
    keys: list[str] = []
    for row in rows:
        if row.phone:
            variants = phone_neighbours(row.phone)
            uids.extend([row.uid] * len(variants))
            keys.extend(index16(v) for v in variants)
    variants = pa.table({"uid": pa.array(uids, pa.int64()), "v": pa.array(keys, pa.string())})
    con.register("variants", variants)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE near_pairs AS "
        "SELECT DISTINCT v.uid, p.unique_id AS person_id FROM variants AS v "
        "JOIN main.persons AS p ON p.phone16 = v.v"
    )
    con.unregister("variants")
    return len(keys)


# --- the persons of a district --------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The district's persons as features in an in-memory DuckDB database of their own (table
    ``main.persons``, with the row side's ``near`` columns empty, and ``main.name_tf``, each name's share of
    the persons). Scoring and training work on cursors of it: nothing is copied per call."""

    district: str
    db: duckdb.DuckDBPyConnection
    size: int
    max_pk: int
    tf_size: int = 0
    loaded_at: float = field(default_factory=time.monotonic)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.db.cursor()

    def add(self, raw: pa.Table) -> None:
        """Append persons (INPUT_SCHEMA) and refresh the name frequencies when the register grew by 1 %."""
        con = self.cursor()
        try:
            feats = _with_near(con, _features(con, raw), near=False)
            con.register("fresh", feats)
            if self.size == 0 and not self._has_table(con):
                con.execute("CREATE TABLE main.persons AS SELECT * FROM fresh")
            else:
                con.execute("INSERT INTO main.persons SELECT * FROM fresh")
            con.unregister("fresh")
            self.size += raw.num_rows
            if raw.num_rows:
                self.max_pk = max(self.max_pk, int(pa.compute.max(raw["unique_id"]).as_py()))
            if self.size > self.tf_size * 1.01 or not self.tf_size:
                con.execute(
                    "CREATE OR REPLACE TABLE main.name_tf AS SELECT name, count(*) / sum(count(*)) OVER () AS "
                    "tf_name FROM main.persons WHERE name IS NOT NULL GROUP BY name"
                )
                self.tf_size = self.size
        finally:
            con.close()

    @staticmethod
    def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
        return bool(
            con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'persons'"
            ).fetchall()[0][0]
        )


_schema_counter = itertools.count(1)
_snapshots: TTLCache[Snapshot] = TTLCache(ttl=SNAPSHOT_TTL, max_size=4)
_snapshot_lock = threading.Lock()
_PERSON_COLUMNS = ("id", "name", "birth_date", "sex", "phone_index", "id_type", "id_number_index", "address")


def _person_sql(where: str) -> str:
    meta = Person._meta
    quote = connection.ops.quote_name

    def col(name: str) -> str:
        return quote(meta.get_field(name).column)

    return (
        f"SELECT {col('id')}, {col('name')}, {col('birth_date')}, {col('sex')}, "  # noqa: S608 - model names
        f"SUBSTR({col('phone_index')}, 1, 16), {col('id_type')}, SUBSTR({col('id_number_index')}, 1, 16), "
        f"{col('address')}, {col('org_code')} FROM {quote(meta.db_table)} WHERE {where}"
    )


def _person_batches(district: str, after_pk: int) -> Iterable[pa.RecordBatch]:
    """The district's persons with a primary key above ``after_pk``, as INPUT_SCHEMA batches. The first
    load reads the district's range of the org-code index; a top-up reads the primary keys above the last
    one seen (a few new persons: their district is checked here)."""
    org_code = connection.ops.quote_name(Person._meta.get_field("org_code").column)
    pk = connection.ops.quote_name(Person._meta.pk.column)
    if after_pk:
        sql, params = _person_sql(f"{pk} > %s ORDER BY {pk}"), [after_pk]
    else:
        # In key order, so that training samples the same pairs on every database and run.
        sql = _person_sql(f"{org_code} >= %s AND {org_code} < %s ORDER BY {pk}")
        params = [district, district + ":"]
    provisional = IdType.PROVISIONAL.value
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetchmany(50_000)
            if not chunk:
                break
            if after_pk:
                chunk = [c for c in chunk if c[8].startswith(district)]
                if not chunk:
                    continue
            ids, names, births, sexes, phones, types, docs, addresses, _codes = zip(*chunk, strict=True)
            if any(isinstance(b, str) for b in births):  # SQLite returns ISO text
                births = [dt.date.fromisoformat(b) if b else None for b in births]
            yield pa.record_batch(
                [
                    pa.array(ids, pa.int64()),
                    pa.array(names, pa.string()),
                    pa.array(births, pa.date32()),
                    pa.array(sexes, pa.string()),
                    pa.array(phones, pa.string()),
                    pa.array(
                        [d if t != provisional else "" for t, d in zip(types, docs, strict=True)], pa.string()
                    ),
                    pa.array(addresses, pa.string()),
                ],
                schema=INPUT_SCHEMA,
            )


def _load_persons(district: str, after_pk: int) -> pa.Table:
    return pa.Table.from_batches(list(_person_batches(district, after_pk)), schema=INPUT_SCHEMA)


def _max_pk() -> int:
    return Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def persons_snapshot(district: str) -> Snapshot:
    """The district's persons: loaded once per process, topped up with the persons added since."""
    key = (connection.alias, str(connection.settings_dict.get("NAME")), district)
    with _snapshot_lock:
        fresh_load: list[Snapshot] = []

        def build() -> Snapshot:
            ceiling = _max_pk()
            snap = Snapshot(district, _connect(), 0, 0)
            snap.add(_load_persons(district, 0))
            snap.max_pk = max(snap.max_pk, ceiling)
            fresh_load.append(snap)
            return snap

        snap = _snapshots.get_or_load(key, build)
        if not fresh_load:
            fresh = _load_persons(district, snap.max_pk)
            if fresh.num_rows:
                snap.add(fresh)
        return snap


def forget_snapshots() -> None:
    """Drop the cached persons (after a bench, or when persons were removed or changed in bulk)."""
    _snapshots.clear()


# --- the model -------------------------------------------------------------------------------------------------


def _level(sql: str, label: str, m: float, u: float, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, "m_probability": m, "u_probability": u, **extra}


def _null(sql: str) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": "missing", "is_null_level": True}


def _else(m: float, u: float) -> dict[str, Any]:
    return _level("ELSE", "different", m, u)


# Priors: what a district too small to learn from starts with (m: among true matches, u: among others).
COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "name",
        "comparison_levels": [
            _null("name_l IS NULL OR name_r IS NULL"),
            _level(
                "name_l = name_r", "exact", 0.85, 3e-4, tf_adjustment_column="name", tf_adjustment_weight=1.0
            ),
            _level("name_sorted_l = name_sorted_r", "characters swapped", 0.03, 2e-5),
            _level("damerau_levenshtein(name_l, name_r) <= 1", "one character different", 0.07, 0.02),
            _level("surname_l = surname_r", "same surname", 0.03, 0.07),
            _else(0.02, 0.91),
        ],
    },
    {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _null("birth_date_l IS NULL OR birth_date_r IS NULL"),
            _level("birth_date_l = birth_date_r", "exact", 0.95, 5e-5),
            _level("damerau_levenshtein(birth_text_l, birth_text_r) <= 1", "one digit off", 0.03, 5e-4),
            _level("birth_year_l = birth_year_r", "same year", 0.01, 0.02),
            _else(0.01, 0.98),
        ],
    },
    {
        "output_column_name": "phone",
        "comparison_levels": [
            _null("phone16_l IS NULL OR phone16_r IS NULL"),
            _level("phone16_l = phone16_r", "exact", 0.80, 1e-6),
            _level(
                "list_contains(coalesce(near_r, []), unique_id_l) OR list_contains(coalesce(near_l, []), unique_id_r)",
                "one keystroke apart",
                0.06,
                1e-7,
            ),
            _else(0.14, 0.999999),
        ],
    },
    {
        "output_column_name": "sex",
        "comparison_levels": [
            _null("sex_l IS NULL OR sex_r IS NULL"),
            _level("sex_l = sex_r", "exact", 0.98, 0.5),
            _else(0.02, 0.5),
        ],
    },
    {
        "output_column_name": "address",
        "comparison_levels": [
            _null("addr_l IS NULL OR addr_r IS NULL"),
            _level("addr_l = addr_r", "exact", 0.35, 1e-5),
            _level(
                "least(length(addr_l), length(addr_r)) >= 6 AND (ends_with(addr_l, addr_r) OR ends_with(addr_r, addr_l))",
                "one written shorter",
                0.15,
                1e-5,
            ),
            _level("jaro_winkler_similarity(addr_l, addr_r) >= 0.9", "nearly the same", 0.15, 1e-4),
            _level(
                "addr_nums_l = addr_nums_r AND jaccard(addr_l, addr_r) >= 0.5",
                "same flat, similar address",
                0.15,
                1e-3,
            ),
            _level("jaccard(addr_l, addr_r) >= 0.5", "similar", 0.05, 0.05),
            _else(0.20, 0.95),
        ],
    },
    {
        "output_column_name": "document",
        "comparison_levels": [
            _null("doc_l IS NULL OR doc_r IS NULL"),
            _level(
                "doc_l = doc_r", "same document", 0.99, 1e-9, fix_m_probability=True, fix_u_probability=True
            ),
            # Two valid documents that differ: another person (or a typo that the checksum let through).
            _level(
                "ELSE", "different documents", 0.002, 0.999999, fix_m_probability=True, fix_u_probability=True
            ),
        ],
    },
]

BLOCKING_RULES = [
    "l.phone16 = r.phone16",
    "l.unique_id = r.near1",
    "l.unique_id = r.near2",
    "l.unique_id = r.near3",
    "l.birth_date = r.birth_date",
    "l.name = r.name",
    "l.name_sorted = r.name_sorted",
    "l.surname = r.surname AND l.addr_nums = r.addr_nums",
]

PRIOR_SHARE = 0.9  # the share of list rows whose person is in the registry, until the data says


def prior_settings() -> dict[str, Any]:
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "source_dataset_column_name": "source_dataset",
        "probability_two_random_records_match": 1e-6,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "comparisons": copy.deepcopy(COMPARISONS),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in BLOCKING_RULES
        ],
    }


@dataclass
class Model:
    """Splink's settings with their parameters, and how they were obtained."""

    settings: dict[str, Any]
    meta: dict[str, Any]

    @property
    def trained(self) -> bool:
        return self.meta.get("source") == "trained"


def _model_dir() -> Path:
    return Path(settings.LINKAGE_MODEL_DIR)


def model_path(district: str) -> Path:
    return _model_dir() / f"model-{district}.json"


def prior_model() -> Model:
    return Model(prior_settings(), {"source": "prior", "share": PRIOR_SHARE})


def load_model(district: str) -> Model | None:
    path = model_path(district)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        logger.warning("linkage model %s is unreadable; it will be retrained", path)
        return None
    return Model(data["settings"], data["meta"])


def save_model(district: str, model: Model) -> Path:
    path = model_path(district)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"meta": model.meta, "settings": model.settings}, ensure_ascii=False, indent=1))
    tmp.replace(path)
    return path


def delete_model(district: str) -> None:
    model_path(district).unlink(missing_ok=True)


def _splink_quiet() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def _linker(
    con: duckdb.DuckDBPyConnection,
    persons: pa.Table | str,
    rows: pa.Table,
    model_settings: dict,
    *,
    name_tf: str = "",
) -> Any:
    """A Splink linker of ``persons`` (an Arrow table, or the name of a table in ``con``'s database) and
    ``rows``, with its own tables in a schema of this call (dropped by :func:`_drop_schema`)."""
    from splink import DuckDBAPI, Linker

    _splink_quiet()
    db_api = DuckDBAPI(connection=con, output_schema=_schema_name(con))
    left = db_api.register(persons, dataset_display_name=PERSONS)
    right = db_api.register(rows, dataset_display_name=ROWS)
    linker = Linker([left, right], model_settings, log_level=None)
    if name_tf:  # the names' frequencies among all the district's persons, not among these candidates
        linker.table_management.register_term_frequency_lookup(db_api.register(name_tf), "name")
    return linker


_schema_names: dict[int, str] = {}


def _schema_name(con: duckdb.DuckDBPyConnection) -> str:
    return _schema_names.setdefault(id(con), f"splink_{os.getpid()}_{next(_schema_counter)}")


def _drop_schema(con: duckdb.DuckDBPyConnection) -> None:
    name = _schema_names.pop(id(con), None)
    if name:
        con.execute("SET schema = 'main'")
        con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _with_near(con: duckdb.DuckDBPyConnection, feats: pa.Table, *, near: bool) -> pa.Table:
    con.register("feats", feats)
    try:
        return con.sql(NEAR_COLUMNS_SQL if near else NO_NEAR_SQL).to_arrow_table()
    finally:
        con.unregister("feats")


def _levels(model_settings: dict, column: str) -> list[dict[str, Any]]:
    for comparison in model_settings["comparisons"]:
        if comparison["output_column_name"] == column:
            return comparison["comparison_levels"]
    raise KeyError(column)


@dataclass
class TrainingReport:
    persons: int
    rows: int
    labelled: int
    m_source: str
    seconds: float


def train(*, district: str, rows: Sequence[RowInput], labels: dict[int, int]) -> Model:
    """Estimate the model on the district's persons and ``rows`` of its lists; ``labels`` maps the uids of
    rows linked by document number to their person. Saves and returns it; the priors when the district is
    too small to learn from (not saved)."""
    started = time.perf_counter()
    snap = persons_snapshot(district)
    if snap.size < MIN_TRAIN_PERSONS or len(rows) < 50:
        return prior_model()
    con = snap.cursor()
    try:
        rows_table = _with_near(con, _features(con, _rows_arrow(rows)), near=False)
        model_settings = prior_settings()
        with_doc = sum(1 for r in rows if r.doc_index)
        labelled = len(labels)
        share = min(0.999, max(0.05, labelled / with_doc)) if with_doc >= MIN_LABELS else PRIOR_SHARE
        model_settings["probability_two_random_records_match"] = share / snap.size
        linker = _linker(con, "persons", rows_table, model_settings)
        steps: dict[str, float] = {}
        mark = time.perf_counter()
        linker.training.estimate_u_using_random_sampling(
            max_pairs=min(U_MAX_PAIRS, max(50_000, 50 * snap.size)), seed=1
        )
        steps["u"] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()
        if labelled >= MIN_LABELS:
            linker.training.estimate_m_from_label_column("doc")
            m_source = "labels"
        elif len(rows) >= MIN_EM_ROWS:
            for rule in ("l.birth_date = r.birth_date", "l.phone16 = r.phone16"):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True
                )
            m_source = "em"
        else:
            m_source = "prior"
        steps["m"] = round(time.perf_counter() - mark, 2)
        trained = linker.misc.save_model_to_json()
        mark = time.perf_counter()
        phone_u = _phone_u(con, rows, labels, snap.size)
        steps["phone_u"] = round(time.perf_counter() - mark, 2)
        for level, value in zip(_levels(trained, "phone")[1:3], phone_u, strict=True):
            level["u_probability"] = value
        _clean_untrained(trained, prior_settings())
    finally:
        _drop_schema(con)
        con.close()
    meta = {
        "source": "trained",
        "district": district,
        "trained_at": timezone.now().isoformat(),
        "persons": snap.size,
        "rows": len(rows),
        "labelled": labelled,
        "share": share,
        "m_source": m_source,
        "phone_u": phone_u,
        "seconds": round(time.perf_counter() - started, 2),
        "steps": steps,
        "splink": _splink_version(),
    }
    model = Model(trained, meta)
    save_model(district, model)
    return model


def _splink_version() -> str:
    import splink

    return splink.__version__


def _clean_untrained(trained: dict, priors: dict) -> None:
    """Levels Splink could not estimate (never observed) keep their prior."""
    for comparison, prior in zip(trained["comparisons"], priors["comparisons"], strict=True):
        for level, prior_level in zip(
            comparison["comparison_levels"], prior["comparison_levels"], strict=True
        ):
            if level.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                value = level.get(key)
                if not isinstance(value, float | int) or not 0 < value <= 1:
                    level[key] = prior_level[key]


def _phone_u(
    con: duckdb.DuckDBPyConnection, rows: Sequence[RowInput], labels: dict[int, int], persons: int
) -> list[float]:
    """u of "same phone" and "one keystroke apart": for a sample of labelled rows, the share of the other
    persons whose phone is equal or one keystroke away. Floors keep an unobserved level finite."""
    floor = 0.1 / persons
    sample = [r for r in rows if r.uid in labels and r.phone][:PHONE_U_SAMPLE]
    if len(sample) < 100:
        return [max(1e-6, floor), max(1e-7, floor)]
    _near_pairs(con, sample)
    truth = pa.table(
        {
            "uid": pa.array([r.uid for r in sample], pa.int64()),
            "pid": pa.array([labels[r.uid] for r in sample], pa.int64()),
            "phone16": pa.array([r.phone_index[:16] for r in sample], pa.string()),
        }
    )
    con.register("truth", truth)
    exact = con.execute(
        "SELECT count(*) FROM truth AS t JOIN main.persons AS p ON p.phone16 = t.phone16 AND p.unique_id <> t.pid"
    ).fetchall()[0][0]
    near = con.execute(
        "SELECT count(*) FROM truth AS t JOIN near_pairs AS n ON n.uid = t.uid AND n.person_id <> t.pid"
    ).fetchall()[0][0]
    con.unregister("truth")
    pairs = len(sample) * (persons - 1)
    return [max(exact / pairs, floor), max(near / pairs, floor)]


def model_for(
    district: str, *, rows: Sequence[RowInput], labels: dict[int, int], retrain: bool = False
) -> Model:
    """The district's model: the saved one, else trained now (when the district is big enough), else the
    priors. A saved model whose m came from priors is retrained once rows with documents can teach it."""
    model = None if retrain else load_model(district)
    if model is not None and (model.meta.get("m_source") == "labels" or len(labels) < MIN_LABELS):
        return model
    return train(district=district, rows=rows, labels=labels)


# --- scoring ---------------------------------------------------------------------------------------------------


@dataclass
class Scored:
    candidates: dict[int, list[tuple[int, float]]]  # row uid -> [(person id, probability)], best first
    pairs: int  # pairwise comparisons Splink scored
    neighbours: int  # phone indexes computed for the one-keystroke level
    seconds: dict[str, float]
    model: dict[str, Any]
    threads: int
    # (row uid, person id) of candidates whose valid document differs from the row's: never linked without
    # a clerk, however well the rest agrees (a different valid ID number is another person or an error).
    conflicts: set[tuple[int, int]] = field(default_factory=set)


def score(
    *,
    district: str,
    rows: Sequence[RowInput],
    training_rows: Sequence[RowInput] = (),
    labels: dict[int, int] | None = None,
    retrain: bool = False,
) -> Scored:
    """Score ``rows`` against the district's persons; every row's best candidates above CANDIDATE_FLOOR."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    snap = persons_snapshot(district)
    seconds["snapshot"] = time.perf_counter() - started
    if not rows or not snap.size:
        return Scored({}, 0, 0, seconds, {"source": "none"}, 0)
    mark = time.perf_counter()
    model = model_for(district, rows=training_rows or rows, labels=labels or {}, retrain=retrain)
    seconds["model"] = time.perf_counter() - mark
    model_settings = copy.deepcopy(model.settings)
    model_settings["probability_two_random_records_match"] = min(
        0.5, float(model.meta.get("share", PRIOR_SHARE)) / snap.size
    )
    con = snap.cursor()
    try:
        mark = time.perf_counter()
        neighbours = _near_pairs(con, rows)
        seconds["neighbours"] = time.perf_counter() - mark
        mark = time.perf_counter()
        row_feats = _with_near(con, _features(con, _rows_arrow(rows)), near=True)
        # Splink is given only the persons some blocking rule pairs with a row (the same pairs, found
        # here by the same equi-joins), and the names' frequencies among all the district's persons.
        con.register("rows_feats", row_feats)
        candidates_sql = " UNION ".join(
            f"SELECT l.unique_id FROM main.persons AS l JOIN rows_feats AS r ON {rule}"  # noqa: S608 - our rules
            for rule in BLOCKING_RULES
        )
        persons = con.sql(
            f"SELECT * FROM main.persons WHERE unique_id IN ({candidates_sql})"  # noqa: S608 - our rules
        ).to_arrow_table()
        con.unregister("rows_feats")
        linker = _linker(con, persons, row_feats, model_settings, name_tf="name_tf")
        blocked = linker.inference.compute_blocked_pairs_for_predict()
        pairs = con.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()[0][0]  # noqa: S608
        seconds["blocking"] = time.perf_counter() - mark
        mark = time.perf_counter()
        predictions = linker.inference.predict(
            threshold_match_probability=CANDIDATE_FLOOR, warning_mode="never"
        )
        con.register("rows_docs", row_feats)
        con.register("person_docs", persons)
        best = con.execute(
            f"""
            WITH b AS (
                SELECT CASE WHEN source_dataset_l = '{ROWS}' THEN unique_id_l ELSE unique_id_r END AS row_id,
                       CASE WHEN source_dataset_l = '{ROWS}' THEN unique_id_r ELSE unique_id_l END AS person_id,
                       match_probability
                FROM {predictions.physical_name}
                QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY match_probability DESC, person_id)
                        <= {TOP_CANDIDATES}
            )
            SELECT b.row_id, b.person_id, b.match_probability,
                   coalesce(r.doc <> p.doc, false) AS conflict
            FROM b JOIN rows_docs AS r ON r.unique_id = b.row_id JOIN person_docs AS p ON p.unique_id = b.person_id
            ORDER BY b.row_id, b.match_probability DESC, b.person_id
            """  # noqa: S608 - our own table names
        ).fetchall()
        seconds["scoring"] = time.perf_counter() - mark
        threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    finally:
        _drop_schema(con)
        con.close()
    candidates: dict[int, list[tuple[int, float]]] = {}
    conflicts: set[tuple[int, int]] = set()
    for row_id, person_id, probability, conflict in best:
        candidates.setdefault(int(row_id), []).append((int(person_id), float(probability)))
        if conflict:
            conflicts.add((int(row_id), int(person_id)))
    return Scored(candidates, int(pairs), neighbours, seconds, model.meta, threads, conflicts)


# --- agreement, for the review page ---------------------------------------------------------------------------


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance counting an adjacent swap as one edit (optimal string alignment)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[lb]


def address_tail(address: str) -> str:
    """The address from the road on (what the features compare)."""
    import re

    text = re.sub(r"\s+", "", address or "")
    text = re.sub(r"^.*(街道|镇|乡)|^(.{2,3}省)?(.{2,4}市)?", "", text, count=1)
    text = re.sub(r"号楼|栋|幢|单元", "-", text)
    return re.sub(r"-+", "-", re.sub(r"室$", "", text))


AGREE, CLOSE, DIFFER, MISSING = "agree", "close", "differ", "missing"


def agreement(
    *,
    row_name: str,
    row_birth: dt.date | None,
    row_sex: str,
    row_phone: str,
    row_document: tuple[str, str],
    row_address: str,
    person: Person,
) -> dict[str, str]:
    """How each field of a row compares with a person, from the plaintext (pages show only the verdicts)."""

    def text(a: str, b: str) -> str:
        if not a or not b:
            return MISSING
        if a == b:
            return AGREE
        if sorted(a) == sorted(b) or damerau_levenshtein(a, b) <= 1:
            return CLOSE
        return DIFFER

    birth = MISSING
    if row_birth and person.birth_date:
        birth = (
            AGREE
            if row_birth == person.birth_date
            else CLOSE
            if damerau_levenshtein(f"{row_birth:%Y%m%d}", f"{person.birth_date:%Y%m%d}") <= 1
            else DIFFER
        )
    phone = MISSING
    if row_phone and person.phone:
        phone = (
            AGREE
            if row_phone == person.phone
            else CLOSE
            if row_phone in phone_neighbours(person.phone)
            else DIFFER
        )
    document = MISSING
    id_type, number = row_document
    if number and person.id_type != IdType.PROVISIONAL:
        document = AGREE if (id_type, number) == (person.id_type, person.id_number) else DIFFER
    address = MISSING
    a, b = address_tail(row_address), address_tail(person.address)
    if a and b:
        if a == b:
            address = AGREE
        else:
            common = len(set(a) & set(b)) / len(set(a) | set(b))
            address = CLOSE if common >= 0.5 else DIFFER
    return {
        "name": text(row_name, person.name),
        "document": document,
        "birth_date": birth,
        "sex": MISSING if not row_sex or not person.sex else AGREE if row_sex == person.sex else DIFFER,
        "phone": phone,
        "address": address,
    }
