"""The audit chain detects edits, deletions and truncation."""

from __future__ import annotations

from django.db import connection

from epigrid.core import services
from epigrid.core.audit import audit_record, audit_verify_chain
from epigrid.core.middleware import current_ip
from epigrid.core.models import AuditEntry


def test_intact_chain_verifies(users, person_a):
    services.person_reveal(actor=users["district_admin"], person=person_a)
    check = audit_verify_chain()
    assert check.ok
    assert check.checked == AuditEntry.objects.count() > 5


def _raw_update(seq: int, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE core_auditentry SET {column} = %s WHERE seq = %s", [value, seq])


def test_editing_a_row_breaks_the_chain_at_that_row(users, person_a):
    entry = audit_record(
        actor=users["district_admin"], action="person.reveal", obj=person_a, revealed_fields=["phone"]
    )
    audit_record(actor=users["district_admin"], action="later.entry")
    _raw_update(entry.seq, "actor_username", "somebody_else")
    check = audit_verify_chain()
    assert not check.ok
    assert (check.first_bad_seq, check.problem) == (entry.seq, "content changed")


def test_deleting_a_row_or_the_newest_rows_is_detected(users):
    first = audit_record(actor=users["district_admin"], action="a")
    audit_record(actor=users["district_admin"], action="b")
    last = audit_record(actor=users["district_admin"], action="c")
    AuditEntry.objects.filter(seq=last.seq).delete()
    assert audit_verify_chain().problem == "entries removed from the end"
    AuditEntry.objects.filter(seq=first.seq).delete()
    check = audit_verify_chain()
    assert not check.ok and check.first_bad_seq == first.seq


def test_entries_record_the_request_ip(users):
    token = current_ip.set("10.1.2.3")
    try:
        entry = audit_record(actor=users["commander"], action="x")
    finally:
        current_ip.reset(token)
    assert AuditEntry.objects.get(pk=entry.pk).ip == "10.1.2.3"
    assert audit_verify_chain().ok


def test_http_reveal_is_audited_with_the_client_ip(users, person_a, api_client):
    client = api_client(users["district_admin"])
    client.post(f"/api/v1/persons/{person_a.pk}/reveal", {}, "application/json", REMOTE_ADDR="192.0.2.7")
    entry = AuditEntry.objects.get(action="person.reveal")
    assert entry.ip == "192.0.2.7"
