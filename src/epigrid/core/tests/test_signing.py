"""Signed codes: every way a code can be wrong gets its own precise refusal."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from epigrid.core import services, signing
from epigrid.core.errors import Forbidden
from epigrid.core.models import AuditEntry, KeyStatus, SigningKey
from epigrid.core.signing import CodeRejected


def _reason(purpose: str, token: str) -> str:
    with pytest.raises(CodeRejected) as info:
        signing.verify(purpose, token)
    return info.value.reason


def test_round_trip_creates_the_first_key_on_demand(db):
    token = signing.sign("vc", {"v": 7, "iat": int(time.time())})
    assert signing.verify("vc", token)["v"] == 7
    assert SigningKey.objects.get().status == KeyStatus.ACTIVE


def test_edited_payload_is_forged(db):
    header, payload, sig = signing.sign("vc", {"v": 7, "iat": int(time.time())}).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["v"] = 8
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _reason("vc", f"{header}.{edited}.{sig}") == "forged"


def test_code_signed_by_a_stranger_is_forged(db):
    signing.sign("vc", {"v": 1, "iat": 1})  # make our own key exist
    own_kid = SigningKey.objects.get().kid
    private_pem, _ = signing.generate_key_pair()
    forged = jwt.encode(
        {"v": 1, "iat": 1}, private_pem, algorithm="ES256", headers={"kid": own_kid, "typ": "vc"}
    )
    assert _reason("vc", forged) == "forged"
    unknown = jwt.encode(
        {"v": 1, "iat": 1}, private_pem, algorithm="ES256", headers={"kid": "nobody", "typ": "vc"}
    )
    assert _reason("vc", unknown) == "forged"


def test_wrong_kind_garbage_and_other_algorithms(db):
    token = signing.sign("hc", {"p": 1, "iat": int(time.time())})
    assert _reason("vc", token) == "wrong_kind"
    venue_token = signing.sign("vc", {"v": 1, "iat": 1})
    # A cut-off signature is a bad scan, whatever characters were lost (pyjwt alone would say either).
    for cut in range(1, 13):
        assert _reason("vc", venue_token[:-cut]) == "garbled"
    signature = venue_token.rsplit(".", 1)[1]
    assert _reason("vc", venue_token[: -len(signature)] + "A" * len(signature)) == "forged"
    for garbage in ("", "hello", "a.b.c", "https://example.com/s/xyz", venue_token[:40]):
        assert _reason("vc", garbage) in {"garbled", "forged"}
    hs = jwt.encode({"v": 1, "iat": 1}, "s" * 32, algorithm="HS256", headers={"kid": "x", "typ": "vc"})
    assert _reason("vc", hs) == "garbled"


def test_expired_code(db):
    token = signing.sign("hc", {"p": 1, "iat": int(time.time()) - 120, "exp": int(time.time()) - 60})
    assert _reason("hc", token) == "expired"


def test_rotation_keeps_old_codes_valid_and_retirement_refuses_them(users):
    admin = users["district_admin"]
    old_token = signing.sign("vc", {"v": 1, "iat": 1})
    old_key = SigningKey.objects.get(status=KeyStatus.ACTIVE)
    new_key = services.signing_key_rotate(actor=admin)
    new_token = signing.sign("vc", {"v": 2, "iat": 1})
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid != old_key.kid
    assert signing.verify("vc", old_token)["v"] == 1
    services.signing_key_retire(actor=admin, key=SigningKey.objects.get(pk=old_key.pk))
    assert _reason("vc", old_token) == "expired_key"
    assert signing.verify("vc", new_token)["v"] == 2
    # the first key (created on demand), the rotation and the retirement
    assert AuditEntry.objects.filter(action__startswith="signing_key.").count() == 3


def test_only_key_managers_rotate(users):
    with pytest.raises(Forbidden):
        services.signing_key_rotate(actor=users["commander"])


def test_management_command_rotates_and_retires(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("signing_keys", "--rotate", stdout=out)
    first = SigningKey.objects.get(status=KeyStatus.ACTIVE)
    call_command("signing_keys", "--rotate", stdout=out)
    call_command("signing_keys", "--retire", first.kid, stdout=out)
    assert SigningKey.objects.get(pk=first.pk).status == KeyStatus.RETIRED
    assert f"retired {first.kid}" in out.getvalue()
