"""Collection trips: one vehicle's round with one transfer manifest (转移联单).

A driver starts a trip (company, vehicle; manifest number ``ZY`` + local date + ``-`` + the day's sequence,
e.g. ``ZY20261126-0001``), accepts institutions' handovers onto it, then offers all its bags to the company's
plant (``trip_deliver``); the plant's acceptance marks it delivered, and the trip closes by itself when the
plant has incinerated every bag on it (``handovers.bags_incinerate``).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from epigrid.core.audit import audit_record
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import User
from epigrid.medwaste.models import Bag, Handover, HandoverStatus, Party, Stage, Trip, TripStatus, Vehicle
from epigrid.medwaste.services import chain
from epigrid.medwaste.services.handovers import handover_offer
from epigrid.medwaste.services.parties import is_member, is_plant, require_member


def _number(at: dt.datetime) -> str:
    prefix = "ZY" + timezone.localtime(at).strftime("%Y%m%d") + "-"
    last = Trip.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True)
    seq = int(last[0].rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def trip_start(
    *,
    actor: User | None,
    company: Party,
    vehicle: Vehicle,
    driver: User | None = None,
    started_at: dt.datetime | None = None,
) -> Trip:
    """Start a collection round; the driver (the actor by default) must act for the company."""
    require_member(actor, company)
    driver = driver or actor
    if driver is not None and not is_member(driver, company):
        raise DomainError(
            _("%(user)s does not drive for %(party)s.") % {"user": driver.username, "party": company.name}
        )
    if vehicle.company_id != company.pk:
        raise DomainError(
            _("Vehicle %(plate)s is another company's.") % {"plate": vehicle.plate}, field="vehicle"
        )
    if not vehicle.active:
        raise DomainError(
            _("Vehicle %(plate)s is out of service.") % {"plate": vehicle.plate}, field="vehicle"
        )
    at = chain.when(started_at)
    with transaction.atomic():
        busy = Trip.objects.select_for_update().filter(status=TripStatus.COLLECTING, vehicle=vehicle).first()
        if busy is not None:
            raise Conflict(
                _("Vehicle %(plate)s is on trip %(trip)s; deliver that trip first.")
                % {"plate": vehicle.plate, "trip": busy.number}
            )
        if driver is not None:
            mine = Trip.objects.filter(status=TripStatus.COLLECTING, driver=driver).first()
            if mine is not None:
                raise Conflict(_("You are on trip %(trip)s; deliver it first.") % {"trip": mine.number})
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    trip = Trip.objects.create(
                        number=_number(at),
                        company=company,
                        vehicle=vehicle,
                        driver=driver if driver is not None and driver.pk else None,
                        started_at=at,
                        org_code=company.org_code,
                    )
                break
            except IntegrityError:  # another trip took the number a moment ago
                continue
        else:
            raise Conflict(_("Could not number the trip; try again."))
        audit_record(actor=actor, action="medwaste.trip_start", obj=trip, detail={"vehicle": vehicle.plate})
    return trip


def open_trip_for(driver: User, company: Party) -> Trip | None:
    return Trip.objects.filter(
        status=TripStatus.COLLECTING, driver=driver, company=company, plant=None
    ).first()


def trip_deliver(*, actor: User | None, trip: Trip, plant: Party, at: dt.datetime | None = None) -> Handover:
    """Offer every bag on the trip to the company's plant; the plant accepts with its weights."""
    require_member(actor, trip.company)
    if actor is not None and trip.driver_id not in (None, actor.pk):
        raise Forbidden(_("Trip %(trip)s is another driver's.") % {"trip": trip.number})
    if not is_plant(plant) or plant.parent_id != trip.company_id:
        raise DomainError(_("The disposal company delivers to its own plant."), field="plant")
    with transaction.atomic():
        trip = Trip.objects.select_for_update().get(pk=trip.pk)
        if trip.status != TripStatus.COLLECTING or trip.plant_id is not None:
            raise Conflict(_("Trip %(trip)s is delivered already.") % {"trip": trip.number})
        bags = list(Bag.objects.filter(trip=trip, stage=Stage.COLLECTED, holder=trip.company))
        if not bags:
            raise DomainError(_("Trip %(trip)s carries no bags yet.") % {"trip": trip.number})
        handover = handover_offer(
            actor=actor,
            from_party=trip.company,
            to_party=plant,
            bags=bags,
            stage=Stage.DELIVERED,
            trip=trip,
            at=at,
        )
        trip.plant = plant
        trip.save(update_fields=["plant"])
        audit_record(actor=actor, action="medwaste.trip_deliver", obj=trip, detail={"plant": plant.pk})
    return handover


def trip_pending_delivery(trip: Trip) -> Handover | None:
    return trip.handovers.filter(stage=Stage.DELIVERED, status=HandoverStatus.OFFERED).first()
