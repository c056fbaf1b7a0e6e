"""Identity documents and phone numbers: validation, normalisation and facts derived from them.

GB 11643-1999 resident ID numbers are checked with ISO 7064 MOD 11-2. Errors say exactly what is wrong,
because the person at the sampling desk has to fix it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


class IdType(models.TextChoices):
    RESIDENT = "ric", _("Resident identity card")
    PASSPORT = "passport", _("Passport")
    HK_MACAU = "hkm", _("Hong Kong/Macau permit")
    TAIWAN = "tw", _("Taiwan permit")
    FOREIGN_PERMANENT = "fpr", _("Foreigner permanent residence ID")
    # A person known only from a list (a name, a phone): the platform numbers them until a document is known.
    PROVISIONAL = "prov", _("Provisional (no document yet)")


class IdentityError(ValueError):
    """A document number or phone that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def ric_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_resident_id(value: str) -> ResidentId:
    """Validate and normalise a resident ID (18 characters, or an old 15-digit number)."""
    raw = (value or "").strip().replace(" ", "").upper()
    if len(raw) == 15 and raw.isdigit():
        first17 = raw[:6] + "19" + raw[6:]
        raw = first17 + ric_check_char(first17)
    if len(raw) != 18:
        raise IdentityError(_("An ID number has 18 characters; this one has %(n)d.") % {"n": len(raw)})
    if not raw[:17].isdigit() or not (raw[17].isdigit() or raw[17] == "X"):
        raise IdentityError(_("An ID number is 17 digits followed by a digit or X."))
    try:
        birth = dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise IdentityError(
            _("The birth date in the ID number (%(d)s) is not a real date.") % {"d": raw[6:14]}
        ) from None
    if birth.year < 1880 or birth > dt.date.today():  # noqa: DTZ011 - a calendar date, not an instant
        raise IdentityError(_("The birth date in the ID number (%(d)s) is impossible.") % {"d": raw[6:14]})
    expected = ric_check_char(raw[:17])
    if raw[17] != expected:
        raise IdentityError(
            _("The ID number's check character is %(got)s but should be %(want)s: a digit is mistyped.")
            % {"got": raw[17], "want": expected}
        )
    sex = "M" if int(raw[16]) % 2 == 1 else "F"
    return ResidentId(number=raw, birth_date=birth, sex=sex)


_OTHER_PATTERNS = {
    IdType.PASSPORT: (re.compile(r"^[A-Z0-9]{5,17}$"), _("A passport number is 5 to 17 letters and digits.")),
    IdType.HK_MACAU: (
        re.compile(r"^[HM]\d{8}(\d{2})?$"),
        _("A Hong Kong/Macau permit number is H or M followed by 8 or 10 digits."),
    ),
    IdType.TAIWAN: (re.compile(r"^\d{8}(\d{2})?$"), _("A Taiwan permit number is 8 or 10 digits.")),
    IdType.PROVISIONAL: (
        re.compile(r"^P[0-9A-F]{16}$"),
        _("A provisional number is P followed by 16 hexadecimal digits (the platform assigns it)."),
    ),
}


def normalize_document(id_type: str, value: str) -> str:
    """Return the canonical form of a document number, or raise IdentityError saying why not."""
    if id_type == IdType.RESIDENT:
        return parse_resident_id(value).number
    raw = (value or "").strip().replace(" ", "").upper()
    if id_type == IdType.FOREIGN_PERMANENT:
        # The 2017 foreigner permanent residence ID: 18 characters, starts with 9, GB 11643 checksum.
        if not raw.startswith("9"):
            raise IdentityError(_("A foreigner permanent residence ID starts with 9."))
        return parse_resident_id(raw).number
    if id_type not in _OTHER_PATTERNS:
        raise IdentityError(_("Unknown document type %(t)s.") % {"t": id_type})
    pattern, message = _OTHER_PATTERNS[IdType(id_type)]
    if not pattern.match(raw):
        raise IdentityError(message)
    return raw


def normalize_phone(value: str) -> str:
    """A Chinese mobile number as 11 digits; accepts +86 / 0086 prefixes, spaces and dashes."""
    raw = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    if not _PHONE_RE.match(raw):
        raise IdentityError(_("A mobile number is 11 digits starting with 13 to 19."))
    return raw


def compose_resident_id(address_code: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid 18-character resident ID (synthetic data, tests). ``sequence`` odd = male."""
    first17 = f"{address_code}{birth_date:%Y%m%d}{sequence % 1000:03d}"
    return first17 + ric_check_char(first17)
