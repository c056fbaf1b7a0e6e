"""Record linkage with known truth: exact by document (18 and 15 digits), remembered decisions, the
probabilistic model (a wrong character, swapped characters, a phone with a wrong or two swapped digits, a
missing phone), thresholds from the policy, provisional persons, the review decision remembered on a
re-import of the list, scope and permissions, and the model trained on a district's own data."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json

import numpy as np
import pytest
from django.core.management import call_command

from epigrid.comparison import bench, matching
from epigrid.comparison.models import (
    Arrival,
    ImportStatus,
    LinkMemory,
    LinkMethod,
    ListImport,
    ListRow,
    ListSource,
    RowStatus,
    SourceKind,
)
from epigrid.comparison.services import linkage
from epigrid.comparison.tests import factories
from epigrid.core import services as core_services
from epigrid.core.errors import Conflict, DomainError, Forbidden
from epigrid.core.identity import IdType, compose_resident_id, parse_resident_id
from epigrid.core.masking import mask_document, mask_phone
from epigrid.core.models import AuditEntry, DiseaseProfile, OrgUnit, Person, PolicyVersion
from epigrid.core.roles import Role
from epigrid.core.selectors import GENERAL, policy_cache_clear
from epigrid.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
ADDRESS = "山东省烟台市测试区A街道长江路12号金沙滩小区3号楼2单元501室"


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.LINKAGE_MODEL_DIR = tmp_path / "linkage"
    matching.forget_snapshots()
    yield
    matching.forget_snapshots()


def person(
    grid: OrgUnit, name: str, *, birth: dt.date, seq: int, phone: str = "", address: str = ADDRESS
) -> Person:
    return core_services.person_register(
        actor=None,
        data=core_services.PersonInput(
            id_number=compose_resident_id("370602", birth, seq),
            name=name,
            phone=phone,
            address=address,
            grid_id=grid.pk,
        ),
    )


def a_list(grid: OrgUnit) -> ListImport:
    source = ListSource.objects.create(
        name=f"测试来源{next(_numbers)}", kind=SourceKind.TRANSPORT, org_code=grid.code
    )
    return ListImport.objects.create(
        source=source, org_code=grid.code, file_name=f"list-{next(_numbers)}.csv", file_sha256="0" * 64,
        status=ImportStatus.RUNNING,
    )  # fmt: skip


def row(
    list_import: ListImport,
    grid: OrgUnit,
    *,
    name: str,
    id_number: str = "",
    phone: str = "",
    birth: dt.date | None = None,
    sex: str = "",
    address: str = "",
) -> ListRow:
    """A row as the import stores it once normalised (15-digit numbers become 18), PENDING."""
    number = parse_resident_id(id_number).number if id_number else ""
    if number:
        parsed = parse_resident_id(number)
        birth, sex = parsed.birth_date, parsed.sex
    return ListRow.objects.create(
        list_import=list_import,
        row_number=ListRow.objects.filter(list_import=list_import).count() + 2,
        org_code=grid.code,
        name=name,
        id_type=IdType.RESIDENT if number else "",
        id_number=number,
        id_number_index=core_services.person_document_index(IdType.RESIDENT, number) if number else "",
        id_number_masked=mask_document(number),
        phone=phone,
        phone_index=core_services.phone_index(phone),
        phone_masked=mask_phone(phone),
        birth_date=birth,
        sex=sex,
        address=address,
        grid=grid,
        origin="上海市",
        arrived_at=dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC),
    )


def link(*rows: ListRow) -> linkage.LinkResult:
    result = linkage.link_rows(actor=None, rows=list(rows))
    for r in rows:
        r.refresh_from_db()
    return result


def thresholds(auto: float, review: float) -> None:
    """A general policy with these linkage thresholds, active now."""
    general = DiseaseProfile.objects.get(code=GENERAL)
    current = PolicyVersion.objects.get(disease=general, is_active=True)
    core_services.policy_version_create(
        actor=None,
        disease=general,
        version=f"linkage-{next(_numbers)}",
        title="linkage thresholds",
        params={**current.params, "linkage_auto_link": auto, "linkage_review": review},
        activate=True,
    )
    policy_cache_clear()  # activation clears it after the commit, which a test never reaches


@pytest.fixture
def grid(jurisdiction):
    return jurisdiction.grid_a


@pytest.fixture
def people(grid):
    """A small register: two people with the same surname, one with a common name."""
    return {
        "zhang": person(grid, "张伟明", birth=dt.date(1985, 3, 14), seq=11, phone="13812345678"),
        "zhang2": person(
            grid,
            "张伟",
            birth=dt.date(1990, 7, 1),
            seq=21,
            phone="13900001111",
            address="山东省烟台市测试区A街道黄河路8号福源花园1号楼1单元101室",
        ),
        "li": person(
            grid,
            "李秀英",
            birth=dt.date(1972, 11, 2),
            seq=32,
            phone="13700002222",
            address="山东省烟台市测试区A街道珠江路3号海韵家园5号楼3单元302室",
        ),
    }


# --- pure helpers ---------------------------------------------------------------------------------------------


def test_phone_neighbours_are_one_keystroke_away_and_valid():
    near = matching.phone_neighbours("13812345678")
    assert "13812345679" in near  # one digit wrong
    assert "13812346578" in near  # two adjacent digits swapped
    assert "13812345678" not in near and len(set(near)) == len(near)
    assert all(n.startswith("1") and n[1] in "3456789" and len(n) == 11 for n in near)
    assert all(matching.damerau_levenshtein(n, "13812345678") == 1 for n in near)


def test_damerau_levenshtein_counts_a_swap_as_one_edit():
    assert matching.damerau_levenshtein("张伟明", "张明伟") == 1
    assert matching.damerau_levenshtein("张伟明", "张玮明") == 1
    assert matching.damerau_levenshtein("张伟明", "李秀英") == 3
    assert matching.damerau_levenshtein("", "李") == 1


def test_address_tail_drops_the_prefix_and_unifies_the_flat():
    assert matching.address_tail(ADDRESS) == "长江路12号金沙滩小区3-2-501"
    assert matching.address_tail("金沙滩小区3-2-501").endswith("金沙滩小区3-2-501")


# --- exact, remembered, probabilistic ---------------------------------------------------------------------------


def test_exact_by_document_18_and_15_digits(grid, people):
    imp = a_list(grid)
    zhang = people["zhang"]
    full = row(imp, grid, name="张伟明", id_number=zhang.id_number)
    old = row(imp, grid, name="张 伟明", id_number=zhang.id_number[:6] + zhang.id_number[8:17])  # 15 digits
    result = link(full, old)
    assert result.exact == 2
    for r in (full, old):
        assert (r.person_id, r.link_method, r.status, r.match_probability) == (
            zhang.pk,
            LinkMethod.EXACT_ID,
            RowStatus.LINKED,
            1.0,
        )


def test_exact_wins_over_a_remembered_decision_and_remembered_over_probabilistic(grid, people):
    imp = a_list(grid)
    zhang, li = people["zhang"], people["li"]
    by_document = row(imp, grid, name="张伟明", id_number=zhang.id_number)
    LinkMemory.objects.create(fingerprint=linkage.fingerprint(by_document), person=li)
    # Without a document this row is plainly 张伟明 (same phone, birth date, address); a clerk said it is 李秀英.
    remembered = row(
        imp, grid, name="张伟明", phone="13812345678", birth=dt.date(1985, 3, 14), address=ADDRESS
    )
    LinkMemory.objects.create(fingerprint=linkage.fingerprint(remembered), person=li)
    link(by_document, remembered)
    assert (by_document.person_id, by_document.link_method) == (zhang.pk, LinkMethod.EXACT_ID)
    assert (remembered.person_id, remembered.link_method, remembered.status) == (
        li.pk,
        LinkMethod.REMEMBERED,
        RowStatus.LINKED,
    )


@pytest.mark.parametrize(
    "written",
    [
        {"name": "张玮明", "phone": "13812345678"},  # a wrong character, same phone
        {"name": "张明伟", "phone": "13812345678", "birth": dt.date(1985, 3, 14)},  # swapped characters
        {"name": "张伟明", "phone": "13812345687", "birth": dt.date(1985, 3, 14)},  # two digits swapped
        {
            "name": "张伟明",
            "phone": "13812345679",
            "address": "金沙滩小区3-2-501",
        },  # a digit wrong, short address
        {"name": "张伟明", "birth": dt.date(1985, 3, 14), "address": ADDRESS},  # no phone
        {"name": "张玮明", "birth": dt.date(1985, 3, 14), "address": "长江路12号金沙滩小区3号楼2单元501室"},
    ],
)
def test_probabilistic_links_the_true_person_despite_the_errors(grid, people, written):
    r = row(a_list(grid), grid, **written)
    result = link(r)
    assert result.probabilistic == 1, (r.status, r.candidates)
    assert (r.person_id, r.link_method, r.status) == (
        people["zhang"].pk,
        LinkMethod.PROBABILISTIC,
        RowStatus.LINKED,
    )
    assert r.match_probability >= 0.95
    assert r.candidates[0] == [people["zhang"].pk, r.match_probability]


def test_a_different_document_is_never_linked_without_a_clerk(grid, people, users):
    """Same name, birth date, sex and address as 张伟明, but another valid ID number: the review queue, however
    well the rest agrees; "none of these" registers the row's person with their document."""
    other = compose_resident_id("370602", dt.date(1985, 3, 14), 13)
    r = row(a_list(grid), grid, name="张伟明", id_number=other, address=ADDRESS)
    link(r)
    assert r.status == RowStatus.REVIEW and r.candidates[0][0] == people["zhang"].pk
    linkage.review_decide(actor=users[Role.DISTRICT_ADMIN.value], row=r, person=None)
    r.refresh_from_db()
    created = Person.objects.get(pk=r.person_id)
    assert (created.id_type, created.id_number, r.status) == (IdType.RESIDENT, other, RowStatus.PROVISIONAL)


