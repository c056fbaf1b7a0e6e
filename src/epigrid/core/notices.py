"""The notification service: messages to accounts and persons (recalls, quarantine orders, reminders,
announcements, answers, invitations, results of long jobs).

Every message lands in the recipient's **inbox** (a :class:`~epigrid.core.models.Notice` row, the page at
``/notices/`` and the unread badge in the header). The inbox is the record: whatever else carries a message,
the inbox always has it, so nothing is lost when an SMS gateway or a mail server is down.

Other channels are plug-ins. A channel is any object with a ``name`` and a ``deliver(notices)`` method; an app
registers it once in its ``AppConfig.ready()`` and a sender asks for it by name:
``notice_send(..., channels=["sms"])``. Channels run after the inbox rows commit (never for a rolled-back
send), each in turn, a failing channel logged and contained (the inbox and the other channels keep the
message). A channel must not block: it enqueues its own work (``django-tasks``). Asking for a channel nobody
registered is an error before anything is written.

A channel that also has ``addresses(users)`` (the masked address of each account that has one) is *tracked*
(``core.channels``: SMS, email): the send records one :class:`~epigrid.core.models.NoticeDelivery` per notice
on it in the same transaction — queued, or skipped with the reason ("opted out", "no address") — and the
channel is handed only the notices it has to carry. Opt-outs (:class:`~epigrid.core.models.NoticeOptOut`, by
kind or ``*`` and channel) apply to every kind whose template is not mandatory; the inbox ignores them.

``notice_send_templated`` writes each recipient's message from the kind's template
(``core.notice_templates``) in the recipient's own language, with the template's default channels;
``person_notify`` does the same for modules that know persons rather than accounts (each person's resident
account is made on first need).

Writes follow the services' rules: keyword-only, actor first, atomic, audited. A send publishes one
``notice.sent`` event for the batch, addressed to the recipients (``user_ids``): the live stream hands it only
to those accounts, which update their badge. Reads (``notices_for``, ``unread_count``, ``notice_get``,
``notice_settings``) only ever show an account its own inbox and settings.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events
from epigrid.core import notice_templates as templates
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.fields import EncryptedTextField
from epigrid.core.models import (
    DeliveryStatus,
    Notice,
    NoticeDelivery,
    NoticeOptOut,
    OrgUnit,
    Person,
    User,
)
from epigrid.core.roles import is_staff_role
from epigrid.core.scope import in_scope_code
from epigrid.core.selectors import district_code

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 5_000
SENT_EVENT = "notice.sent"
# Why a tracked channel did not carry a notice (stored in ``NoticeDelivery.last_error`` of a skipped row;
# the delivery page translates them).
OPTED_OUT = "opted out"
NO_ADDRESS = "no address"


class Channel(Protocol):
    """A way of delivering notices besides the inbox (SMS, email, an app push...)."""

    name: str

    def deliver(self, notices: list[Notice]) -> None: ...


_channels: dict[str, Channel] = {}


def register_channel(channel: Channel) -> None:
    """Make ``channel`` available to senders under ``channel.name`` (re-registering replaces)."""
    _channels[channel.name] = channel


def unregister_channel(name: str) -> None:
    _channels.pop(name, None)


def channel_names() -> list[str]:
    return sorted(_channels)


def get_channel(name: str) -> Channel | None:
    return _channels.get(name)


def is_tracked(channel: Channel) -> bool:
    return callable(getattr(channel, "addresses", None))


def tracked_channels() -> list[Channel]:
    return [channel for name, channel in sorted(_channels.items()) if is_tracked(channel)]


def _deliver(channel: Channel, notices: list[Notice]) -> None:
    try:
        channel.deliver(notices)
    except Exception:
        logger.exception("notice channel %s failed for %d notices", channel.name, len(notices))


def _clean_url(url: str) -> str:
    """A link the inbox may show: a path on this site or an http(s) address, nothing else (no
    ``javascript:``, no ``//other.host`` that looks like a path)."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > 500:
        raise DomainError(_("The link is longer than 500 characters."), field="url")
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")) and len(url.split("//", 1)[1].split("/", 1)[0]) > 0:
        return url
    raise DomainError(_("A notice links to a page of this site or to an http(s) address."), field="url")


def _recipient_codes(users: list[User]) -> dict[int, str]:
    """The org code a notice to each account carries: the account's unit, or a resident's own grid (two
    queries for the batch, not two per account)."""
    unit_ids = {u.org_unit_id for u in users if u.org_unit_id}
    person_ids = {u.person_id for u in users if not u.org_unit_id and u.person_id}
    units = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "code")) if unit_ids else {}
    people = (
        dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "org_code")) if person_ids else {}
    )
    codes = {}
    for user in users:
        if user.org_unit_id:
            codes[user.pk] = units.get(user.org_unit_id, "")
        else:
            codes[user.pk] = people.get(user.person_id, "") if user.person_id else ""
    return codes


