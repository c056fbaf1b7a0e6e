"""The transfer manifest of a trip: its PDF text (header, bags per institution with their weights, totals by
category, both signatures of every handover) and the drill mark."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from epigrid.medwaste.manifest import manifest_pdf, manifest_rows
from epigrid.medwaste.models import Stage, TripStatus
from epigrid.medwaste.services import handovers, trips
from epigrid.medwaste.tests import factories

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


@pytest.fixture
def delivered(jurisdiction):
    c = factories.chain(jurisdiction.grid_a)
    one = factories.bag_at(Stage.STORED, chain=c, weight_g=1200)
    two = factories.bag_at(Stage.STORED, chain=c, weight_g=800, category="sharps")
    offer = handovers.handover_offer(
        actor=c.keeper, from_party=c.institution, to_party=c.company, bags=[one, two], stage=Stage.COLLECTED
    )
    trip = trips.trip_start(actor=c.driver, company=c.company, vehicle=c.vehicle)
    handovers.handover_accept(actor=c.driver, handover=offer, trip=trip, weights={one.pk: 1250})
    delivery = trips.trip_deliver(actor=c.driver, trip=trip, plant=c.plant)
    handovers.handover_accept(actor=c.operator, handover=delivery)
    trip.refresh_from_db()
    return c, trip, one, two


def test_the_manifest_lists_header_bags_totals_and_signatures(delivered):
    c, trip, one, two = delivered
    assert trip.status == TripStatus.DELIVERED
    text = pdf_text(manifest_pdf(trip))
    for expected in (
        "医疗废物转移联单",
        trip.number,
        c.company.name,
        c.company.licence_number,
        c.vehicle.plate,
        c.driver.username,
        c.plant.name,
        c.institution.name,
        one.code,
        two.code,
        "1.20 / 1.20 / 1.25 / 1.25 / —",  # labelled, stored, collected (reweighed), delivered, not burnt yet
        "0.80 / 0.80 / 0.80 / 0.80 / —",
        "交接确认",
        c.keeper.username,
        c.operator.username,
    ):
        assert expected in text, expected
    rows = manifest_rows(trip)
    assert [(cat, n, g) for cat, n, g in rows.totals] == [("infectious", 1, 1250), ("sharps", 1, 800)]
    assert [(x.giver, x.receiver, x.bags) for x in rows.confirmations] == [
        (c.institution.name, c.company.name, 2),
        (c.company.name, c.plant.name, 2),
    ]


def test_a_drill_instance_marks_the_manifest(delivered, settings):
    settings.DRILL = True
    assert "演练" in pdf_text(manifest_pdf(delivered[1]))