def test_thresholds_come_from_the_policy(grid, people):
    """Name and sex only: some evidence, not much. Where it lands is the policy's thresholds' business."""
    written = {"name": "张伟明", "sex": "M"}
    thresholds(auto=0.999999999, review=0.000001)
    first = row(a_list(grid), grid, **written)
    assert link(first).review == 1
    assert (first.status, first.person_id, first.link_method) == (RowStatus.REVIEW, None, "")
    assert first.candidates[0][0] == people["zhang"].pk
    p = first.match_probability
    assert 0.01 < p < 0.95
    thresholds(auto=p / 2, review=p / 4)
    second = row(a_list(grid), grid, **written)
    assert link(second).probabilistic == 1
    assert (second.status, second.person_id) == (RowStatus.LINKED, people["zhang"].pk)
    assert second.match_probability == pytest.approx(p)
    thresholds(auto=0.999999999, review=min(0.99, p * 1.5))
    third = row(a_list(grid), grid, **written)
    assert link(third).provisional == 1 and third.status == RowStatus.PROVISIONAL


def test_nobody_known_becomes_a_provisional_person_once_per_identity(grid, people):
    imp = a_list(grid)
    stranger = dict(name="欧阳娜娜", phone="15000001234", birth=dt.date(2001, 5, 6), address="外地某宾馆")
    a, b = row(imp, grid, **stranger), row(imp, grid, **stranger)
    with_document = row(
        imp, grid, name="钱七", id_number=compose_resident_id("110101", dt.date(1995, 1, 2), 71)
    )
    result = link(a, b, with_document)
    assert result.provisional == 3
    assert a.person_id == b.person_id
    made = Person.objects.get(pk=a.person_id)
    assert (made.id_type, made.name, made.phone, made.birth_date) == (
        IdType.PROVISIONAL,
        "欧阳娜娜",
        "15000001234",
        dt.date(2001, 5, 6),
    )
    assert made.id_number.startswith("P") and made.org_code == grid.code
    assert Person.objects.get(pk=with_document.person_id).id_type == IdType.RESIDENT
    assert {a.link_method, a.status} == {LinkMethod.PROVISIONAL, RowStatus.PROVISIONAL}
    # A later list with the same stranger (one digit of the phone wrong) finds the provisional person.
    again = row(a_list(grid), grid, **{**stranger, "phone": "15000001235"})
    link(again)
    assert (again.person_id, again.link_method) == (made.pk, LinkMethod.PROBABILISTIC)


