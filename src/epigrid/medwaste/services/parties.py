"""Parties of the chain, the accounts that act for them, and the disposal company's vehicles.

Three levels: the authorities (health and environment bureaus) oversee; medical institutions keep a temporary
storage point; producers hand their bags to their ``parent`` institution. The licensed disposal company has no
parent; its plant is a disposal party whose ``parent`` is the company (the trip's destination). Writes need
``waste.manage`` and the party's area inside the actor's own; ``actor=None`` is the system (demo, factories).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import OrgUnit, User
from epigrid.core.roles import Perm, has_perm
from epigrid.core.scope import in_scope_code
from epigrid.medwaste.models import Party, PartyKind, Vehicle

AUTHORITIES = (PartyKind.HEALTH_AUTHORITY, PartyKind.ENVIRONMENT_AUTHORITY)


def require_manager(actor: User | None, org_code: str = "") -> None:
    """``waste.manage`` and, when given, ``org_code`` inside the actor's area."""
    if actor is None:
        return
    if not has_perm(actor, Perm.WASTE_MANAGE):
        raise Forbidden(_("Your role may not do this."))
    if org_code and not in_scope_code(actor, org_code):
        raise Forbidden(_("This party is outside your area."))


def is_member(actor: User | None, party: Party) -> bool:
    return actor is not None and party.members.filter(pk=actor.pk).exists()


def require_member(actor: User | None, party: Party) -> None:
    """The actor acts for ``party``: a member holding ``waste.handle``. ``None`` is the system."""
    if actor is None:
        return
    if not has_perm(actor, Perm.WASTE_HANDLE) or not is_member(actor, party):
        raise Forbidden(_("You do not act for %(party)s.") % {"party": party.name})


def person_name(user: User | None) -> str:
    """How an account signs a handover: its full name, else its username (at most 60 characters)."""
    if user is None:
        return ""
    return ((user.get_full_name() or "").strip() or user.username)[:60]


def is_plant(party: Party) -> bool:
    return party.kind == PartyKind.DISPOSER and party.parent_id is not None


@dataclass
class PartyInput:
    name: str
    kind: str
    area: OrgUnit
    parent: Party | None = None
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    licence_number: str = ""
    duty_phone: str = ""
    collection_interval_hours: int | None = None
    sampling_point_id: int | None = None
    quarantine_site_id: int | None = None
    vaccination_site_id: int | None = None


def _check(data: PartyInput) -> None:
    if not data.name.strip():
        raise DomainError(_("A party needs a name."), field="name")
    if data.kind not in PartyKind.values:
        raise DomainError(_("Choose the kind of party."), field="kind")
    parent = data.parent
    if data.kind == PartyKind.PRODUCER:
        if parent is None or parent.kind != PartyKind.INSTITUTION:
            raise DomainError(
                _("A producer hands its waste to a medical institution's temporary storage: choose it."),
                field="parent",
            )
    elif data.kind == PartyKind.DISPOSER:
        if parent is not None and (parent.kind != PartyKind.DISPOSER or parent.parent_id is not None):
            raise DomainError(_("A disposal plant belongs to a disposal company."), field="parent")
        if parent is None and not data.licence_number.strip():
            raise DomainError(_("A disposal company needs its licence number."), field="licence_number")
    elif parent is not None:
        raise DomainError(_("Only producers and disposal plants belong to another party."), field="parent")
    hours = data.collection_interval_hours
    if hours is not None and not 1 <= hours <= 168:
        raise DomainError(_("Collections are due every 1 to 168 hours."), field="collection_interval_hours")


def party_create(*, actor: User | None, data: PartyInput) -> Party:
    require_manager(actor, data.area.code)
    _check(data)
    with transaction.atomic():
        party = Party.objects.create(
            name=data.name.strip()[:120],
            kind=data.kind,
            parent=data.parent,
            area=data.area,
            org_code=data.area.code,
            address=data.address.strip(),
            lat=data.lat if data.lat is not None else data.area.centroid_lat,
            lng=data.lng if data.lng is not None else data.area.centroid_lng,
            licence_number=data.licence_number.strip(),
            duty_phone=data.duty_phone.strip(),
            collection_interval_hours=data.collection_interval_hours,
            sampling_point_id=data.sampling_point_id,
            quarantine_site_id=data.quarantine_site_id,
            vaccination_site_id=data.vaccination_site_id,
        )
        audit_record(actor=actor, action="medwaste.party_create", obj=party, detail={"kind": party.kind})
    return party


def party_update(*, actor: User | None, party: Party, data: PartyInput, active: bool = True) -> Party:
    """Change a party's details; its kind stays (bags already in the chain depend on it)."""
    require_manager(actor, party.org_code)
    require_manager(actor, data.area.code)
    if data.kind != party.kind:
        raise DomainError(_("The kind of a party cannot change; create a new party."), field="kind")
    _check(data)
    with transaction.atomic():
        party.name = data.name.strip()[:120]
        party.parent = data.parent
        party.area = data.area
        party.org_code = data.area.code
        party.address = data.address.strip()
        party.licence_number = data.licence_number.strip()
        party.duty_phone = data.duty_phone.strip()
        party.collection_interval_hours = data.collection_interval_hours
        party.active = active
        party.save()
        audit_record(actor=actor, action="medwaste.party_update", obj=party, detail={"active": active})
    return party


def party_member_add(*, actor: User | None, party: Party, user: User) -> Party:
    require_manager(actor, party.org_code)
    if not has_perm(user, Perm.WASTE_HANDLE):
        raise DomainError(
            _("%(user)s's role cannot handle waste; give the account a handler's role first.")
            % {"user": user.username},
            field="user",
        )
    with transaction.atomic():
        party.members.add(user)
        audit_record(actor=actor, action="medwaste.member_add", obj=party, detail={"user": user.username})
    return party


def party_member_remove(*, actor: User | None, party: Party, user: User) -> Party:
    require_manager(actor, party.org_code)
    with transaction.atomic():
        party.members.remove(user)
        audit_record(actor=actor, action="medwaste.member_remove", obj=party, detail={"user": user.username})
    return party


def vehicle_create(*, actor: User | None, company: Party, plate: str, capacity_kg: int = 0) -> Vehicle:
    require_manager(actor, company.org_code)
    plate = "".join((plate or "").split()).upper()
    if company.kind != PartyKind.DISPOSER or company.parent_id is not None:
        raise DomainError(_("Vehicles belong to a disposal company."), field="company")
    if not 2 <= len(plate) <= 16:
        raise DomainError(_("Enter the vehicle's plate."), field="plate")
    if not 0 <= capacity_kg <= 100_000:
        raise DomainError(_("Capacity is 0 to 100,000 kg."), field="capacity_kg")
    try:
        with transaction.atomic():
            vehicle = Vehicle.objects.create(
                company=company, plate=plate, capacity_kg=capacity_kg, org_code=company.org_code
            )
            audit_record(actor=actor, action="medwaste.vehicle_create", obj=vehicle)
    except IntegrityError:
        raise Conflict(
            _("Plate %(plate)s is registered already.") % {"plate": plate}, field="plate"
        ) from None
    return vehicle


def vehicle_set_active(*, actor: User | None, vehicle: Vehicle, active: bool) -> Vehicle:
    require_manager(actor, vehicle.org_code)
    with transaction.atomic():
        vehicle.active = active
        vehicle.save(update_fields=["active"])
        audit_record(actor=actor, action="medwaste.vehicle_active", obj=vehicle, detail={"active": active})
    return vehicle
