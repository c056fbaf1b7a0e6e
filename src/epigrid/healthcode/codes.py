"""The personal code (动态健康码): a signed token that names the person and expires after 60 seconds.

Door staff or a kiosk verify it: a valid code answers the person's *current* colour (not the colour when
the code was shown) and their masked name; an expired, forged or garbled code says why it is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

from epigrid.core import signing
from epigrid.core.health import colour_for
from epigrid.core.models import Person
from epigrid.core.signing import CodeRejected

PURPOSE = "hc"
LIFETIME_SECONDS = 60


def personal_code(person: Person) -> tuple[str, int]:
    """A fresh code for ``person`` and the Unix time it expires."""
    now = int(time.time())
    expires = now + LIFETIME_SECONDS
    return signing.sign(PURPOSE, {"p": person.pk, "iat": now, "exp": expires}), expires


@dataclass(frozen=True)
class Verification:
    valid: bool
    colour: str
    name_masked: str
    detail: str
    reason: str = ""
    person_id: int | None = None


def verify_personal_code(text: str) -> Verification:
    text = (text or "").strip()
    try:
        if not text or len(text) > 2000:
            raise CodeRejected(_("This is not an EpiGrid code."), reason="garbled")
        claims = signing.verify(PURPOSE, text)
        person_id = claims.get("p")
        person = Person.objects.filter(pk=person_id).first() if isinstance(person_id, int) else None
        if person is None:
            raise CodeRejected(_("This code names no registered person."), reason="unknown_person")
    except CodeRejected as err:
        return Verification(False, "", "", err.message, err.reason)
    colour = colour_for(person.pk)
    return Verification(True, colour.colour, person.name_masked, str(colour.reason), "", person.pk)