@dataclass
class _Message:
    """One recipient's notice as it will be written: already in their language, with their channels."""

    user: User
    title: str
    body: str = ""
    url: str = ""
    channels: list[str] = field(default_factory=list)


def _check_kind_and_title(kind: str, title: str) -> tuple[str, str]:
    kind = (kind or "").strip()
    title = (title or "").strip()
    if not kind or len(kind) > 40:
        raise DomainError(_("A notice needs a kind of at most 40 characters."), field="kind")
    if not title:
        raise DomainError(_("A notice needs a title."), field="title")
    if len(title) > 200:
        raise DomainError(_("The title is longer than 200 characters."), field="title")
    return kind, title


def _check_channels(names: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in _channels]
    if unknown:
        raise DomainError(_("Unknown notice channel: %(names)s.") % {"names": ", ".join(unknown)})
    return wanted


def notice_send(
    *,
    actor: User | None,
    users: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    channels: Iterable[str] = (),
) -> list[Notice]:
    """Put one message into the inbox of each of ``users`` (and hand it to ``channels`` after commit).

    ``actor`` None is the system. A person sending must be staff, and may write only to accounts inside their
    jurisdiction (the notification service is not a way around scope). The same account listed twice gets one
    notice; inactive accounts get none. Returns the notices made, in the order of ``users``."""
    kind, title = _check_kind_and_title(kind, title)
    url = _clean_url(url)
    wanted = _check_channels(channels)
    messages = [_Message(user, title, body or "", url, wanted) for user in users]
    return _send(actor=actor, kind=kind, messages=messages)


def _recipients(actor: User | None, messages: list[_Message]) -> list[_Message]:
    if actor is not None and not (actor.is_active and is_staff_role(actor.role)):
        raise Forbidden(_("Your role may not do this."))
    seen: set[int] = set()
    kept: list[_Message] = []
    for message in messages:
        user = message.user
        if user.pk is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        kept.append(message)
    if len(kept) > MAX_RECIPIENTS:
        raise DomainError(_("At most %(n)d recipients at once.") % {"n": MAX_RECIPIENTS})
    return kept


def _send(*, actor: User | None, kind: str, messages: list[_Message]) -> list[Notice]:
    """Write the inbox rows of ``messages`` (one per account), their delivery rows on tracked channels, one
    audit entry and one event; hand each channel its notices after commit."""
    messages = _recipients(actor, messages)
    codes = _recipient_codes([m.user for m in messages])
    if actor is not None:
        outside = [m.user.username for m in messages if not in_scope_code(actor, codes[m.user.pk])]
        if outside:
            raise Forbidden(
                _("These accounts are outside your jurisdiction: %(names)s.") % {"names": ", ".join(outside)}
            )
    if not messages:
        return []

    now = timezone.now()
    made = [
        Notice(
            user=m.user,
            kind=kind,
            title=m.title,
            body=m.body,
            url=m.url,
            org_code=codes[m.user.pk],
            created_at=now,
        )
        for m in messages
    ]
    user_ids = [m.user.pk for m in messages]
    with transaction.atomic():
        _insert_rows(Notice, made)
        carried = _record_deliveries(kind, messages, made, now)
        audit_record(
            actor=actor,
            action="notice.send",
            org_code=actor.org_code if actor is not None and actor.org_code else district_code(),
            detail={"kind": kind, "count": len(made), "user_ids": user_ids[:200]},
        )
        events.publish(SENT_EVENT, payload={"user_ids": user_ids, "kind": kind}, org_code="")
        for name, notices in carried.items():
            if notices:
                channel = _channels[name]
                transaction.on_commit(lambda channel=channel, notices=notices: _deliver(channel, notices))
    return made