def test_linking_is_idempotent_per_row(grid, people):
    imp = a_list(grid)
    stranger = row(imp, grid, name="孙八", phone="15100005678")
    known = row(imp, grid, name="张伟明", id_number=people["zhang"].id_number)
    link(stranger, known)
    persons = Person.objects.count()
    audits = AuditEntry.objects.filter(action="comparison.rows_link").count()
    again = linkage.link_rows(actor=None, rows=list(ListRow.objects.filter(list_import=imp)))
    assert again.as_dict()["provisional"] == 0 and again.exact == 0
    assert Person.objects.count() == persons
    assert AuditEntry.objects.filter(action="comparison.rows_link").count() == audits
    # Rows passed again in memory but decided meanwhile in the database are left alone too.
    stale = ListRow.objects.get(pk=stranger.pk)
    stale.status, stale.person_id = RowStatus.PENDING, None
    assert linkage.link_rows(actor=None, rows=[stale]).provisional == 0
    assert Person.objects.count() == persons


def test_a_person_removed_since_the_persons_were_read_is_nobody(grid, people):
    link(
        row(a_list(grid), grid, name="李秀英", phone="13700002222")
    )  # reads (and caches) the district's persons
    gone = person(grid, "王芳", birth=dt.date(1993, 8, 8), seq=82, phone="15911112222")
    link(row(a_list(grid), grid, name="李秀英", phone="13700002222"))  # the cache is topped up with 王芳
    gone.delete()
    r = row(a_list(grid), grid, name="王芳", phone="15911112222", birth=dt.date(1993, 8, 8))
    result = link(r)
    assert result.provisional == 1 and result.probabilistic == 0
    assert r.status == RowStatus.PROVISIONAL and Person.objects.filter(pk=r.person_id).exists()


