"""Writes of the shared kernel. Every function: keyword-only, actor first, atomic, audited."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyotp
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core import crypto, events, geo
from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import (
    IdentityError,
    IdType,
    normalize_document,
    normalize_phone,
    parse_resident_id,
)
from epigrid.core.masking import mask_document, mask_phone
from epigrid.core.models import (
    LEVEL_CODE_LENGTH,
    ApiToken,
    DiseaseProfile,
    Household,
    KeyStatus,
    OrgLevel,
    OrgUnit,
    Person,
    PolicyVersion,
    ResponseLevel,
    ResponseLevelChange,
    SigningKey,
    User,
)
from epigrid.core.roles import Perm, Role, has_perm, is_staff_role
from epigrid.core.selectors import district_code, policy_cache_clear

API_TOKEN_LIFETIME = dt.timedelta(days=30)


def _require(actor: User | None, perm: str) -> None:
    if actor is not None and not has_perm(actor, perm):
        raise Forbidden(_("Your role may not do this."))


# --- jurisdiction ---------------------------------------------------------------------------------


def orgunit_create(
    *,
    actor: User | None,
    code: str,
    level: str,
    name: str,
    parent: OrgUnit | None = None,
    boundary: dict | None = None,
    centroid: tuple[float, float] | None = None,
) -> OrgUnit:
    """Add a unit to the tree. The code must extend the parent's code to the level's length."""
    if len(code) != LEVEL_CODE_LENGTH[OrgLevel(level)] or not code.isdigit():
        raise DomainError(
            _("A %(level)s code has %(n)d digits.") % {"level": level, "n": LEVEL_CODE_LENGTH[level]}
        )
    if level == OrgLevel.DISTRICT:
        if parent is not None:
            raise DomainError(_("A district has no parent."))
    elif parent is None or not code.startswith(parent.code) or len(parent.code) != len(code) - 3:
        raise DomainError(_("The code must extend the parent unit's code by three digits."))
    with transaction.atomic():
        unit = OrgUnit.objects.create(
            code=code,
            level=level,
            name=name,
            parent=parent,
            boundary=boundary,
            centroid_lat=centroid[0] if centroid else None,
            centroid_lng=centroid[1] if centroid else None,
        )
        audit_record(actor=actor, action="orgunit.create", obj=unit, org_code=code)
    return unit


def household_create(*, actor: User | None, address: str, grid: OrgUnit | None) -> Household:
    with transaction.atomic():
        household = Household.objects.create(address=address, grid=grid, org_code=_org_code_for(grid))
        audit_record(actor=actor, action="household.create", obj=household)
    return household


def household_bulk_create(
    *, actor: User | None, rows: Iterable[tuple[str, OrgUnit | None]], batch_size: int = 2000
) -> list[int]:
    """Create many households (imports, the synthetic district): one audit entry per batch; returns pks in order."""
    district = district_code()
    pks: list[int] = []
    batch: list[Household] = []

    def flush() -> None:
        with transaction.atomic():
            created = Household.objects.bulk_create(batch)
            audit_record(
                actor=actor, action="household.bulk_create", org_code=district, detail={"count": len(created)}
            )
        pks.extend(h.pk for h in created)
        batch.clear()

    for address, grid in rows:
        batch.append(
            Household(address=address.strip()[:200], grid=grid, org_code=grid.code if grid else district)
        )
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return pks


def _org_code_for(grid: OrgUnit | None) -> str:
    return grid.code if grid is not None else district_code()


# --- people ---------------------------------------------------------------------------------------


@dataclass
class PersonInput:
    """What is known about a person at registration; validated by :func:`person_validate`."""

    id_number: str
    name: str
    id_type: str = IdType.RESIDENT
    phone: str = ""
    address: str = ""
    sex: str = ""
    birth_date: dt.date | None = None
    lat: float | None = None
    lng: float | None = None
    grid_id: int | None = None
    household_id: int | None = None


@dataclass
class ValidPerson:
    id_type: str
    id_number: str
    name: str
    phone: str
    sex: str
    birth_date: dt.date | None
    fields: dict[str, Any] = field(default_factory=dict)


def person_validate(data: PersonInput) -> ValidPerson:
    """Normalise and cross-check one person's data; raises DomainError naming the bad field."""
    name = (data.name or "").strip()
    if not name:
        raise DomainError(_("The name is missing."), field="name")
    if len(name) > 100:
        raise DomainError(_("The name is longer than 100 characters."), field="name")
    if data.id_type not in IdType.values:
        raise DomainError(_("Unknown document type %(t)s.") % {"t": data.id_type}, field="id_type")
    try:
        number = normalize_document(data.id_type, data.id_number)
    except IdentityError as err:
        raise DomainError(str(err), field="id_number") from None
    try:
        phone = normalize_phone(data.phone) if data.phone else ""
    except IdentityError as err:
        raise DomainError(str(err), field="phone") from None
    sex, birth = data.sex or "", data.birth_date
    if data.id_type in (IdType.RESIDENT, IdType.FOREIGN_PERMANENT):
        derived = parse_resident_id(number)
        if sex and sex != derived.sex:
            raise DomainError(_("The sex given does not match the ID number."), field="sex")
        if birth and birth != derived.birth_date:
            raise DomainError(_("The birth date given does not match the ID number."), field="birth_date")
        sex, birth = derived.sex, derived.birth_date
    return ValidPerson(data.id_type, number, name, phone, sex, birth)