def _record_deliveries(
    kind: str, messages: list[_Message], made: list[Notice], now: Any
) -> dict[str, list[Notice]]:
    """Which notices each channel carries. Tracked channels get a delivery row per notice — queued, or
    skipped because the account opted out (not for mandatory kinds) or has no address on the channel."""
    per_channel: dict[str, list[tuple[_Message, Notice]]] = {}
    for message, notice in zip(messages, made, strict=True):
        for name in message.channels:
            per_channel.setdefault(name, []).append((message, notice))
    carried: dict[str, list[Notice]] = {}
    tracked = {name for name in per_channel if is_tracked(_channels[name])}
    opted: set[tuple[int, str]] = set()
    if tracked and not templates.is_mandatory(kind):
        opted = set(
            NoticeOptOut.objects.filter(
                user_id__in=[m.user.pk for m in messages],
                kind__in=templates.setting_kinds(kind),
                channel__in=tracked,
            ).values_list("user_id", "channel")
        )
    rows: list[NoticeDelivery] = []
    for name, pairs in per_channel.items():
        if name not in tracked:
            carried[name] = [notice for _m, notice in pairs]
            continue
        addresses = _channels[name].addresses([m.user for m, _n in pairs])
        queued = []
        for message, notice in pairs:
            address = addresses.get(message.user.pk, "")
            if (message.user.pk, name) in opted:
                status, reason = DeliveryStatus.SKIPPED, OPTED_OUT
            elif not address:
                status, reason = DeliveryStatus.SKIPPED, NO_ADDRESS
            else:
                status, reason = DeliveryStatus.QUEUED, ""
                queued.append(notice)
            rows.append(
                NoticeDelivery(
                    notice=notice,
                    channel=name,
                    status=status,
                    address_masked=address[:120],
                    last_error=reason,
                    org_code=notice.org_code,
                    created_at=now,
                    updated_at=now,
                )
            )
        carried[name] = queued
    if rows:
        _insert_rows(NoticeDelivery, rows)
    return carried


# --- templated sending -------------------------------------------------------------------------------------

Params = Mapping[str, Any]


def _template(kind: str) -> templates.NoticeTemplate:
    template = templates.get(kind)
    if template is None:
        raise DomainError(_("No message template for the kind %(kind)s.") % {"kind": kind}, field="kind")
    return template


def _values_key(values: Params) -> tuple:
    return tuple(sorted((key, type(value).__name__, str(value)) for key, value in values.items()))


def notice_send_templated(
    *,
    actor: User | None,
    users: Iterable[User],
    kind: str,
    params: Params | Callable[[User], Params],
    url: str | Callable[[User], str] = "",
    channels: Iterable[str] | None = None,
) -> list[Notice]:
    """Send the template of ``kind`` to each of ``users``, written in each account's own language.

    ``params`` (and ``url``) are the same for everyone, or a function of the recipient for messages that
    differ per person (a due time, a personal link). ``url`` empty: the template's page. ``channels`` None:
    the template's default channels (email only for accounts that have an address); the inbox always.
    Batches larger than one send are sent in parts of :data:`MAX_RECIPIENTS`. Returns the notices made."""
    template = _template(kind)
    explicit = None if channels is None else _check_channels(channels)
    default_url = template.default_url()
    rendered: dict[tuple, templates.Rendered] = {}
    messages: list[_Message] = []
    for user in users:
        values = params(user) if callable(params) else params
        # People of one batch mostly share their values (one site, one end date): render each distinct
        # message once per language.
        key = (user.language, _values_key(values))
        if key not in rendered:
            rendered[key] = templates.render(template, values, user.language)
        text = rendered[key]
        if not text.title:
            raise DomainError(_("A notice needs a title."), field="title")
        link = _clean_url((url(user) if callable(url) else url) or default_url)
        wanted = (
            explicit
            if explicit is not None
            else _check_channels(c for c in template.default_channels(user) if c in _channels)
        )
        messages.append(_Message(user, text.title, text.body, link, wanted))
    made: list[Notice] = []
    for start in range(0, len(messages), MAX_RECIPIENTS):
        made.extend(_send(actor=actor, kind=template.kind, messages=messages[start : start + MAX_RECIPIENTS]))
    return made


def person_notify(
    *,
    actor: User | None,
    persons: Iterable[Person],
    kind: str,
    params: Params | Callable[[Person], Params],
    url: str | Callable[[Person], str] = "",
    channels: Iterable[str] | None = None,
) -> list[Notice]:
    """``notice_send_templated`` to persons: each one's resident account (made on first need through
    ``core.services.resident_account_ensure``), so the message waits in their inbox for their first login and
    reaches their phone now. A person listed twice gets one notice."""
    people = list({p.pk: p for p in persons if p.pk is not None}.values())
    if not people:
        return []
    _template(kind)  # an unknown kind is refused before any account is made
    accounts = _resident_accounts(people)
    person_of = {accounts[p.pk].pk: p for p in people}
    return notice_send_templated(
        actor=actor,
        users=[accounts[p.pk] for p in people],
        kind=kind,
        params=(lambda user: params(person_of[user.pk])) if callable(params) else params,
        url=(lambda user: url(person_of[user.pk])) if callable(url) else url,
        channels=channels,
    )


