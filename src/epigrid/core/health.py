"""Where other modules ask for a person's health-code colour.

The health-code module owns the colour; it installs its lookup here with ``set_colour_lookup`` when it is
installed. Until then — or for a person it knows no facts about — the colour is green with a reason saying
so, which is what a paper register at the door amounted to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class CodeColour:
    colour: str  # green | yellow | red
    reason: str


NO_FACTS = CodeColour("green", _("No health facts recorded."))

ColourLookup = Callable[[Iterable[int]], dict[int, CodeColour]]
_lookup: ColourLookup | None = None


def set_colour_lookup(lookup: ColourLookup | None) -> None:
    global _lookup
    _lookup = lookup


def colours_for(person_ids: Iterable[int]) -> dict[int, CodeColour]:
    ids = list(person_ids)
    found = _lookup(ids) if _lookup is not None else {}
    return {pid: found.get(pid, NO_FACTS) for pid in ids}


def colour_for(person_id: int) -> CodeColour:
    return colours_for([person_id])[person_id]


# After every check-in the health-code module may want to know (a venue inside a risk area).
CheckinHook = Callable[[int, int, object], None]
_checkin_hook: CheckinHook | None = None


def set_checkin_hook(hook: CheckinHook | None) -> None:
    global _checkin_hook
    _checkin_hook = hook


def note_checkin(person_id: int, venue_id: int, scanned_at: object) -> None:
    if _checkin_hook is not None:
        _checkin_hook(person_id, venue_id, scanned_at)