def person_document_index(id_type: str, number: str) -> str:
    return crypto.blind_index(f"{id_type}:{number}", purpose="document")


def phone_index(phone: str) -> str:
    return crypto.blind_index(phone, purpose="phone") if phone else ""


def _build_person(valid: ValidPerson, data: PersonInput, grid_id: int | None, org_code: str) -> Person:
    return Person(
        id_type=valid.id_type,
        id_number=valid.id_number,
        id_number_index=person_document_index(valid.id_type, valid.id_number),
        id_number_masked=mask_document(valid.id_number),
        name=valid.name,
        sex=valid.sex,
        birth_date=valid.birth_date,
        phone=valid.phone,
        phone_index=phone_index(valid.phone),
        phone_masked=mask_phone(valid.phone),
        address=(data.address or "").strip()[:200],
        household_id=data.household_id,
        grid_id=grid_id,
        org_code=org_code,
        lat=data.lat,
        lng=data.lng,
    )


def _grid_for(data: PersonInput) -> OrgUnit | None:
    if data.grid_id is not None:
        return OrgUnit.objects.get(pk=data.grid_id, level=OrgLevel.GRID)
    if data.lat is not None and data.lng is not None:
        return geo.locate_grid(data.lat, data.lng)
    return None


def person_register(*, actor: User | None, data: PersonInput) -> Person:
    """Register a new person. A document already registered is a Conflict (use find_or_register)."""
    valid = person_validate(data)
    grid = _grid_for(data)
    person = _build_person(valid, data, grid.pk if grid else None, _org_code_for(grid))
    try:
        with transaction.atomic():
            person.save()
            audit_record(actor=actor, action="person.register", obj=person)
            events.publish("person.registered", payload={"person_id": person.pk}, org_code=person.org_code)
    except IntegrityError:
        raise Conflict(_("A person with this document number is already registered.")) from None
    return person


def person_find_by_document(*, id_type: str, id_number: str) -> Person | None:
    """Exact look-up through the blind index; no scope (callers decide what to show)."""
    try:
        number = normalize_document(id_type, id_number)
    except IdentityError as err:
        raise DomainError(str(err), field="id_number") from None
    return Person.objects.filter(
        id_type=id_type, id_number_index=person_document_index(id_type, number)
    ).first()


