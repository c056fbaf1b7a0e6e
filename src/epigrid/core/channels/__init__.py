"""Notice channels besides the inbox: SMS and email, registered with ``core.notices`` at start-up."""

from __future__ import annotations


def register_all() -> None:
    """Called from ``CoreConfig.ready()``: makes ``sms`` and ``email`` available to senders (and imports the
    delivery tasks and their periodic retry job)."""
    from epigrid.core import notices
    from epigrid.core.channels.email import EmailChannel
    from epigrid.core.channels.sms import SmsChannel

    notices.register_channel(SmsChannel())
    notices.register_channel(EmailChannel())
