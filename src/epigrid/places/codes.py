"""Venue QR codes: a signed token inside a URL of the platform, so a phone camera opens the scan page.

The token is a compact JWS (``typ`` "vc") over ``{"v": venue id, "n": code version, "iat": issue time}``.
Re-issuing a code increments the venue's version, which makes every earlier code fail as "revoked".
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext as _

from epigrid.core import signing
from epigrid.core.signing import CodeRejected
from epigrid.core.ttlcache import TTLCache
from epigrid.places.models import Venue, VenueStatus

PURPOSE = "vc"
SCAN_PATH = "/s/"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")
MAX_CODE_LENGTH = 2000


# Venues read on every scan; a change made in this process is forgotten at once (forget_venue), one made in
# another process is seen within the TTL.
VENUE_CACHE_SECONDS = 5.0
_venues: TTLCache[Venue] = TTLCache(ttl=VENUE_CACHE_SECONDS, max_size=20_000)


def forget_venue(venue_id: int) -> None:
    _venues.forget(venue_id)


def venue_token(venue: Venue) -> str:
    issued = int(venue.code_issued_at.timestamp()) if venue.code_issued_at else 0
    return signing.sign(PURPOSE, {"v": venue.pk, "n": venue.code_version, "iat": issued})


def venue_code_url(venue: Venue, *, base_url: str = "") -> str:
    """The text the QR code holds: ``<base>/s/<token>``."""
    base = (settings.PUBLIC_URL or base_url or "http://localhost:8000").rstrip("/")
    return f"{base}{SCAN_PATH}{venue_token(venue)}"


def token_from_text(text: str) -> str:
    """The token from what a scanner read: a scan URL of ours, or the bare token."""
    text = (text or "").strip()
    if not text or len(text) > MAX_CODE_LENGTH:
        raise CodeRejected(_("This is not an EpiGrid venue code."), reason="garbled")
    if SCAN_PATH in text:
        text = text.rsplit(SCAN_PATH, 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if not _TOKEN_RE.match(text):
        raise CodeRejected(_("This is not an EpiGrid venue code."), reason="garbled")
    return text


def resolve_venue_code(text: str) -> Venue:
    """The venue a scanned code names, if the code is genuine and still valid; CodeRejected otherwise."""
    claims = signing.verify(PURPOSE, token_from_text(text))
    venue_id, version = claims.get("v"), claims.get("n")
    if not isinstance(venue_id, int) or not isinstance(version, int):
        raise CodeRejected(_("This is not an EpiGrid venue code."), reason="garbled")
    venue = _venues.get_or_load(venue_id, lambda: next(iter(Venue.objects.filter(pk=venue_id)[:1]), None))
    if venue is None:
        raise CodeRejected(_("This venue no longer exists."), reason="unknown_venue")
    if version != venue.code_version:
        raise CodeRejected(
            _("This code of %(venue)s has been revoked; scan the venue's current code.")
            % {"venue": venue.name},
            reason="revoked",
        )
    if venue.status != VenueStatus.APPROVED:
        raise CodeRejected(
            _("%(venue)s is not open for check-in (%(status)s).")
            % {"venue": venue.name, "status": venue.get_status_display()},
            reason="venue_closed",
        )
    return venue