BULK_ACCOUNTS = 20


def _unusable() -> str:
    # What ``set_unusable_password`` stores (the prefix, then random text), with one urandom call rather
    # than forty: no password ever matches it.
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _resident_accounts(people: list[Person]) -> dict[int, User]:
    """Each person's resident account, made where missing. A few are made one by one through
    ``core.services.resident_account_ensure``; a batch (a quarantine dispatch of thousands, a lab sheet full of
    recalls) is made the same way — ``person-<id>``, no usable password, resident role — with one INSERT and
    one audit entry listing every person, since an audited save per account costs ~5 ms."""
    from epigrid.core.roles import Role
    from epigrid.core.services import resident_account_ensure

    accounts = {u.person_id: u for u in User.objects.filter(person_id__in=[p.pk for p in people])}
    missing = [p for p in people if p.pk not in accounts]
    if len(missing) <= BULK_ACCOUNTS:
        for person in missing:
            accounts[person.pk] = resident_account_ensure(person=person)
        return accounts
    with transaction.atomic():
        now = timezone.now()
        _insert_rows(
            User,
            [
                User(
                    username=f"person-{p.pk}",
                    role=Role.RESIDENT,
                    person_id=p.pk,
                    password=_unusable(),
                    date_joined=now,
                )
                for p in missing
            ],
            ignore_conflicts=True,  # an account made meanwhile by another request stays as it is
        )
        made = {u.person_id: u for u in User.objects.filter(person_id__in=[p.pk for p in missing])}
        audit_record(
            actor=None,
            action="user.create_many",
            org_code=district_code(),
            detail={"role": Role.RESIDENT, "on_demand": True, "person_ids": sorted(made)},
        )
    accounts.update(made)
    return accounts


