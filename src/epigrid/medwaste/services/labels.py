"""Labelling a bag or box at the producer, and reading a label back.

A label's code is ``MW`` + the local date (YYMMDD) + five random Crockford base32 characters + one check
character (Luhn mod 32), e.g. ``MW261126K7Q2PX``: short enough to type from the label, and a typo in it is
refused instead of naming another bag. The QR code holds a signed token (``core.signing``, ``typ`` "mw") in a
URL of the platform, so a forged or edited label is refused when scanned and a phone camera opens the bag.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import events, signing
from epigrid.core.audit import audit_record
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.signing import CodeRejected
from epigrid.medwaste.models import Bag, PartyKind, Stage, WasteCategory
from epigrid.medwaste.models import Party as PartyModel
from epigrid.medwaste.services.chain import check_weight, when, write_record
from epigrid.medwaste.services.parties import is_member, person_name

PURPOSE = "mw"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_RE = re.compile(r"^MW\d{6}[0-9A-HJKMNP-TV-Z]{6}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")
SCAN_PREFIX = "/waste/l/"


def check_char(body: str) -> str:
    """Luhn mod 32 over ``body``: catches every single wrong character and most swapped neighbours."""
    n, total, factor = len(ALPHABET), 0, 2
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code(at: dt.datetime) -> str:
    body = (
        "MW"
        + timezone.localtime(at).strftime("%y%m%d")
        + "".join(secrets.choice(ALPHABET) for _i in range(5))
    )
    return body + check_char(body)


def normalise_code(text: str) -> str:
    """A typed label code in canonical form, or a DomainError when it cannot be one of ours."""
    code = "".join((text or "").split()).replace("-", "").upper()
    code = code.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))  # Crockford's look-alikes
    code = "MW" + code[2:] if code.startswith("MW") else code
    if not _CODE_RE.match(code) or check_char(code[:-1]) != code[-1]:
        raise CodeRejected(
            _("%(code)s is not a valid waste label: check the code on the label.")
            % {"code": text.strip()[:40]},
            reason="garbled",
        )
    return code


def label_token(bag: Bag) -> str:
    return signing.sign(PURPOSE, {"b": bag.pk, "c": bag.code, "iat": int(bag.labelled_at.timestamp())})


def label_url(bag: Bag, *, base_url: str = "") -> str:
    """What the QR code holds: ``<base>/waste/l/<token>``, which opens the bag's card."""
    base = (settings.PUBLIC_URL or base_url or "http://localhost:8000").rstrip("/")
    return base + reverse("medwaste:label_scan", args=[label_token(bag)])


def code_from_scan(text: str) -> str:
    """The bag code a scan or a typed entry names: a label URL or token (signature checked) or a typed code
    (check character checked). A forged, edited or garbled label raises ``CodeRejected``."""
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise CodeRejected(_("Scan the bag's label or type its code."), reason="garbled")
    if SCAN_PREFIX in text:
        text = text.rsplit(SCAN_PREFIX, 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "." not in text:
        return normalise_code(text)
    if not _TOKEN_RE.match(text):
        raise CodeRejected(_("This is not a waste label of ours."), reason="garbled")
    claims = signing.verify(PURPOSE, text)
    code = claims.get("c")
    if not isinstance(code, str) or not isinstance(claims.get("b"), int):
        raise CodeRejected(_("This is not a waste label of ours."), reason="garbled")
    return code


def bag_label(
    *,
    actor: User | None,
    producer: PartyModel,
    category: str,
    weight_g: int,
    sealed: bool,
    handler_name: str | None = None,
    client_id: str | None = None,
    labelled_at: dt.datetime | None = None,
) -> Bag:
    """Label a bag at ``producer``: its LABELLED custody record, held by the producer. A replay of the same
    ``client_id`` returns the bag labelled the first time. ``labelled_at``: when a phone labelled it offline."""
    if actor is not None and not (
        (has_perm(actor, Perm.WASTE_HANDLE) and is_member(actor, producer))
        or has_perm(actor, Perm.WASTE_MANAGE)
    ):
        raise Forbidden(_("You do not act for %(party)s.") % {"party": producer.name})
    if client_id:
        done = Bag.objects.filter(client_id=client_id).first()
        if done is not None:
            return done
    if producer.kind != PartyKind.PRODUCER:
        raise DomainError(
            _("Bags are labelled where the waste is produced: choose a producer."), field="producer"
        )
    if not producer.active:
        raise DomainError(_("%(party)s is no longer active.") % {"party": producer.name}, field="producer")
    if category not in WasteCategory.values:
        raise DomainError(_("Choose the waste category."), field="category")
    check_weight(weight_g)
    at = when(labelled_at)
    handler = (handler_name or "").strip()[:60] or person_name(actor)
    if not handler:
        raise DomainError(_("Name the person who filled and labelled the bag."), field="handler_name")
    with transaction.atomic():
        code = new_code(at)
        while Bag.objects.filter(code=code).exists():
            code = new_code(at)
        bag = Bag.objects.create(
            code=code,
            producer=producer,
            category=category,
            weight_g=weight_g,
            labelled_at=at,
            labelled_by=actor if actor is not None and actor.pk else None,
            handler_name=handler,
            sealed=sealed,
            stage=Stage.LABELLED,
            stage_at=at,
            holder=producer,
            org_code=producer.org_code,
            client_id=client_id or None,
        )
        write_record(
            bag=bag,
            stage=Stage.LABELLED,
            at=at,
            weight_g=weight_g,
            from_party=None,
            to_party=producer,
            recorded_by=actor,
            taken_by=handler,
        )
        audit_record(
            actor=actor, action="medwaste.bag_label", obj=bag, detail={"code": code, "weight_g": weight_g}
        )
        events.publish(
            "waste.bag_labelled",
            payload={
                "bag_id": bag.pk,
                "producer_id": producer.pk,
                "category": category,
                "weight_g": weight_g,
            },
            org_code=bag.org_code,
        )
    return bag
