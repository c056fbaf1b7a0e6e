"""What each kind of notice says, in the recipient's language, and how it travels.

A template per kind: the title and body msgids (``%(name)s`` parameters), whether the law requires the message
(``mandatory``: recalls to re-test, quarantine orders, results that change a health code — opt-outs do not
apply), the channels it takes by default besides the inbox (``sms`` for mandatory messages and reminders;
``email`` whenever the account has an address), and the page it links to. ``core.notices`` renders a template
once per recipient inside ``translation.override(user.language)``, so a resident whose language is English
gets English in the inbox, the SMS and the email alike.

Rendering is forgiving about parameters: a missing one renders empty and extra ones are ignored, so a
module that sends a little less than the template knows still gets its message through. Values are
formatted for people: datetimes in the site's time zone (``YYYY-MM-DD HH:MM``), lazy strings translated.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import User

RESIDENT = "resident"
STAFF = "staff"
TITLE_LIMIT = 200
BODY_LIMIT = 4_000


@dataclass(frozen=True)
class NoticeTemplate:
    kind: str
    label: Promise  # the kind as the notice-settings page names it
    title: Promise | str
    body: Promise | str = ""
    mandatory: bool = False
    reason: Promise | str = ""  # why a mandatory kind cannot be turned off
    channels: tuple[
        str, ...
    ] = ()  # by default, besides the inbox ("email" is added when there is an address)
    url_name: str = ""  # the page linked when the sender gives no URL
    audience: str = RESIDENT
    aliases: tuple[str, ...] = ()  # kinds older senders still write (same settings, same template)

    def default_channels(self, user: User) -> list[str]:
        names = list(self.channels)
        if user.email and "email" not in names:
            names.append("email")
        return names

    def default_url(self) -> str:
        return _path_of(self.url_name) if self.url_name else ""


@functools.cache
def _path_of(url_name: str) -> str:
    # Cached: reverse() costs 1-10 ms a call here, and a batch send asks once per call of the service.
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return ""


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


_LAW = _("The epidemic prevention law requires that you receive it.")

TEMPLATES: dict[str, NoticeTemplate] = {}
_BY_ALIAS: dict[str, NoticeTemplate] = {}


def register(template: NoticeTemplate) -> NoticeTemplate:
    TEMPLATES[template.kind] = template
    for alias in template.aliases:
        _BY_ALIAS[alias] = template
    return template


for _template in (
    NoticeTemplate(
        kind="testing_recall",
        label=_("Recall to re-test"),
        title=_("Please come back for a nucleic-acid re-test"),
        body=_(
            "Your pooled sample needs a re-test in a single tube. Please go to a sampling point before "
            "%(due)s and bring your ID card."
        ),
        mandatory=True,
        reason=_LAW,
        channels=("sms",),
        url_name="testing:my_results",
    ),
    NoticeTemplate(
        kind="quarantine_notice",
        label=_("Quarantine notice"),
        title=_("Quarantine notice: %(place)s until %(end)s"),
        body=_(
            "You are placed in quarantine (%(place)s) from %(start)s until %(end)s. Stay where you are "
            "placed and report your temperature and symptoms every day through the link."
        ),
        mandatory=True,
        reason=_LAW,
        channels=("sms",),
    ),
    NoticeTemplate(
        kind="vaccination_reminder",
        label=_("Vaccination appointment reminder"),
        title=_("Reminder: vaccination tomorrow at %(time)s, %(site)s. Booking code %(code)s."),
        channels=("sms",),
        url_name="vaccination:my",
    ),
    NoticeTemplate(
        kind="vaccination_closed",
        label=_("Vaccination appointment cancelled"),
        title=_("Your vaccination appointment is cancelled: the site is closed that day. Please book again."),
        body="%(reason)s",
        channels=("sms",),
        url_name="vaccination:my",
    ),
    NoticeTemplate(
        kind="vaccination_self_report",
        label=_("Review of a self-reported vaccination"),
        title="%(title)s",
        body="%(body)s",
        url_name="vaccination:my",
    ),
    NoticeTemplate(
        kind="announcement",
        label=_("Announcements"),
        title="%(title)s",
        body="%(summary)s",
        url_name="announcements:list",
    ),
    NoticeTemplate(
        kind="hotline_answer",
        label=_("Answers from the hotline"),
        title=_("The hotline answered your question"),
        body="%(answer)s",
    ),
    NoticeTemplate(
        kind="supplies_shortage",
        label=_("Supplies running short"),
        title=_("%(item)s is short at %(point)s: %(on_hand)d %(unit)s on hand"),
        audience=STAFF,
        aliases=("supplies.shortage",),
    ),
    NoticeTemplate(
        kind="waste.alarm",
        label=_("Medical-waste alarms"),
        title="%(title)s",
        body="%(body)s",
        audience=STAFF,
    ),
    NoticeTemplate(
        kind="consultation",
        label=_("Video consultation invitations"),
        title=_("Video consultation: %(topic)s"),
        body=_("%(who)s invites you to a video consultation. Join the meeting: %(url)s"),
        audience=STAFF,
    ),
):
    register(_template)


def get(kind: str) -> NoticeTemplate | None:
    """The template of ``kind`` (or of a kind it is an alias of); None for kinds without one."""
    return TEMPLATES.get(kind) or _BY_ALIAS.get(kind)


def setting_kinds(kind: str) -> list[str]:
    """The opt-out kinds that apply to a notice of ``kind``: its template's kind, its aliases, and ``*``."""
    template = get(kind)
    names = {kind, "*"}
    if template is not None:
        names.update((template.kind, *template.aliases))
    return sorted(names)


def is_mandatory(kind: str) -> bool:
    template = get(kind)
    return template is not None and template.mandatory


def for_audience(audience: str) -> list[NoticeTemplate]:
    return [t for t in TEMPLATES.values() if t.audience == audience]


class _Params(dict):
    """Parameters for ``%``-formatting: missing names render empty rather than failing the send."""

    def __missing__(self, key: str) -> str:
        return ""


def _fmt(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if timezone.is_aware(value) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return "" if value is None else str(value)


def _format(message: Promise | str, params: _Params) -> str:
    text = str(message)
    if not text:
        return ""
    try:
        return text % params
    except (TypeError, ValueError):
        # A numeric placeholder given nothing or text (a missing parameter renders empty): format it as text
        # rather than lose the message; a text that still does not fit is shown without its parameters.
        try:
            return _NUMERIC.sub(r"%(\1)s", text) % params
        except (TypeError, ValueError):
            return text


_NUMERIC = re.compile(r"%\((\w+)\)[-+ #0-9.]*[dif]")


def render(template: NoticeTemplate, params: Mapping[str, Any], language: str | None) -> Rendered:
    """The title and body of ``template`` with ``params``, in ``language`` (the site's when empty)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        values = _Params({key: _fmt(value) for key, value in params.items()})
        title = _format(template.title, values).strip()
        body = _format(template.body, values).strip()
    return Rendered(title=_shorten(title, TITLE_LIMIT), body=_shorten(body, BODY_LIMIT))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