def _insert_rows(model: type[Model], objs: list[Model], *, ignore_conflicts: bool = False) -> None:
    """Multi-row INSERTs for a batch of new rows, each object's pk set from ``RETURNING`` (without
    ``ignore_conflicts``). ``bulk_create`` spends ~0.4 ms a row compiling its values, which made notifying a
    quarantine dispatch of 5,000 people cost 10 s; values here are prepared as Django prepares them
    (``get_db_prep_save``), once per distinct plain value of a field (never for encrypted values)."""
    meta, ops, quote = model._meta, connection.ops, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = f"{ops.insert_statement(on_conflict=conflict)} {quote(meta.db_table)} ({columns}) VALUES "
    tail = ops.on_conflict_suffix_sql(fields, conflict, None, None) if ignore_conflicts else ""
    if not ignore_conflicts:
        tail += f" RETURNING {quote(meta.pk.column)}"
    prepared: dict[tuple, Any] = {}

    def prep(field: Any, value: Any) -> Any:
        if isinstance(field, EncryptedTextField) and value:
            return field.get_db_prep_save(value, connection)
        key = (field.attname, type(value), value)
        try:
            hash(key)
        except TypeError:  # a list or a dict: prepared every time
            return field.get_db_prep_save(value, connection)
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, connection)
        return prepared[key]

    per_statement = max(1, 900 // len(fields))  # under SQLite's historical limit of 999 parameters
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            params = [prep(f, getattr(obj, f.attname)) for obj in batch for f in fields]
            cursor.execute(head + ", ".join([row] * len(batch)) + tail, params)
            if not ignore_conflicts:
                for obj, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                    obj.pk = pk
                    obj._state.adding, obj._state.db = False, connection.alias


# --- opt-outs ------------------------------------------------------------------------------------------------

ALL_KINDS = "*"


def _opt_out_channels() -> list[str]:
    return [channel.name for channel in tracked_channels()]


def notice_opt_out_set(*, actor: User, kind: str, channel: str, opted_out: bool) -> bool:
    """Turn messages of ``kind`` (``*``: every optional kind) on ``channel`` off (``opted_out``) or back on
    for the actor's own account. Mandatory kinds cannot be turned off; the inbox is not a channel one leaves.
    Setting what is already set changes nothing. Returns whether anything changed."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden(_("Sign in to change your message settings."))
    if channel not in _opt_out_channels():
        raise DomainError(_("Messages can be turned off by SMS or email only."), field="channel")
    if kind != ALL_KINDS:
        template = templates.get(kind)
        if template is None:
            raise DomainError(_("No message template for the kind %(kind)s.") % {"kind": kind}, field="kind")
        if template.mandatory:
            raise DomainError(
                _("%(kind)s cannot be turned off: %(reason)s")
                % {"kind": template.label, "reason": template.reason},
                field="kind",
            )
        kind = template.kind
    with transaction.atomic():
        if opted_out:
            _row, changed = NoticeOptOut.objects.get_or_create(user=actor, kind=kind, channel=channel)
        else:
            changed = NoticeOptOut.objects.filter(user=actor, kind=kind, channel=channel).delete()[0] > 0
        if changed:
            audit_record(
                actor=actor,
                action="notice.opt_out" if opted_out else "notice.opt_in",
                org_code=_recipient_codes([actor])[actor.pk],
                detail={"kind": kind, "channel": channel},
            )
    return changed


def notice_language_set(*, actor: User, language: str) -> User:
    """The language the actor's messages are written in (inbox, SMS, email), one of the site's languages."""
    from django.conf import settings

    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden(_("Sign in to change your message settings."))
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Choose one of the languages offered."), field="language")
    if actor.language == language:
        return actor
    with transaction.atomic():
        User.objects.filter(pk=actor.pk).update(language=language)
        actor.language = language
        audit_record(
            actor=actor,
            action="notice.language",
            obj=actor,
            org_code=_recipient_codes([actor])[actor.pk],
            detail={"language": language},
        )
    return actor


@dataclass(frozen=True)
class ChannelSetting:
    channel: str
    label: str
    receiving: bool  # the account gets this kind on this channel (when it has an address there)
    locked: bool  # mandatory: always on


@dataclass(frozen=True)
class KindSetting:
    kind: str
    label: str
    mandatory: bool
    reason: str
    channels: list[ChannelSetting]


def notice_settings(*, user: User) -> list[KindSetting]:
    """The account's message settings: first ``*`` (every optional message), then each kind meant for an
    account like it (residents: residents' kinds; staff: staff kinds) × each opt-out channel."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    names = _opt_out_channels()
    labels = {name: str(getattr(_channels[name], "label", name)) for name in names}
    off = set(NoticeOptOut.objects.filter(user=user).values_list("kind", "channel"))
    audience = templates.STAFF if is_staff_role(user.role) else templates.RESIDENT
    rows = [
        KindSetting(
            kind=ALL_KINDS,
            label=_("Every optional message"),
            mandatory=False,
            reason="",
            channels=[ChannelSetting(n, labels[n], (ALL_KINDS, n) not in off, False) for n in names],
        )
    ]
    for template in templates.for_audience(audience):
        rows.append(
            KindSetting(
                kind=template.kind,
                label=str(template.label),
                mandatory=template.mandatory,
                reason=str(template.reason),
                channels=[
                    ChannelSetting(
                        n, labels[n], template.mandatory or (template.kind, n) not in off, template.mandatory
                    )
                    for n in names
                ],
            )
        )
    return rows


def notice_mark_read(*, actor: User, notice: Notice) -> Notice:
    """Mark one notice read; only its recipient may. Reading it again changes nothing."""
    if actor is None or notice.user_id != actor.pk:
        raise Forbidden(_("Only the recipient marks a message read."))
    if notice.read_at is not None:
        return notice
    with transaction.atomic():
        notice.read_at = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=notice.read_at)
        audit_record(actor=actor, action="notice.read", obj=notice)
    return notice


def notice_mark_all_read(*, actor: User) -> int:
    """Mark every unread notice of the actor's inbox read; returns how many."""
    with transaction.atomic():
        count = Notice.objects.filter(user=actor, read_at__isnull=True).update(read_at=timezone.now())
        if count:
            audit_record(
                actor=actor,
                action="notice.read_all",
                org_code=_recipient_codes([actor])[actor.pk],
                detail={"count": count},
            )
    return count


# --- reads: an account's own inbox ------------------------------------------------------------------------


def notices_for(*, user: User, unread_only: bool = False) -> QuerySet[Notice]:
    """The inbox of ``user``, newest first (nothing for anonymous or inactive accounts)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Notice.objects.none()
    qs = Notice.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    """How many notices ``user`` has not read: one COUNT over the (user, read_at) index."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


def notice_get(*, user: User, pk: int) -> Notice:
    """One notice of the user's own inbox; anyone else's answers 404 like a missing one."""
    notice = notices_for(user=user).filter(pk=pk).first()
    if notice is None:
        raise Http404
    return notice
