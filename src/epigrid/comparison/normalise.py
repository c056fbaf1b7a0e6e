"""Normalisation of list cells into the fields of a ``ListRow``: pure functions, no database.

Every cell goes through NFKC first (full-width digits, letters and spaces become half-width). Then:

- **ID numbers**: spaces, quotes and a trailing ``.0`` dropped, lower-case x made X; an 18-character
  resident ID is checked with GB 11643 (``core.identity``), an old 15-digit one converted to 18; a number
  Excel showed in scientific notation (``3.70602199001011E+17``) has lost its last digits and is reported as
  damaged, never rounded into a plausible number. Without a document-type column the type is read from the
  number's shape. Birth date and sex come from a valid resident ID and win over the list's own columns
  (a mismatch is a warning).
- **Names**: trimmed, runs of spaces collapsed, spaces between Chinese characters removed (``张　三``), and
  the variants of the middle dot of transcribed names (``•``, ``・``, ``．``...) unified to ``·``, so that
  the same name written with either compares equal (:func:`name_key` drops the dot altogether for
  comparisons that want to ignore it).
- **Phones**: +86/0086, spaces, dashes and brackets dropped; the first mobile number of a cell is kept; a
  landline is refused as a phone with that reason.
- **Dates and times** in the common Chinese forms (``2022-03-05``, ``2022/3/5``, ``2022年3月5日``,
  ``20220305``, Excel dates and serial numbers, ``2022年3月5日14时30分``, ``下午2:30``); a date without a
  year (``3月5日 14:30``) takes the year that puts it nearest the file's other dates (or the upload day).
- **Origin**: a 6-digit region code in the text (GB/T 2260) becomes ``origin_region_code``.
- **Address**: cleaned; the grid comes from a locator (``comparison.addresses``) passed in.

What rejects a row (``level`` "error") and what only warns (``level`` "warning", the row is accepted):

- REJECTED: no usable identity — neither a valid document number nor a usable name with a mobile number or
  a birth date; or a field the source requires (:data:`REQUIRED_BY_KIND`: the arrival time for transport,
  telecom and self-report lists) missing or unreadable. The problems that caused it are errors.
- WARNING (accepted): a bad document number when the name with a phone or birth date identifies the row;
  a bad phone or birth date when the document number does; a 15-digit number converted; sex or birth date
  differing from the ID number (the ID number's are kept); an unknown sex or document type; an address not
  found in the district's address table (no grid: the row belongs to the importer's area); several phones
  in one cell; a duplicate of an earlier row (added by the import).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from epigrid.core.identity import IdentityError, IdType, normalize_document, parse_resident_id

ERROR = "error"
WARNING = "warning"

# The fields a list's columns can be mapped to, in the order of the mapping form.
FIELDS: tuple[str, ...] = (
    "name",
    "id_type",
    "id_number",
    "phone",
    "birth_date",
    "sex",
    "address",
    "origin",
    "travel_mode",
    "arrived_at",
)
FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "id_type": gettext_lazy("Document type"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("Mobile phone"),
    "birth_date": gettext_lazy("Birth date"),
    "sex": gettext_lazy("Sex"),
    "address": gettext_lazy("Address"),
    "origin": gettext_lazy("Came from"),
    "travel_mode": gettext_lazy("Travel mode"),
    "arrived_at": gettext_lazy("Arrival time"),
    "identity": gettext_lazy("Identity"),
    "row": gettext_lazy("Row"),
}
# Column headers that usually mean a field (compared after :func:`header_key`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员姓名", "旅客姓名", "乘客姓名", "name", "fullname"),
    "id_type": ("证件类型", "证件种类", "证件类别", "idtype", "documenttype"),
    "id_number": (
        "证件号码",
        "身份证号",
        "身份证",
        "身份证号码",
        "证件号",
        "公民身份号码",
        "id",
        "idnumber",
        "idno",
    ),
    "phone": (
        "手机",
        "电话",
        "联系电话",
        "手机号",
        "手机号码",
        "联系方式",
        "电话号码",
        "phone",
        "mobile",
        "tel",
    ),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日", "birthdate", "birthday", "dob"),
    "sex": ("性别", "sex", "gender"),
    "address": ("住址", "地址", "现住址", "居住地址", "现居住地址", "在本区住址", "目的地地址", "address"),
    "origin": ("来源地", "出发地", "始发地", "来自", "来源", "出发城市", "来源城市", "origin", "from"),
    "travel_mode": (
        "交通方式",
        "车次",
        "航班",
        "车次航班",
        "航班车次",
        "车次航班号",
        "交通工具",
        "travelmode",
        "train",
        "flight",
    ),
    "arrived_at": (
        "到达时间",
        "抵达时间",
        "到达日期",
        "抵达日期",
        "来返时间",
        "返回时间",
        "入境时间",
        "arrivaltime",
        "arrivedat",
        "arrival",
    ),
}
# Fields a row of a source of this kind cannot do without (ListSource.kind values).
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "transport": ("arrived_at",),
    "telecom": ("arrived_at",),
    "self_report": ("arrived_at",),
    "notice": (),
    "other": (),
}
# Fields whose problems decide whether a row identifies anybody.
IDENTITY_FIELDS = ("id_type", "id_number", "name", "phone", "birth_date")
# What people write in a cell that has nothing to say.
PLACEHOLDERS = {
    "",
    "-",
    "--",
    "—",
    "/",
    "\\",
    "无",
    "不详",
    "未知",
    "暂无",
    "空",
    "null",
    "none",
    "n/a",
    "na",
}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    level: str = WARNING

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "level": self.level}


# --- text ---------------------------------------------------------------------------------------------


def half_width(text: object) -> str:
    """NFKC: full-width digits, letters, punctuation and the ideographic space become their ASCII forms."""
    return unicodedata.normalize("NFKC", str(text or "")).strip()


def collapse(text: str) -> str:
    return " ".join(text.split())


def is_blank(text: object) -> bool:
    return half_width(text).lower() in PLACEHOLDERS


_PUNCT_RE = re.compile(r"[\W_]+", re.UNICODE)
_BRACKETED_RE = re.compile(r"[(\[{【（].*?[)\]}】）]")


def header_key(text: object) -> str:
    """A header as compared with the synonyms: half-width, lower case, without bracketed notes
    (``身份证号（必填）``), spaces and punctuation."""
    key = _BRACKETED_RE.sub("", half_width(text).lower())
    return _PUNCT_RE.sub("", key)


_SYNONYM_KEYS = {f: {header_key(s) for s in words} for f, words in SYNONYMS.items()}


def header_field(text: object) -> str:
    """The field a header names exactly (after :func:`header_key`), or ""."""
    key = header_key(text)
    for name in FIELDS:
        if key and key in _SYNONYM_KEYS[name]:
            return name
    return ""


def guess_mapping(header: list[str], saved: dict[str, str] | None = None) -> dict[str, str]:
    """field -> header: the source's saved mapping where its headers are in this file, then exact synonyms,
    then headers containing a synonym (``紧急联系人电话`` -> phone when nothing better); a header maps once."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, column in (saved or {}).items():
        if name in FIELDS and column in header and column not in used:
            mapping[name] = column
            used.add(column)
    keys = {column: header_key(column) for column in header}
    for name in FIELDS:
        if name in mapping:
            continue
        for column in header:
            if column not in used and keys[column] and keys[column] in _SYNONYM_KEYS[name]:
                mapping[name] = column
                used.add(column)
                break
    for name in FIELDS:
        if name in mapping:
            continue
        best, best_len = "", 0
        for column in header:
            if column in used:
                continue
            for word in _SYNONYM_KEYS[name]:
                long_enough = len(word) >= 2 if not word.isascii() else len(word) >= 4
                if long_enough and word in keys[column] and len(word) > best_len:
                    best, best_len = column, len(word)
        if best:
            mapping[name] = best
            used.add(best)
    return mapping


