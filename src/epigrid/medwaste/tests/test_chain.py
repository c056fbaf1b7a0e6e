"""The chain of custody through the services: labelling, the order of the steps, who may do them, weights,
offline replays and the events the alarm rules listen to."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.models import Event
from epigrid.core.signing import CodeRejected
from epigrid.medwaste.models import Anomaly, Bag, CustodyRecord, Handover, HandoverStatus, Stage, TripStatus
from epigrid.medwaste.services import handovers, labels, trips
from epigrid.medwaste.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def c(jurisdiction):
    return factories.chain(jurisdiction.grid_a)


def label(c, weight_g=1500, **kw):
    return labels.bag_label(
        actor=c.sampler, producer=c.producer, category="infectious", weight_g=weight_g, sealed=True, **kw
    )


def to_storage(c, bag, weight=None):
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    return handovers.handover_accept(
        actor=c.keeper, handover=offer, weights={bag.pk: weight} if weight else None
    )


def collect(c, bag, weight=None):
    trip = factories.open_trip(c, driver=c.driver)
    offer = handovers.handover_offer(
        actor=c.keeper, from_party=c.institution, to_party=c.company, bags=[bag], stage=Stage.COLLECTED
    )
    handovers.handover_accept(
        actor=c.driver, handover=offer, trip=trip, weights={bag.pk: weight} if weight else None
    )
    return trip


# --- labels -------------------------------------------------------------------------------------------------


def test_label_makes_the_first_record_and_a_checkable_code(c):
    bag = label(c)
    assert bag.code.startswith("MW") and len(bag.code) == 14
    assert labels.normalise_code(bag.code.lower()) == bag.code
    record = bag.records.get()
    assert (record.stage, record.to_party, record.weight_g, record.taken_by) == (
        Stage.LABELLED,
        c.producer,
        1500,
        c.sampler.username,
    )
    assert (bag.stage, bag.holder, bag.handler_name) == (Stage.LABELLED, c.producer, c.sampler.username)
    event = Event.objects.get(type="waste.bag_labelled")
    assert event.payload == {
        "bag_id": bag.pk,
        "producer_id": c.producer.pk,
        "category": "infectious",
        "weight_g": 1500,
    }


def test_a_typo_in_the_code_is_refused_not_read_as_another_bag(c):
    code = label(c).code
    wrong = code[:-3] + ("0" if code[-3] != "0" else "1") + code[-2:]
    with pytest.raises(CodeRejected, match="not a valid waste label"):
        labels.normalise_code(wrong)
    swapped = code[:8] + code[9] + code[8] + code[10:]
    if swapped != code:
        with pytest.raises(CodeRejected):
            labels.normalise_code(swapped)


def test_the_signed_qr_names_the_bag_and_a_forged_one_is_refused(c):
    bag = label(c)
    url = labels.label_url(bag)
    assert labels.code_from_scan(url) == bag.code
    token = url.rsplit("/", 2)[-2] if url.endswith("/") else url.rsplit("/", 1)[-1]
    header, body, signature = token.split(".")
    forged = f"{header}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    with pytest.raises(CodeRejected) as refused:
        labels.code_from_scan(forged)
    assert refused.value.reason in ("forged", "garbled")
    with pytest.raises(CodeRejected, match="not a waste label"):
        labels.code_from_scan("http://x/waste/l/abc.def")


@pytest.mark.parametrize(
    ("weight", "message"), [(0, "more than 0 g"), (-5, "more than 0 g"), (50_001, "not plausible")]
)
def test_implausible_weights_are_refused_and_nothing_is_written(c, weight, message):
    with pytest.raises(DomainError, match=message):
        label(c, weight_g=weight)
    assert not Bag.objects.exists() and not CustodyRecord.objects.exists()


def test_only_the_producers_members_label(c, users):
    with pytest.raises(Forbidden, match="do not act for"):
        labels.bag_label(actor=c.keeper, producer=c.producer, category="sharps", weight_g=100, sealed=True)
    with pytest.raises(Forbidden):
        labels.bag_label(
            actor=users["sampler"], producer=c.producer, category="sharps", weight_g=100, sealed=True
        )
    # The authority's officer (waste.manage) may label, e.g. for a producer without an account.
    assert labels.bag_label(
        actor=users["waste_officer"], producer=c.producer, category="sharps", weight_g=100, sealed=True
    ).handler_name


def test_labelling_twice_with_one_client_id_makes_one_bag(c):
    first = label(c, client_id="c-1")
    assert label(c, client_id="c-1").pk == first.pk
    assert Bag.objects.count() == 1


# --- the order of the steps ---------------------------------------------------------------------------------


def test_the_whole_chain_in_order(c):
    bag = label(c)
    to_storage(c, bag, weight=1480)
    trip = collect(c, bag)
    delivery = trips.trip_deliver(actor=c.driver, trip=trip, plant=c.plant)
    handovers.handover_accept(actor=c.operator, handover=delivery, weights={bag.pk: 1450})
    trip.refresh_from_db()
    assert trip.status == TripStatus.DELIVERED and trip.plant == c.plant
    handovers.bags_incinerate(actor=c.operator, plant=c.plant, bags=[bag])
    bag.refresh_from_db()
    trip.refresh_from_db()
    chain = list(bag.records.order_by("at", "pk").values_list("stage", "weight_g", "anomaly"))
    assert chain == [
        (Stage.LABELLED, 1500, ""),
        (Stage.STORED, 1480, ""),
        (Stage.COLLECTED, 1480, ""),  # not weighed: the last weight
        (Stage.DELIVERED, 1450, ""),
        (Stage.INCINERATED, 1450, ""),
    ]
    assert (bag.stage, bag.holder, bag.trip) == (Stage.INCINERATED, c.plant, trip)
    assert trip.status == TripStatus.CLOSED
    stored = bag.records.get(stage=Stage.STORED)
    assert (stored.given_by, stored.taken_by) == (c.sampler.username, c.keeper.username)


def test_accepting_publishes_one_event_for_the_alarm_rules(c, django_capture_on_commit_callbacks):
    bag = label(c)
    to_storage(c, bag)
    handover = Handover.objects.get(stage=Stage.STORED)
    events = Event.objects.filter(type="waste.handover_accepted")
    assert events.count() == 1
    assert events.get().payload == {
        "handover_id": handover.pk,
        "stage": "stored",
        "bag_ids": [bag.pk],
        "to_party_id": c.institution.pk,
    }
    assert events.get().org_code == c.producer.org_code
    assert Event.objects.filter(type="waste.handover_offered").count() == 1


def test_a_step_that_skips_a_stage_is_refused_with_where_the_bag_is(c):
    bag = label(c)
    to_storage(c, bag)
    # The company tries to hand it to its plant while it still sits in temporary storage.
    with pytest.raises(
        DomainError, match=r"is in temporary storage; it must be collected before it is delivered"
    ):
        handovers.handover_offer(
            actor=c.driver, from_party=c.company, to_party=c.plant, bags=[bag], stage=Stage.DELIVERED
        )
    with pytest.raises(
        DomainError, match="labelled at the producer; it must be stored before it is collected"
    ):
        handovers.handover_offer(
            actor=c.keeper,
            from_party=c.institution,
            to_party=c.company,
            bags=[label(c)],
            stage=Stage.COLLECTED,
        )
    with pytest.raises(DomainError, match="it must be collected before it is incinerated"):
        handovers.bags_incinerate(actor=c.operator, plant=c.plant, bags=[bag])


def test_a_step_done_already_is_a_conflict(c):
    bag = label(c)
    to_storage(c, bag)
    with pytest.raises(Conflict, match="is already in temporary storage; it cannot be stored again"):
        handovers.handover_offer(
            actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
        )


def test_one_wrong_bag_refuses_the_whole_offer(c):
    good, stored = label(c), label(c)
    to_storage(c, stored)
    with pytest.raises(Conflict, match=stored.code):
        handovers.handover_offer(
            actor=c.sampler,
            from_party=c.producer,
            to_party=c.institution,
            bags=[good, stored],
            stage=Stage.STORED,
        )
    assert not Handover.objects.filter(status=HandoverStatus.OFFERED).exists()


def test_the_receiver_must_be_the_next_party(c, jurisdiction):
    other = factories.chain(jurisdiction.grid_b)
    bag = label(c)
    with pytest.raises(DomainError, match="its own institution's temporary storage"):
        handovers.handover_offer(
            actor=c.sampler, from_party=c.producer, to_party=other.institution, bags=[bag], stage=Stage.STORED
        )
    with pytest.raises(DomainError, match="its own plant"):
        trips.trip_deliver(actor=c.driver, trip=factories.open_trip(c, driver=c.driver), plant=other.plant)


def test_a_bag_is_in_one_open_offer_at_most(c):
    bag = label(c)
    handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    with pytest.raises(Conflict, match="already offered in handover HO"):
        handovers.handover_offer(
            actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
        )


def test_a_refused_offer_leaves_the_bags_with_the_giver_who_may_offer_again(c):
    bag = label(c)
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    with pytest.raises(DomainError, match="Say why"):
        handovers.handover_reject(actor=c.keeper, handover=offer, reason=" ")
    handovers.handover_reject(actor=c.keeper, handover=offer, reason="袋子破损")
    bag.refresh_from_db()
    assert bag.stage == Stage.LABELLED and bag.holder == c.producer
    with pytest.raises(Conflict, match="nothing to accept"):
        handovers.handover_accept(actor=c.keeper, handover=offer)
    again = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    handovers.handover_cancel(actor=c.sampler, handover=again)
    assert Handover.objects.get(pk=again.pk).status == HandoverStatus.CANCELLED


# --- who may act --------------------------------------------------------------------------------------------


def test_only_members_of_each_side_offer_and_accept(c, users):
    bag = label(c)
    with pytest.raises(Forbidden):
        handovers.handover_offer(
            actor=c.keeper, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
        )
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    for outsider in (c.sampler, c.driver, users["waste_handler"], users["waste_officer"]):
        with pytest.raises(Forbidden, match="do not act for"):
            handovers.handover_accept(actor=outsider, handover=offer)
    with pytest.raises(Forbidden):
        handovers.handover_cancel(actor=c.keeper, handover=offer)
    assert not CustodyRecord.objects.filter(stage=Stage.STORED).exists()


def test_collection_needs_the_drivers_own_open_trip(c, jurisdiction):
    bag = label(c)
    to_storage(c, bag)
    offer = handovers.handover_offer(
        actor=c.keeper, from_party=c.institution, to_party=c.company, bags=[bag], stage=Stage.COLLECTED
    )
    with pytest.raises(DomainError, match="start or choose your trip"):
        handovers.handover_accept(actor=c.driver, handover=offer)
    other_driver = factories.member(c.company)
    trip = factories.open_trip(c, driver=other_driver)
    with pytest.raises(Forbidden, match="another driver's"):
        handovers.handover_accept(actor=c.driver, handover=offer, trip=trip)
    assert Bag.objects.get(pk=bag.pk).stage == Stage.STORED


def test_a_vehicle_and_a_driver_are_on_one_open_trip_at_a_time(c):
    trips.trip_start(actor=c.driver, company=c.company, vehicle=c.vehicle)
    with pytest.raises(Conflict, match="is on trip ZY"):
        trips.trip_start(actor=c.driver, company=c.company, vehicle=c.vehicle)
    with pytest.raises(Conflict, match="You are on trip"):
        trips.trip_start(actor=c.driver, company=c.company, vehicle=factories.vehicle(c.company))


def test_manifest_numbers_count_per_day(c):
    first = trips.trip_start(actor=c.driver, company=c.company, vehicle=c.vehicle)
    second = trips.trip_start(actor=None, company=c.company, vehicle=factories.vehicle(c.company))
    day = timezone.localdate().strftime("%Y%m%d")
    assert (first.number, second.number) == (f"ZY{day}-0001", f"ZY{day}-0002")


# --- weights ------------------------------------------------------------------------------------------------


def test_weights_of_the_receiver_are_checked_and_kept_per_bag(c):
    one, two = label(c, weight_g=1000), label(c, weight_g=2000)
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[one, two], stage=Stage.STORED
    )
    with pytest.raises(DomainError, match="not plausible"):
        handovers.handover_accept(actor=c.keeper, handover=offer, weights={one.pk: 60_000})
    with pytest.raises(DomainError, match="not in this handover"):
        handovers.handover_accept(actor=c.keeper, handover=offer, weights={one.pk + two.pk + 10: 100})
    assert not CustodyRecord.objects.filter(stage=Stage.STORED).exists()
    handovers.handover_accept(actor=c.keeper, handover=offer, weights={str(one.pk): "1080"})
    stored = dict(CustodyRecord.objects.filter(stage=Stage.STORED).values_list("bag_id", "weight_g"))
    assert stored == {one.pk: 1080, two.pk: 2000}


# --- offline replays ----------------------------------------------------------------------------------------


def test_a_replay_that_skipped_a_stage_is_kept_and_marked(c):
    bag = label(c)
    trip = trips.trip_start(actor=c.driver, company=c.company, vehicle=c.vehicle)
    at = timezone.now() - dt.timedelta(minutes=5)
    record, new = handovers.custody_replay(
        actor=c.driver,
        bag_code=bag.code,
        stage=Stage.COLLECTED,
        happened_at=at,
        weight_g=1490,
        client_id="r-1",
    )
    bag.refresh_from_db()
    assert new and record.anomaly == Anomaly.MISSING_STEP
    assert (record.trip, record.weight_g, record.at) == (trip, 1490, at)
    assert (bag.stage, bag.holder, bag.trip) == (Stage.COLLECTED, c.company, trip)
    assert Event.objects.filter(type="waste.handover_accepted", payload__bag_ids=[bag.pk]).exists()
    # The same scan again: the record made the first time, nothing new.
    again, new_again = handovers.custody_replay(
        actor=c.driver,
        bag_code=bag.code,
        stage=Stage.COLLECTED,
        happened_at=at,
        weight_g=1490,
        client_id="r-1",
    )
    assert (again.pk, new_again) == (record.pk, False)
    assert CustodyRecord.objects.filter(bag=bag).count() == 2


def test_a_replay_earlier_than_the_step_before_is_out_of_order(c):
    bag = label(c)  # labelled now
    record, _new = handovers.custody_replay(
        actor=c.keeper,
        bag_code=bag.code,
        stage=Stage.STORED,
        happened_at=timezone.now() - dt.timedelta(hours=2),
    )
    assert record.anomaly == Anomaly.OUT_OF_ORDER
    assert record.weight_g == 1500  # not weighed: the last weight


def test_a_replay_in_order_is_clean_and_takes_the_bag_out_of_an_open_offer(c):
    bag = label(c)
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    record, _new = handovers.custody_replay(
        actor=c.keeper, bag_code=labels.label_url(bag), stage=Stage.STORED, happened_at=timezone.now()
    )
    assert record.anomaly == "" and record.from_party == c.producer
    offer.refresh_from_db()
    assert offer.status == HandoverStatus.CANCELLED


def test_replays_are_refused_for_a_party_that_does_not_receive_at_that_step(c, jurisdiction):
    bag = label(c)
    with pytest.raises(DomainError, match="Say which party you acted for"):
        handovers.custody_replay(
            actor=c.sampler, bag_code=bag.code, stage=Stage.STORED, happened_at=timezone.now()
        )
    with pytest.raises(DomainError, match="does not receive bags at this step"):
        handovers.custody_replay(
            actor=c.keeper,
            bag_code=bag.code,
            stage=Stage.DELIVERED,
            happened_at=timezone.now(),
            party=c.institution,
        )
    with pytest.raises(CodeRejected):
        handovers.custody_replay(
            actor=c.keeper, bag_code="MW000000XXXXX", stage=Stage.STORED, happened_at=timezone.now()
        )
    with pytest.raises(DomainError, match="in the future"):
        handovers.custody_replay(
            actor=c.keeper,
            bag_code=bag.code,
            stage=Stage.STORED,
            happened_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert CustodyRecord.objects.filter(bag=bag).count() == 1


def test_accepting_again_with_a_client_id_returns_the_accepted_handover(c):
    bag = label(c)
    offer = handovers.handover_offer(
        actor=c.sampler, from_party=c.producer, to_party=c.institution, bags=[bag], stage=Stage.STORED
    )
    handovers.handover_accept(actor=c.keeper, handover=offer, client_id="a-1")
    again = handovers.handover_accept(actor=c.keeper, handover=offer, client_id="a-1")
    assert again.status == HandoverStatus.ACCEPTED
    assert CustodyRecord.objects.filter(bag=bag, stage=Stage.STORED).count() == 1


# --- factories H3 builds on ---------------------------------------------------------------------------------


def test_bag_at_builds_a_bag_stored_hours_ago(jurisdiction):
    at = timezone.now() - dt.timedelta(hours=49)
    bag = factories.bag_at(Stage.STORED, area=jurisdiction.grid_a, at=at, weights={Stage.STORED: 1300})
    assert (bag.stage, bag.stage_at) == (Stage.STORED, at)
    assert list(bag.records.values_list("stage", "weight_g")) == [
        (Stage.LABELLED, 1200),
        (Stage.STORED, 1300),
    ]
    burnt = factories.bag_at(Stage.INCINERATED, area=jurisdiction.grid_b)
    assert burnt.records.count() == 5 and burnt.trip.status == TripStatus.CLOSED