def person_find_or_register(*, actor: User | None, data: PersonInput) -> tuple[Person, bool]:
    valid = person_validate(data)
    existing = person_find_by_document(id_type=valid.id_type, id_number=valid.id_number)
    if existing is not None:
        return existing, False
    try:
        return person_register(actor=actor, data=data), True
    except Conflict:  # registered concurrently by someone else: take theirs
        return person_find_by_document(id_type=valid.id_type, id_number=valid.id_number), False


@dataclass
class BulkResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)


def person_bulk_register(
    *, actor: User | None, rows: Iterable[PersonInput], batch_size: int = 2000
) -> BulkResult:
    """Register many people at once (imports, the synthetic district). Bad rows are reported, good rows kept.

    Grids come from ``grid_id`` or, failing that, from the coordinates in one STRtree query per batch.
    """
    result = BulkResult()
    district = district_code()
    grid_codes = dict(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("pk", "code"))
    batch: list[tuple[int, PersonInput, ValidPerson]] = []

    def flush() -> None:
        inputs = [data for _row, data, _valid in batch]
        grid_ids = [data.grid_id for data in inputs]
        need_geo = [i for i, data in enumerate(inputs) if data.grid_id is None and data.lat is not None]
        located = geo.locate_many([(inputs[i].lat, inputs[i].lng) for i in need_geo])
        for i, grid_id in zip(need_geo, located, strict=True):
            grid_ids[i] = grid_id
        # One look-up per document type so that each uses the (id_type, id_number_index) unique index.
        by_type: dict[str, list[str]] = {}
        for _r, _d, valid in batch:
            by_type.setdefault(valid.id_type, []).append(
                person_document_index(valid.id_type, valid.id_number)
            )
        existing = {
            index
            for id_type, indexes in by_type.items()
            for index in Person.objects.filter(id_type=id_type, id_number_index__in=indexes).values_list(
                "id_number_index", flat=True
            )
        }
        fresh: list[Person] = []
        for (row_no, data, valid), grid_id in zip(batch, grid_ids, strict=True):
            person = _build_person(valid, data, grid_id, grid_codes.get(grid_id, district))
            if person.id_number_index in existing:
                result.errors.append((row_no, _("A person with this document number is already registered.")))
                continue
            existing.add(person.id_number_index)
            fresh.append(person)
        with transaction.atomic():
            Person.objects.bulk_create(fresh, batch_size=1000)
            audit_record(actor=actor, action="person.bulk_register", detail={"count": len(fresh)})
        result.created += len(fresh)
        batch.clear()

    for row_no, data in enumerate(rows, start=1):
        try:
            batch.append((row_no, data, person_validate(data)))
        except DomainError as err:
            result.errors.append((row_no, err.message))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return result


REVEALABLE = ("id_number", "phone")


def person_reveal(*, actor: User, person: Person, fields: Iterable[str] = REVEALABLE) -> dict[str, str]:
    """Full values of protected fields: needs the reveal permission and writes one audit entry."""
    _require(actor, Perm.PERSON_REVEAL)
    wanted = [f for f in fields if f in REVEALABLE]
    if not wanted:
        raise DomainError(_("Nothing to reveal."))
    audit_record(actor=actor, action="person.reveal", obj=person, revealed_fields=wanted)
    return {f: getattr(person, f) for f in wanted}


def person_update(
    *, actor: User, person: Person, phone: str | None = None, address: str | None = None
) -> Person:
    _require(actor, Perm.PERSON_EDIT)
    changed = []
    if phone is not None:
        try:
            value = normalize_phone(phone) if phone else ""
        except IdentityError as err:
            raise DomainError(str(err), field="phone") from None
        person.phone, person.phone_index, person.phone_masked = value, phone_index(value), mask_phone(value)
        changed += ["phone", "phone_index", "phone_masked"]
    if address is not None:
        person.address = address.strip()[:200]
        changed.append("address")
    if changed:
        with transaction.atomic():
            person.save(update_fields=[*changed, "updated_at"])
            audit_record(
                actor=actor, action="person.update", obj=person, detail={"fields": sorted(set(changed))}
            )
    return person