# --- names --------------------------------------------------------------------------------------------

# The middle dot of transcribed names (阿依古丽·买买提) and what lists put in its place.
NAME_DOTS = "·•‧∙⋅・･．.◦・⸱᛫܁"
_DOTS_RE = re.compile(r"\s*[" + re.escape(NAME_DOTS) + r"]+\s*")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_GAP_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def normalise_name(text: object) -> tuple[str, list[Problem]]:
    """A name as it should be stored: ``("张三", [])``, or ``("", [problem])`` when it cannot be a name."""
    raw = half_width(text)
    if raw.lower() in PLACEHOLDERS:
        return "", []
    name = collapse(_CJK_GAP_RE.sub("", raw))
    if re.search(f"[{_CJK}]", name):  # a transcribed name: 阿依古丽.买买提 is 阿依古丽·买买提
        name = _DOTS_RE.sub("·", name).strip("·")
    if any(ch.isdigit() for ch in name):
        return "", [Problem("name", _("A name has no digits; is the column right?"))]
    if not any(ch.isalpha() for ch in name):
        return "", [Problem("name", _("This is not a name."))]
    if len(name) > 100:
        return "", [Problem("name", _("The name is longer than 100 characters."))]
    return name, []


def name_key(name: str) -> str:
    """A name for comparing: without the middle dot and spaces, upper case (Latin names)."""
    return re.sub(r"[\s·]", "", name).upper()