def test_a_row_that_cannot_be_a_person_raises_and_saves_nothing(grid, people):
    nameless = row(a_list(grid), grid, name="", phone="15200000000")
    with pytest.raises(DomainError):
        link(nameless)
    nameless.refresh_from_db()
    assert nameless.status == RowStatus.PENDING and nameless.person_id is None


# --- review ---------------------------------------------------------------------------------------------------


@pytest.fixture
def clerk(users):
    return users[Role.DISTRICT_ADMIN.value]


def _in_review(grid, people, **written) -> ListRow:
    thresholds(auto=0.999999999, review=0.001)
    r = row(a_list(grid), grid, **(written or {"name": "张伟明", "phone": "13800000000"}))
    link(r)
    assert r.status == RowStatus.REVIEW, (r.status, r.match_probability)
    return r


def test_review_decision_links_remembers_audits_and_adds_the_arrival(grid, people, clerk):
    r = _in_review(grid, people)
    zhang = people["zhang"]
    linkage.review_decide(actor=clerk, row=r, person=zhang)
    r.refresh_from_db()
    assert (r.person_id, r.link_method, r.status, r.reviewed_by) == (
        zhang.pk,
        LinkMethod.CLERICAL,
        RowStatus.LINKED,
        clerk,
    )
    assert r.reviewed_at is not None and r.match_probability is not None
    assert LinkMemory.objects.get(fingerprint=linkage.fingerprint(r)).person_id == zhang.pk
    entry = AuditEntry.objects.filter(action="comparison.row_review").latest("seq")
    assert entry.detail["choice"] == "candidate" and entry.detail["person_id"] == zhang.pk
    assert Arrival.objects.filter(person=zhang, list_row=r).exists()
    with pytest.raises(Conflict):
        linkage.review_decide(actor=clerk, row=r, person=zhang)


def test_none_of_these_makes_a_provisional_person_and_remembers_it(grid, people, clerk):
    r = _in_review(grid, people)
    linkage.review_decide(actor=clerk, row=r, person=None)
    r.refresh_from_db()
    assert (r.status, r.link_method) == (RowStatus.PROVISIONAL, LinkMethod.PROVISIONAL)
    assert r.person_id not in {p.pk for p in people.values()}
    assert LinkMemory.objects.get(fingerprint=linkage.fingerprint(r)).person_id == r.person_id


def test_review_permissions_and_scope(grid, people, users, jurisdiction):
    r = _in_review(grid, people)
    zhang = people["zhang"]
    with pytest.raises(Forbidden):  # may look, may not decide
        linkage.review_decide(actor=users[Role.COMMANDER.value], row=r, person=zhang)
    elsewhere = UserFactory(
        username="community-b-officer", role=Role.COMMUNITY_OFFICER, org_unit=jurisdiction.community_b
    )
    with pytest.raises(Forbidden):
        linkage.review_decide(actor=elsewhere, row=r, person=zhang)
    # A person who is no candidate must be in the clerk's area.
    outsider = person(jurisdiction.grid_b, "周九", birth=dt.date(1999, 9, 9), seq=91)
    officer = UserFactory(
        username="community-a-officer", role=Role.COMMUNITY_OFFICER, org_unit=jurisdiction.community_a
    )
    with pytest.raises(DomainError):
        linkage.review_decide(actor=officer, row=r, person=outsider)
    r.refresh_from_db()
    assert r.status == RowStatus.REVIEW
    linkage.review_decide(
        actor=officer, row=r, person=people["li"]
    )  # a person of the area, found by document
    r.refresh_from_db()
    assert (r.person_id, r.status) == (people["li"].pk, RowStatus.LINKED)


