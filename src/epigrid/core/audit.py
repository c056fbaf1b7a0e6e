"""The append-only, hash-chained audit log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON, so editing
or deleting any row breaks :func:`audit_verify_chain` from that row on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from epigrid.core.middleware import current_ip
from epigrid.core.models import AuditEntry, AuditHead, User

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor_username,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "org_code": entry.org_code,
        "ip": entry.ip,
        "revealed_fields": entry.revealed_fields,
        "detail": entry.detail,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(entry)).hexdigest()


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    org_code: str = "",
    revealed_fields: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Runs inside the caller's transaction so the entry and the change land together."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        entry = AuditEntry(
            seq=head.seq + 1,
            # Whole microseconds survive every database round trip, so the hash recomputes identically.
            at=timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_username=getattr(actor, "username", "") or "",
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            org_code=org_code or getattr(obj, "org_code", "") or "",
            ip=current_ip.get(),
            revealed_fields=revealed_fields or [],
            detail=detail or {},
            prev_hash=head.hash,
        )
        entry.hash = _chain_hash(head.hash, entry)
        entry.save()
        head.seq, head.hash = entry.seq, entry.hash
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def audit_verify_chain() -> ChainCheck:
    """Walk the whole chain in order; report the first entry whose link or content does not verify."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return ChainCheck(False, checked, expected_seq, "missing entry")
        if entry.prev_hash != prev:
            return ChainCheck(False, checked, entry.seq, "broken link")
        if _chain_hash(prev, entry) != entry.hash:
            return ChainCheck(False, checked, entry.seq, "content changed")
        prev = entry.hash
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != checked or head.hash != prev):
        return ChainCheck(False, checked, checked + 1, "entries removed from the end")
    return ChainCheck(True, checked)