# --- documents ----------------------------------------------------------------------------------------

ID_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    IdType.RESIDENT: ("身份证", "居民身份证", "二代身份证", "身份证号", "ric", "idcard", "01"),
    IdType.PASSPORT: ("护照", "passport", "普通护照"),
    IdType.HK_MACAU: ("港澳通行证", "港澳居民来往内地通行证", "回乡证", "hkm"),
    IdType.TAIWAN: ("台湾通行证", "台胞证", "台湾居民来往大陆通行证", "tw"),
    IdType.FOREIGN_PERMANENT: ("外国人永久居留证", "外国人永久居留身份证", "永久居留证", "fpr"),
}
_ID_TYPE_KEYS = {header_key(w): t for t, words in ID_TYPE_WORDS.items() for w in words}
_SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?E[+-]?\d+$")
_TRAILING_ZERO_RE = re.compile(r"^(\d+)\.0+$")


@dataclass
class Document:
    id_type: str = ""
    number: str = ""
    birth_date: dt.date | None = None
    sex: str = ""
    problems: list[Problem] = field(default_factory=list)


def id_type_from_text(text: object) -> str:
    """The document type a cell names (身份证, 护照, a type code...), or ""."""
    key = header_key(text)
    if key in IdType.values:
        return key
    return _ID_TYPE_KEYS.get(key, "")


def _shape_type(number: str) -> str:
    if re.fullmatch(r"9\d{16}[\dX]", number):
        return IdType.FOREIGN_PERMANENT
    if re.fullmatch(r"[HM]\d{8}(\d{2})?", number):
        return IdType.HK_MACAU
    if re.fullmatch(r"[A-Z0-9]{5,17}", number) and any(ch.isalpha() for ch in number.rstrip("X")):
        return IdType.PASSPORT
    return IdType.RESIDENT


def normalise_document(text: object, type_text: object = "") -> Document:
    """A document number and its type (from ``type_text`` or the number's shape), validated."""
    value = re.sub(r"\s+", "", half_width(text)).strip("'\"`").upper()
    if value.lower() in PLACEHOLDERS:
        return Document()
    if _SCIENTIFIC_RE.match(value):
        return Document(
            problems=[
                Problem(
                    "id_number",
                    _(
                        "The ID number was stored as a number (Excel shows it like 3.7E+17): its last digits "
                        "are lost. Format the column as text and enter the numbers again."
                    ),
                )
            ]
        )
    match = _TRAILING_ZERO_RE.match(value)
    if match:
        value = match.group(1)
    problems: list[Problem] = []
    id_type = ""
    if not is_blank(type_text):
        id_type = id_type_from_text(type_text)
        if not id_type:
            problems.append(
                Problem(
                    "id_type",
                    _("Unknown document type %(t)s; the type is read from the number.")
                    % {"t": half_width(type_text)[:30]},
                )
            )
    id_type = id_type or _shape_type(value)
    try:
        number = normalize_document(id_type, value)
    except IdentityError as err:
        return Document(problems=[*problems, Problem("id_number", str(err))])
    document = Document(id_type=id_type, number=number, problems=problems)
    if id_type in (IdType.RESIDENT, IdType.FOREIGN_PERMANENT):
        parsed = parse_resident_id(number)
        document.birth_date, document.sex = parsed.birth_date, parsed.sex
        if len(value) == 15:
            document.problems.append(
                Problem("id_number", _("An old 15-digit ID number: converted to its 18-character form."))
            )
    return document


# --- phones -------------------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^(0\d{2,3}\d{7,8}|[2-9]\d{6,7}|400\d{7}|800\d{7})$")
_PHONE_SPLIT_RE = re.compile(r"[/,;、|]|或|\s{2,}")