# --- accounts -------------------------------------------------------------------------------------


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: str,
    org_unit: OrgUnit | None = None,
    person: Person | None = None,
    display_name: str = "",
) -> User:
    """Create an account. Staff need an org unit; residents need their Person."""
    _require(actor, Perm.USER_ADMIN)
    if role not in Role.values:
        raise DomainError(_("Unknown role %(r)s.") % {"r": role})
    if is_staff_role(role) and org_unit is None:
        raise DomainError(_("A staff account needs an org unit."))
    if not is_staff_role(role) and person is None:
        raise DomainError(_("A resident account needs a person."))
    if User.objects.filter(username=username).exists():
        raise Conflict(_("The user name %(u)s is taken.") % {"u": username})
    with transaction.atomic():
        user = User(username=username, role=role, org_unit=org_unit, person=person, first_name=display_name)
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor, action="user.create", obj=user, org_code=user.org_code, detail={"role": role}
        )
    return user


def resident_account_ensure(*, person: Person) -> User:
    """The resident account of ``person``, made on first need (a notice to them, a login by phone code).

    Made without a usable password: the person signs in with a one-time code sent to their phone, and may
    set a password later. Safe against two requests making it at once (the person link is unique)."""
    existing = User.objects.filter(person=person).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            user = User(username=f"person-{person.pk}", role=Role.RESIDENT, person=person)
            user.set_unusable_password()
            user.save()
            audit_record(
                actor=None,
                action="user.create",
                obj=user,
                org_code=person.org_code,
                detail={"role": Role.RESIDENT, "on_demand": True},
            )
    except IntegrityError:
        return User.objects.get(person=person)
    return user


def user_deactivate(*, actor: User | None, user: User, reason: str = "") -> User:
    """Lock an account out: no login, and its API tokens stop working (in every process within seconds)."""
    from epigrid.core.apiauth import forget_tokens_of

    _require(actor, Perm.USER_ADMIN)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        ApiToken.objects.filter(user=user).delete()
        audit_record(
            actor=actor, action="user.deactivate", obj=user, org_code=user.org_code, detail={"reason": reason}
        )
    forget_tokens_of(user)
    return user


