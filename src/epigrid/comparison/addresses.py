"""Addresses to grids, by the district's own address table: the addresses of the households and people
already registered with a grid.

Addresses are compared in a canonical form (:func:`address_key`): NFKC, the province, city, district and
street names at the start dropped (lists write them or not), spaces and punctuation removed, Chinese numerals
before 号/栋/单元/期 written as digits, 号楼/幢/座/# unified to 栋, a final 室 dropped. A list's address is
found by its exact key first, then by the longest prefix of it that is known and unambiguous: the key cut
after a building part (…号, …栋, …单元, …期, …村, …组, …弄) — road and number at the shortest, because a road
alone crosses grids. A prefix that leads to two grids is not used. No match: no grid.

:class:`AddressIndex` holds every known key and prefix of the district (built once per processing run of a
list); :func:`locate_grid_id` answers for one address from the registered addresses that share its road
(a correction, a self-report) without building the whole index.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from django.db.models import Q

from epigrid.core.models import Household, OrgLevel, OrgUnit, Person

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER_RE = re.compile(r"([零〇一二两三四五六七八九十]{1,4})(?=号|栋|幢|座|单元|期|组|层)")
_BUILDING_RE = re.compile(r"(\d+)\s*(?:号楼|#楼|#|幢|座)")
_PROVINCE_RE = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|自治区)")
_CITY_RE = re.compile(r"^[\u4e00-\u9fff]{2,4}?市(?=[\u4e00-\u9fff]{1,6}?[区县旗])")
_NOISE_RE = re.compile(r"[\W_]+", re.UNICODE)
# Where a prefix may end: after a house number, building, unit, phase, village, group or lane.
_BOUNDARY_RE = re.compile(r"(?:号|栋|单元|期|村|组|弄)")
_MIN_PREFIX = 4
_AMBIGUOUS = -1


def _cn_number(text: str) -> str:
    """一 -> 1, 十二 -> 12, 二十 -> 20, 二十三 -> 23 (house and building numbers)."""
    if "十" not in text:
        return "".join(str(_CN_DIGITS[ch]) for ch in text)
    tens, _sep, units = text.partition("十")
    return str((_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0))


def address_key(text: str, admin_names: Iterable[str] = ()) -> str:
    """The canonical form of an address for comparison ("" when nothing is left)."""
    value = unicodedata.normalize("NFKC", text or "")
    value = re.sub(r"\s+", "", value)
    value = _PROVINCE_RE.sub("", value, count=1)
    value = _CITY_RE.sub("", value, count=1)
    names = sorted({n for n in admin_names if n}, key=len, reverse=True)
    stripped = True
    while stripped:
        stripped = False
        for name in names:
            if value.startswith(name) and len(value) > len(name):
                value = value[len(name) :]
                stripped = True
    value = _CN_NUMBER_RE.sub(lambda m: _cn_number(m.group(1)), value)
    value = _BUILDING_RE.sub(r"\1栋", value)
    value = _NOISE_RE.sub("", value)
    return value.removesuffix("室")


def prefixes(key: str) -> list[str]:
    """The key cut after each building part, longest first (the key itself excluded)."""
    cuts = [m.end() for m in _BOUNDARY_RE.finditer(key) if m.end() < len(key)]
    found = [key[:end] for end in reversed(cuts)]
    return [p for p in found if len(p) >= _MIN_PREFIX and (any(ch.isdigit() for ch in p) or p.endswith("村"))]


def admin_names() -> list[str]:
    """The district's and streets' names (what lists put before the road, or leave out)."""
    return list(
        OrgUnit.objects.filter(level__in=(OrgLevel.DISTRICT, OrgLevel.STREET)).values_list("name", flat=True)
    )


class AddressIndex:
    """Known address keys and prefixes -> grid pk (or ambiguous)."""

    def __init__(self, known: Iterable[tuple[str, int]], names: Iterable[str] = ()) -> None:
        self.names = list(names)
        exact: dict[str, Counter] = {}
        self.prefix: dict[str, int] = {}
        for address, grid_id in known:
            key = address_key(address, self.names)
            if not key:
                continue
            exact.setdefault(key, Counter())[grid_id] += 1
            for part in [key, *prefixes(key)]:  # a whole address is a prefix of longer ones
                seen = self.prefix.get(part)
                if seen is None:
                    self.prefix[part] = grid_id
                elif seen != grid_id:
                    self.prefix[part] = _AMBIGUOUS
        # The same address registered in two grids (an error somewhere): the grid most of them have, if any.
        self.exact: dict[str, int] = {}
        for key, grids in exact.items():
            (best, n), *rest = [*grids.most_common(2), (None, 0)]
            if best is not None and n > rest[0][1]:
                self.exact[key] = best

    @classmethod
    def build(cls, *, only: Q | None = None) -> AddressIndex:
        """From the registered households and people that have a grid (``only`` narrows both by address)."""
        households = Household.objects.filter(grid__isnull=False).exclude(address="")
        people = Person.objects.filter(grid__isnull=False).exclude(address="")
        if only is not None:
            households, people = households.filter(only), people.filter(only)

        def known() -> Iterable[tuple[str, int]]:
            # People of one household share its address: each (address, grid) once.
            for qs in (households, people):
                pairs = qs.order_by().values_list("address", "grid_id").distinct()
                yield from pairs.iterator(chunk_size=5000)

        return cls(known(), admin_names())

    def locate(self, address: str) -> int | None:
        """The grid pk of ``address``, or None."""
        key = address_key(address, self.names)
        if not key:
            return None
        if key in self.exact:
            return self.exact[key]
        for part in [key, *prefixes(key)]:
            grid_id = self.prefix.get(part)
            if grid_id is not None:
                return None if grid_id == _AMBIGUOUS else grid_id
        return None


def road_of(key: str) -> str:
    """The road part of an address key: what comes before its first digit."""
    match = re.match(r"^\D+", key)
    return match.group(0) if match else ""


def locate_grid_id(address: str) -> int | None:
    """One address to a grid, from the registered addresses on the same road."""
    names = admin_names()
    road = road_of(address_key(address, names))
    if len(road) < 2:
        return None
    return AddressIndex.build(only=Q(address__contains=road[-4:])).locate(address)