def _phone_digits(part: str) -> str:
    part = part.strip()
    match = _TRAILING_ZERO_RE.match(part)
    if match:
        part = match.group(1)
    digits = re.sub(r"[\s\-()（）.]", "", part)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix) :]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def normalise_phone(text: object) -> tuple[str, list[Problem]]:
    """The first mobile number of a cell, or "" with the reason none could be used."""
    value = half_width(text)
    if value.lower() in PLACEHOLDERS:
        return "", []
    parts = [p for p in _PHONE_SPLIT_RE.split(value) if p.strip()]
    numbers = [_phone_digits(p) for p in parts] or [_phone_digits(value)]
    mobiles = [n for n in numbers if _MOBILE_RE.match(n)]
    if mobiles:
        problems = []
        if len(numbers) > 1:
            problems.append(
                Problem("phone", _("Several numbers in one cell; the first mobile number is used."))
            )
        return mobiles[0], problems
    if any(_LANDLINE_RE.match(n) for n in numbers):
        return "", [
            Problem("phone", _("A landline number, not a mobile number: it cannot identify the person."))
        ]
    return "", [Problem("phone", _("A mobile number is 11 digits starting with 13 to 19."))]


# --- dates and times ----------------------------------------------------------------------------------

# 14:30, 14:30:05(.123), 14时, 14时30分(5秒), 14点30, 下午2:30, 2:30 PM
_TIME = (
    r"(?P<ampm>上午|早上|凌晨|中午|下午|晚上|AM|PM)?\s*(?P<h>\d{1,2})"
    r"(?:\s*[:时点]\s*(?:(?P<mi>\d{1,2})\s*分?"
    r"(?:\s*:\s*(?P<s>\d{1,2})(?:\.\d+)?|\s*(?P<s2>\d{1,2})\s*秒)?)?)?"
    r"\s*(?P<ampm2>AM|PM)?"
)
_FULL_RE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    rf"(?:(?:\s*T\s*|\s+|(?=上午|早上|凌晨|中午|下午|晚上)|(?<=[日号]))(?:{_TIME}))?$",
    re.IGNORECASE,
)
_COMPACT_RE = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\s*(?P<h>\d{2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2}))?)?$"
)
_YEARLESS_RE = re.compile(
    r"^(?P<m>\d{1,2})\s*[月/-]\s*(?P<d>\d{1,2})\s*[日号]?"
    rf"(?:(?:\s+|(?=上午|早上|凌晨|中午|下午|晚上)|(?<=[日号]))(?:{_TIME}))?$",
    re.IGNORECASE,
)
_SERIAL_RE = re.compile(r"^\d{5}(\.\d+)?$")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - a calendar origin, not an instant


class DateUnreadable(ValueError):
    """The text is not a date in any form we read; the message says so."""


@dataclass(frozen=True)
class When:
    date: dt.date
    time: dt.time | None  # None: the cell gave no time of day
    yearless: bool = False
    serial: bool = False  # read from a bare number (an Excel date serial)


def _time_of(match: re.Match) -> dt.time | None:
    groups = match.groupdict()
    if groups.get("h") is None:
        return None
    hour, minute = int(groups["h"]), int(groups.get("mi") or 0)
    seconds = int(groups.get("s") or groups.get("s2") or 0)
    ampm = (groups.get("ampm") or groups.get("ampm2") or "").upper()
    afternoon = ampm in ("下午", "晚上", "PM") and hour < 12
    if afternoon or (ampm == "中午" and hour < 11):  # 中午12点 is noon, 中午1点 one o'clock
        hour += 12
    elif ampm in ("凌晨", "上午", "早上", "AM") and hour == 12:
        hour = 0
    try:
        return dt.time(hour, minute, seconds)
    except ValueError:
        raise DateUnreadable(_("%(v)s is not a time of day.") % {"v": match.group(0)}) from None