def test_review_decision_is_remembered_on_reimport(grid, people, users):
    """Issue #10 acceptance: the same list imported again links the reviewed row without asking."""
    clerk = users[Role.DISTRICT_ADMIN.value]
    thresholds(auto=0.999999999, review=0.001)
    header = ["姓名", "手机", "出发地", "交通方式", "到达时间"]
    arrived = "2026-11-20 08:00"
    lines = [
        ["张伟明", "13800000000", "上海市", "火车 G1", arrived],
        ["李秀英", "13700002222", "上海市", "火车 G1", arrived],
    ]
    first = factories.arrival_list(grid, lines, header=header, actor=clerk)
    rows = {r.name: r for r in first.rows.all()}
    assert rows["张伟明"].status == RowStatus.REVIEW
    linkage.review_decide(actor=clerk, row=rows["张伟明"], person=people["zhang"])

    second = factories.arrival_list(grid, lines, header=header, actor=clerk)
    again = {r.name: r for r in second.rows.all()}
    assert (again["张伟明"].person_id, again["张伟明"].link_method, again["张伟明"].status) == (
        people["zhang"].pk,
        LinkMethod.REMEMBERED,
        RowStatus.LINKED,
    )
    assert not second.rows.filter(status=RowStatus.REVIEW, name="张伟明").exists()


# --- the model trained on the district's data -------------------------------------------------------------------


def test_model_trained_on_the_district_links_generated_arrivals_with_known_truth(jurisdiction):
    """A register of 3,000 generated people and a list of 600 arrivals (errors as in the benchmark): the
    first call trains and saves the model (m from the rows linked by document), links are right."""
    grids = [jurisdiction.grid_a, jurisdiction.grid_b]
    rng = np.random.default_rng(3)
    generated = bench.generate_people(3_000, rng, seq_base=bench.PERSON_SEQ)
    compounds = bench._compounds(rng)
    arrivals = bench.generate_arrivals(generated, compounds, 600, rng)
    pks = bench.load_persons(generated, compounds, grids)
    imp = a_list(jurisdiction.grid_a)
    bench.load_rows(arrivals, imp, jurisdiction.grid_a)
    rows = list(ListRow.objects.filter(list_import=imp).order_by("row_number"))
    result = linkage.link_rows(actor=None, rows=rows)
    model = matching.load_model("370699")
    assert model is not None and model.meta["m_source"] == "labels" and model.meta["labelled"] >= 200
    assert json.loads(matching.model_path("370699").read_text())["settings"]["comparisons"]
    outcome = {n: (pid, status, method) for n, pid, status, method in imp.rows.values_list(
        "row_number", "person_id", "status", "link_method")}  # fmt: skip
    quality = bench._evaluate(arrivals, pks, outcome)
    assert quality["all"]["precision"] >= 0.99 and quality["all"]["recall"] >= 0.95, quality
    assert quality["probabilistic"]["precision"] >= 0.97, quality
    assert result.exact + result.probabilistic + result.review + result.provisional == 600
    # Retraining when asked: from the district's rows of lists, by someone who may review.
    with pytest.raises(Forbidden):
        linkage.model_train(
            actor=UserFactory(username="cmd", role=Role.COMMANDER, org_unit=jurisdiction.district),
            district="370699",
        )
    retrained = linkage.model_train(actor=None, district="370699")
    assert retrained.meta["trained_at"] > model.meta["trained_at"] and retrained.meta["m_source"] == "labels"
    assert AuditEntry.objects.filter(action="comparison.model_train").exists()
    # ... and from the command line, for the district of the jurisdiction.
    out = io.StringIO()
    call_command("train_linkage", stdout=out)
    assert "district 370699: trained on" in out.getvalue()
    assert matching.load_model("370699").meta["trained_at"] > retrained.meta["trained_at"]