def api_token_issue(*, username: str, password: str) -> str:
    """Exchange credentials for a bearer token. Returns the token; only its digest is stored."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise Forbidden(_("Wrong user name or password."))
    if user.totp_enabled:
        raise Forbidden(_("This account uses two-step login; create API tokens from the web page."))
    return api_token_for(user=user)


def api_token_for(*, user: User, days: int | None = None) -> str:
    """A new bearer token for ``user`` (after the caller has established who they are)."""
    token = secrets.token_urlsafe(32)
    lifetime = dt.timedelta(days=days) if days else API_TOKEN_LIFETIME
    with transaction.atomic():
        ApiToken.objects.create(
            user=user, digest=crypto.token_digest(token), expires_at=timezone.now() + lifetime
        )
        audit_record(actor=user, action="api_token.issue", obj=user)
    return token


def totp_new_secret() -> str:
    return pyotp.random_base32()


def totp_enable(*, actor: User, secret: str, code: str) -> None:
    """Turn on two-step login once the user proves their authenticator app holds ``secret``."""
    if not pyotp.TOTP(secret).verify(code, valid_window=1):
        raise DomainError(_("The code does not match; check the clock of your phone and try again."))
    with transaction.atomic():
        actor.totp_secret, actor.totp_enabled = secret, True
        actor.save(update_fields=["totp_secret", "totp_enabled"])
        audit_record(actor=actor, action="user.totp_enable", obj=actor)


def totp_verify(*, user: User, code: str) -> bool:
    return bool(
        user.totp_enabled and user.totp_secret and pyotp.TOTP(user.totp_secret).verify(code, valid_window=1)
    )


# --- disease profiles, policies, response level ---------------------------------------------------


def policy_version_create(
    *,
    actor: User | None,
    disease: DiseaseProfile,
    version: str,
    title: str,
    params: dict,
    activate: bool = False,
) -> PolicyVersion:
    _require(actor, Perm.POLICY_EDIT)
    if PolicyVersion.objects.filter(disease=disease, version=version).exists():
        raise Conflict(_("Version %(v)s of this policy exists already.") % {"v": version})
    with transaction.atomic():
        policy = PolicyVersion.objects.create(
            disease=disease, version=version, title=title, params=params, created_by=actor
        )
        audit_record(actor=actor, action="policy.create", obj=policy, detail={"version": version})
        if activate:
            policy_activate(actor=actor, policy=policy)
    return policy


def policy_activate(*, actor: User | None, policy: PolicyVersion) -> PolicyVersion:
    _require(actor, Perm.POLICY_EDIT)
    with transaction.atomic():
        PolicyVersion.objects.filter(disease=policy.disease, is_active=True).exclude(pk=policy.pk).update(
            is_active=False
        )
        policy.is_active = True
        policy.save(update_fields=["is_active"])
        transaction.on_commit(policy_cache_clear)
        audit_record(actor=actor, action="policy.activate", obj=policy, detail={"version": policy.version})
        events.publish(
            "policy.activated",
            payload={"disease": policy.disease.code, "version": policy.version},
            org_code=district_code(),
        )
    return policy


def response_level_set(*, actor: User | None, level: str, reason: str = "") -> ResponseLevelChange:
    _require(actor, Perm.RESPONSE_LEVEL_SET)
    if level not in ResponseLevel.values:
        raise DomainError(_("Unknown response level %(l)s.") % {"l": level})
    with transaction.atomic():
        change = ResponseLevelChange.objects.create(
            level=level, reason=reason[:300], set_by=actor, set_at=timezone.now()
        )
        audit_record(actor=actor, action="response_level.set", obj=change, detail={"level": level})
        events.publish(
            "response_level.changed", payload={"level": level, "reason": reason}, org_code=district_code()
        )
    return change


# --- signing keys ---------------------------------------------------------------------------------


def signing_key_rotate(*, actor: User | None) -> SigningKey:
    """Make a new key the signing key; the previous one keeps verifying the codes it signed."""
    from epigrid.core import signing

    _require(actor, Perm.SIGNING_KEYS_MANAGE)
    private_pem, public_pem = signing.generate_key_pair()
    with transaction.atomic():
        SigningKey.objects.select_for_update().filter(status=KeyStatus.ACTIVE).update(
            status=KeyStatus.VERIFY_ONLY
        )
        key = SigningKey.objects.create(
            kid=f"k{timezone.now():%Y%m%d}{secrets.token_hex(3)}",
            private_key=private_pem,
            public_key=public_pem,
            status=KeyStatus.ACTIVE,
        )
        audit_record(actor=actor, action="signing_key.rotate", obj=key, org_code=district_code())
    transaction.on_commit(signing.keys.clear)
    signing.keys.clear()
    return key


def signing_key_retire(*, actor: User | None, key: SigningKey) -> SigningKey:
    """Refuse every code signed with ``key`` from now on (a leaked key, or the end of its grace period)."""
    from epigrid.core import signing

    _require(actor, Perm.SIGNING_KEYS_MANAGE)
    if key.status == KeyStatus.ACTIVE:
        raise DomainError(_("Rotate to a new key before retiring the active one."))
    with transaction.atomic():
        key.status, key.retired_at = KeyStatus.RETIRED, timezone.now()
        key.save(update_fields=["status", "retired_at"])
        audit_record(actor=actor, action="signing_key.retire", obj=key, org_code=district_code())
    transaction.on_commit(signing.keys.clear)
    signing.keys.clear()
    return key