def _date_of(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateUnreadable(_("%(v)s is not a real date.") % {"v": text}) from None


def nearest_year(month: int, day: int, reference: dt.date) -> dt.date:
    """A month and day in the year (of the reference's, the one before or after) nearest the reference."""
    best = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # 29 February
            continue
        if best is None or abs(candidate - reference) < abs(best - reference):
            best = candidate
    if best is None:
        raise DateUnreadable(_("%(m)d/%(d)d is not a real date.") % {"m": month, "d": day})
    return best


def parse_when(text: object, *, reference: dt.date | None = None) -> When:
    """A date, and a time when the text has one. ``reference`` supplies the year of ``3月5日``."""
    value = collapse(half_width(text))
    match = _FULL_RE.match(value)
    if match:
        day = _date_of(int(match["y"]), int(match["m"]), int(match["d"]), value)
        return When(day, _time_of(match))
    match = _COMPACT_RE.match(value)
    if match:
        day = _date_of(int(match["y"]), int(match["m"]), int(match["d"]), value)
        at = None
        if match["h"] is not None:
            try:
                at = dt.time(int(match["h"]), int(match["mi"]), int(match["s"] or 0))
            except ValueError:
                raise DateUnreadable(_("%(v)s is not a time of day.") % {"v": value}) from None
        return When(day, at)
    match = _YEARLESS_RE.match(value)
    if match:
        if reference is None:
            raise DateUnreadable(_("%(v)s has no year.") % {"v": value})
        return When(nearest_year(int(match["m"]), int(match["d"]), reference), _time_of(match), yearless=True)
    if _SERIAL_RE.match(value):  # an Excel date the sheet did not format as a date
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
        at = moment.time().replace(microsecond=0)
        return When(moment.date(), at if at != dt.time(0) or "." in value else None, serial=True)
    if re.fullmatch(r"[\d.]+(E[+-]?\d+)?", value, re.IGNORECASE):
        raise DateUnreadable(_("%(v)s is a number, not a date.") % {"v": value[:30]})
    raise DateUnreadable(_("%(v)s is not a date.") % {"v": value[:30]})


def date_reference(texts: Iterable[object], default: dt.date) -> dt.date:
    """The middle of the full dates among ``texts`` (a file's arrival column), else ``default``: what a date
    without a year is put nearest to."""
    days = []
    for text in texts:
        if is_blank(text):
            continue
        try:
            when = parse_when(text)
        except DateUnreadable:
            continue
        days.append(when.date.toordinal())
    return dt.date.fromordinal(int(statistics.median_low(days))) if days else default


EARLIEST_ARRIVAL = dt.date(2000, 1, 1)
EARLIEST_BIRTH = dt.date(1880, 1, 1)


def normalise_birth_date(text: object, *, today: dt.date) -> tuple[dt.date | None, list[Problem]]:
    if is_blank(text):
        return None, []
    try:
        when = parse_when(text)
    except DateUnreadable as err:
        return None, [Problem("birth_date", str(err))]
    if not EARLIEST_BIRTH <= when.date <= today:
        if when.serial:
            return None, [
                Problem("birth_date", _("%(v)s is a number, not a date.") % {"v": half_width(text)})
            ]
        return None, [
            Problem("birth_date", _("The birth date %(d)s is impossible.") % {"d": when.date.isoformat()})
        ]
    return when.date, []


def normalise_arrival(
    text: object, *, reference: dt.date, now: dt.datetime
) -> tuple[dt.datetime | None, list[Problem]]:
    """An aware arrival time; a date without a time of day is taken as its first minute (00:00), which
    counts the hours since arrival from the earliest moment it can have been."""
    if is_blank(text):
        return None, []
    try:
        when = parse_when(text, reference=reference)
    except DateUnreadable as err:
        return None, [Problem("arrived_at", str(err))]
    moment = timezone.make_aware(dt.datetime.combine(when.date, when.time or dt.time(0)))
    if when.yearless and moment > now + dt.timedelta(days=1):  # an arrival lies behind: last year's
        with contextlib.suppress(ValueError):
            moment = moment.replace(year=moment.year - 1)
            when = When(moment.date(), when.time, yearless=True)
    if when.date < EARLIEST_ARRIVAL or moment > now + dt.timedelta(days=1):
        if when.serial:
            return None, [
                Problem("arrived_at", _("%(v)s is a number, not a date.") % {"v": half_width(text)})
            ]
        return None, [
            Problem(
                "arrived_at",
                _("The arrival time %(d)s is impossible (before 2000 or in the future).")
                % {"d": when.date.isoformat()},
            )
        ]
    return moment, []


# --- sex, origin, free text ---------------------------------------------------------------------------

SEX_WORDS = {
    "男": "M",
    "男性": "M",
    "m": "M",
    "male": "M",
    "1": "M",
    "女": "F",
    "女性": "F",
    "f": "F",
    "female": "F",
    "2": "F",
}


def normalise_sex(text: object) -> tuple[str, list[Problem]]:
    value = half_width(text).lower()
    if value in PLACEHOLDERS:
        return "", []
    if value in SEX_WORDS:
        return SEX_WORDS[value], []
    return "", [Problem("sex", _("Unknown sex %(v)s (write 男 or 女).") % {"v": value[:20]})]


_REGION_RE = re.compile(r"(?<!\d)([1-8]\d{5})(?!\d)")


def normalise_origin(text: object) -> tuple[str, str]:
    """(origin text, region code found in it or "")."""
    value = collapse(half_width(text))
    if value.lower() in PLACEHOLDERS:
        return "", ""
    match = _REGION_RE.search(value)
    return value[:120], match.group(1) if match else ""


def normalise_text(text: object, limit: int) -> str:
    value = collapse(half_width(text))
    return "" if value.lower() in PLACEHOLDERS else value[:limit]


# --- a whole row --------------------------------------------------------------------------------------


@dataclass
class RowContext:
    """What normalising a row needs beyond its cells: the fields the source requires, the date a date
    without a year is put nearest to, the current time, and the address locator (address -> grid pk)."""

    required: tuple[str, ...] = ()
    reference: dt.date | None = None
    now: dt.datetime | None = None
    locate: Callable[[str], int | None] | None = None


@dataclass
class RowValues:
    name: str = ""
    id_type: str = ""
    id_number: str = ""
    phone: str = ""
    birth_date: dt.date | None = None
    sex: str = ""
    address: str = ""
    grid_id: int | None = None
    origin: str = ""
    origin_region_code: str = ""
    travel_mode: str = ""
    arrived_at: dt.datetime | None = None
    problems: list[Problem] = field(default_factory=list)
    rejected: bool = False

    @property
    def errors(self) -> list[dict[str, str]]:
        return [p.as_dict() for p in self.problems]


def _present(value: object) -> bool:
    return value not in (None, "")


def normalise_row(raw: dict[str, str], mapping: dict[str, str], context: RowContext) -> RowValues:
    """The normalised values of one row (``raw``: header -> cell text) under ``mapping`` (field -> header),
    with every problem, and whether the row is rejected (see the module docstring for the rules)."""
    now = context.now or timezone.now()
    today = timezone.localdate(now)

    def cell(name: str) -> str:
        column = mapping.get(name, "")
        return str(raw.get(column, "") or "") if column else ""

    out = RowValues()
    problems: list[Problem] = []
    out.name, found = normalise_name(cell("name"))
    problems += found
    document = normalise_document(cell("id_number"), cell("id_type"))
    problems += document.problems
    out.id_type, out.id_number = document.id_type, document.number
    out.phone, found = normalise_phone(cell("phone"))
    problems += found
    out.birth_date, found = normalise_birth_date(cell("birth_date"), today=today)
    problems += found
    out.sex, found = normalise_sex(cell("sex"))
    problems += found
    if document.birth_date is not None:
        if out.birth_date and out.birth_date != document.birth_date:
            problems.append(
                Problem(
                    "birth_date",
                    _(
                        "The birth date given (%(given)s) differs from the ID number's; the ID number's is kept."
                    )
                    % {"given": out.birth_date.isoformat()},
                )
            )
        if out.sex and out.sex != document.sex:
            problems.append(
                Problem("sex", _("The sex given differs from the ID number's; the ID number's is kept."))
            )
        out.birth_date, out.sex = document.birth_date, document.sex
    out.address = normalise_text(cell("address"), 200)
    if out.address and context.locate is not None:
        out.grid_id = context.locate(out.address)
        if out.grid_id is None:
            problems.append(
                Problem(
                    "address",
                    _("The address is not in the district's address table: no grid (the importer's area)."),
                )
            )
    out.origin, out.origin_region_code = normalise_origin(cell("origin"))
    out.travel_mode = normalise_text(cell("travel_mode"), 40)
    out.arrived_at, found = normalise_arrival(
        cell("arrived_at"), reference=context.reference or today, now=now
    )
    problems += found

    # The decision: identity, then the fields the source requires.
    reasons: set[str] = set()
    identified = bool(out.id_number) or bool(out.name and (out.phone or out.birth_date))
    if not identified:
        reasons.update(IDENTITY_FIELDS)
        problems.append(
            Problem(
                "identity",
                _(
                    "No usable identity: the row needs a valid ID number, or a name with a mobile number "
                    "or a birth date."
                ),
                ERROR,
            )
        )
    for name in context.required:
        if not _present(getattr(out, name)):
            reasons.add(name)
            if not any(p.field == name for p in problems):
                problems.append(
                    Problem(
                        name,
                        _("%(field)s is required in lists from this source.") % {"field": FIELD_LABELS[name]},
                    )
                )
    out.rejected = bool(reasons)
    # The problems of the fields that caused the rejection are errors; the rest stay warnings.
    out.problems = [Problem(p.field, p.message, ERROR if p.field in reasons else p.level) for p in problems]
    return out
