"""Sending a text message to a phone number, through the configured gateway backend.

``EPIGRID_SMS_BACKEND`` names the backend: ``console`` (the default outside production: the message is
written to the log and kept in :data:`outbox`, where the demo and the tests read it) or ``http`` (the gateway
adapter, see ``core.sms_http``). The notification service's SMS channel and the portal's one-time codes both
send through :func:`sms_send`; nothing else talks to a gateway.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentSms:
    to: str
    text: str
    purpose: str
    ref: str


# What the console backend "sent", newest last (tests clear it; the demo shows it to the person at the screen).
outbox: list[SentSms] = []
OUTBOX_LIMIT = 1_000


class SmsError(Exception):
    """The gateway refused or could not be reached; the message was not sent."""


def sms_send(*, to: str, text: str, purpose: str) -> str:
    """Send ``text`` to the phone number ``to``; return the gateway's reference. Raises :class:`SmsError`."""
    backend = getattr(settings, "SMS_BACKEND", "console")
    if backend == "console":
        ref = uuid.uuid4().hex[:16]
        outbox.append(SentSms(to=to, text=text, purpose=purpose, ref=ref))
        del outbox[:-OUTBOX_LIMIT]
        logger.info("SMS (console) to %s for %s: %s", to, purpose, text)
        return ref
    if backend == "http":
        from epigrid.core.sms_http import http_send

        return http_send(to=to, text=text, purpose=purpose)
    raise SmsError(f"unknown SMS backend {backend!r}")
