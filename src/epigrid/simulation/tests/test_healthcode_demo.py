"""The demo's health-code step: risk areas, declarations, flagged residents and the colours they give."""

from __future__ import annotations

from django.db import transaction

from epigrid.core import geo, ttlcache
from epigrid.core.models import Person, User
from epigrid.healthcode.models import AreaKind, HealthCode, PersonFacts, RiskArea, TravelDeclaration
from epigrid.simulation import district

SEED = 5


def _load(seed: int = SEED) -> None:
    district.ensure_demo_district(scale="test", seed=seed, progress=False)


def _code(username: str) -> HealthCode:
    return HealthCode.objects.get(person_id=User.objects.get(username=username).person_id)


def test_the_step_runs_after_the_check_in_history():
    names = [name for name, _step in district.STEPS]
    assert names.index("healthcode") > names.index("checkin_history")


def test_demo_residents_show_green_yellow_and_red(db):
    _load()
    assert _code("resident1").colour == "green"
    assert (_code("resident2").colour, _code("resident2").rule_id) == ("yellow", "fever")
    assert (_code("resident3").colour, _code("resident3").rule_id) == ("red", "contact")
    assert (_code("resident4").colour, _code("resident4").rule_id) == ("yellow", "medium_arrival")
    colours = set(HealthCode.objects.values_list("colour", flat=True))
    assert colours == {"green", "yellow", "red"}
    rules = set(HealthCode.objects.exclude(colour="green").values_list("rule_id", flat=True))
    assert {"contact", "in_quarantine", "fever", "medium_arrival", "high_arrival"} <= rules
    # Every colour is what the facts say (the facts were written through the services).
    assert PersonFacts.objects.filter(contact_tier="close").count() >= 9


def test_risk_areas_regions_outside_and_one_medium_grid_inside(db):
    _load()
    regions = dict(RiskArea.objects.filter(kind=AreaKind.REGION).values_list("region_code", "level"))
    assert regions == {"310115": "high", "440305": "medium"}
    inside = RiskArea.objects.get(kind=AreaKind.ORG_UNIT)
    gridworker = User.objects.get(username="gridworker")
    assert inside.level == "medium" and inside.org_unit.level == "grid"
    assert inside.org_unit.code.startswith(district.DISTRICT_CODE)
    assert inside.org_unit_id != gridworker.org_unit_id
    assert inside.changes.count() == 1
    # Declarations from the risk regions (and elsewhere) by residents of the district.
    declared = set(TravelDeclaration.objects.values_list("from_region_code", flat=True))
    assert {"310115", "440305"} <= declared and len(declared) >= 3
    people = TravelDeclaration.objects.values_list("person_id", flat=True)
    assert (
        not Person.objects.filter(pk__in=people).exclude(org_code__startswith=district.DISTRICT_CODE).exists()
    )


def _signature() -> tuple:
    """The step's outcome in plan terms (person order, not pks), independent of the load time."""
    ids = district.DemoContext(plan=district.plan_district("test", SEED)).person_ids()
    index = {pid: i for i, pid in enumerate(ids)}
    codes = sorted(
        (index[p], c, r) for p, c, r in HealthCode.objects.values_list("person_id", "colour", "rule_id")
    )
    declarations = sorted(
        (index[p], code) for p, code in TravelDeclaration.objects.values_list("person_id", "from_region_code")
    )
    areas = sorted(RiskArea.objects.values_list("name", "level", "region_code"))
    return codes, declarations, areas


class _Undo(Exception):
    pass


def _load_and_undo(seed: int) -> tuple:
    try:
        with transaction.atomic():
            _load(seed)
            signature = _signature()
            raise _Undo
    except _Undo:
        pass
    finally:
        geo.invalidate()
        ttlcache.clear_all()
    return signature


def test_the_step_is_deterministic_per_seed(db):
    first = _load_and_undo(SEED)
    again = _load_and_undo(SEED)
    assert first == again
    assert len(first[0]) > 50
