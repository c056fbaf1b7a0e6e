""" "My data": everything the platform holds about one person, read as that person, as a ZIP of JSON files.

Every area is read with the resident as the actor — through the owning app's selectors where one fits,
otherwise through ``core.scope`` (which gives a resident their own rows only) — so the export cannot hold
anyone else's records. Rows are reduced to what is about the person: another person's name, a staff
member's account or a contact tracing's evidence (which names others) are left out. The person's own ID
number and phone are in full: they are theirs (the service audits the export as such).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.utils import timezone

from epigrid.checkins.models import VisitorRegistration
from epigrid.core import notices
from epigrid.core.models import NoticeDelivery, Person, User
from epigrid.core.scope import scoped
from epigrid.healthcode import selectors as healthcode_selectors
from epigrid.healthcode.models import Override, PersonFacts, TravelDeclaration
from epigrid.investigation.models import Contact
from epigrid.portal import selectors
from epigrid.quarantine.models import DoorSeal, HealthReport, Placement, ScheduledTest, Visit
from epigrid.testing import selectors as testing_selectors
from epigrid.testing.models import Specimen
from epigrid.vaccination import selectors as vaccination_selectors
from epigrid.vaccination.models import AdverseEvent

README = """EpiGrid — 我的数据 / My data
================================

中文
----
这是 EpiGrid 平台在 {at} 保存的关于您（{name}）的全部数据。每个 JSON 文件是一类数据：

{files_zh}

时间为北京时间（ISO 8601）。身份证号和手机号是您自己的，因此在此完整显示；请妥善保管此文件。
打卡记录只保存 {days} 天，之后删除。如发现错误，请在"我的数据"页面提交更正申请。

English
-------
This is everything the EpiGrid platform held about you ({name}) at {at}. Each JSON file is one area:

{files_en}

Times are China Standard Time (ISO 8601). Your ID number and phone number are yours and shown in full here;
keep this file safe. Check-ins are kept for {days} days and then deleted. If something is wrong, ask for a
correction on the "My data" page.
"""

# file name -> (Chinese, English) description
FILES: dict[str, tuple[str, str]] = {
    "person.json": ("个人信息和账号", "your person record and account"),
    "household.json": ("户籍/家庭成员（姓名已遮盖）", "your household (members' names masked)"),
    "checkins.json": ("场所打卡记录（保存期内）", "your venue check-ins within the retention period"),
    "visits.json": ("访客登记", "visitor registrations"),
    "health_code.json": (
        "健康码、变更记录、申诉、出行申报",
        "health code, its changes, appeals, travel declarations",
    ),
    "tests.json": ("核酸检测和复检通知", "nucleic-acid tests and recall notices"),
    "vaccination.json": (
        "疫苗接种、预约、自报、不良反应",
        "vaccinations, bookings, self-reports, adverse events",
    ),
    "quarantine.json": (
        "隔离安置、健康上报、检测计划",
        "quarantine placements, health reports, scheduled tests",
    ),
    "arrivals.json": ("来返报备（重点地区档案）", "arrival reports (key-region archive)"),
    "contacts.json": ("流调中被认定为接触者的记录", "where contact tracing listed you as a contact"),
    "notices.json": ("站内消息及其发送情况", "messages to you and how they were delivered"),
    "hotline_tickets.json": ("咨询热线工单", "questions to the hotline"),
    "corrections.json": ("数据更正申请", "your correction requests"),
}


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, Model):
        return str(value.pk)
    return value


def rows(objects: Iterable[Any], fields: Iterable[str]) -> list[dict[str, Any]]:
    """Each object as a dict of ``fields`` (dotted paths follow relations; a missing relation is None)."""
    fields = list(fields)
    out = []
    for obj in objects:
        row = {}
        for path in fields:
            value: Any = obj
            for part in path.split("."):
                value = getattr(value, part, None) if value is not None else None
            row[path.replace(".", "_")] = _value(value)
        out.append(row)
    return out


def _person(actor: User, person: Person) -> dict[str, Any]:
    record = rows(
        [person],
        (
            "id_type",
            "id_number",
            "name",
            "sex",
            "birth_date",
            "phone",
            "address",
            "grid.name",
            "grid.code",
            "household_id",
            "created_at",
            "updated_at",
        ),
    )[0]
    record["account"] = rows([actor], ("username", "date_joined", "last_login", "language"))[0]
    return record


def _household(actor: User) -> dict[str, Any]:
    view = selectors.household_view(actor=actor)
    return {
        "address": view.household.address if view.household else None,
        "members": [
            {"name": m.person.name_masked, "me": m.is_self, "under_18": m.minor} for m in view.members
        ],
    }


def _health_code(actor: User, person: Person) -> dict[str, Any]:
    code = healthcode_selectors.health_code_list(actor=actor).filter(person_id=person.pk)
    return {
        "current": rows(code, ("colour", "reason", "to_green", "since", "computed_at")),
        "changes": rows(
            healthcode_selectors.change_history(actor=actor, person_id=person.pk),
            ("at", "from_colour", "to_colour", "reason"),
        ),
        "facts": rows(
            scoped(PersonFacts.objects.all(), actor),
            [f.name for f in PersonFacts._meta.concrete_fields if f.name not in ("person", "org_code")],
        ),
        "appeals": rows(
            healthcode_selectors.appeal_list(actor=actor),
            ("created_at", "colour", "note", "status", "reviewed_at", "review_note"),
        ),
        "overrides": rows(
            scoped(Override.objects.all(), actor).order_by("-created_at"),
            ("created_at", "colour", "reason", "expires_at", "revoked_at"),
        ),
        "travel_declarations": rows(
            scoped(TravelDeclaration.objects.all(), actor).order_by("-arrived_at"),
            ("arrived_at", "from_region_code", "from_place", "created_at"),
        ),
    }


def _tests(actor: User, person: Person) -> dict[str, Any]:
    meanings = testing_selectors.person_results(person_id=person.pk)
    specimens = list(
        scoped(Specimen.objects.select_related("tube", "tube__sampling_point"), actor).order_by(
            "-sampled_at", "-pk"
        )
    )
    tests = rows(
        specimens,
        (
            "sampled_at",
            "method",
            "tube.barcode",
            "tube.pool_size",
            "tube.sampling_point.name",
            "tube.result",
            "tube.resulted_at",
        ),
    )
    by_tube = {r.tube: r.result for r in meanings}
    for row, specimen in zip(tests, specimens, strict=True):
        row["meaning_for_you"] = by_tube.get(specimen.tube.barcode)
    recalls = testing_selectors.recall_list(actor=actor, open_only=False)
    return {
        "tests": tests,
        "recalls": rows(
            recalls, ("created_at", "reason", "due_at", "resolved_at", "resolution", "tube.barcode")
        ),
    }


def _vaccination(actor: User, person: Person) -> dict[str, Any]:
    record = vaccination_selectors.person_record(actor=actor, person=person)
    return {
        "doses": rows(
            record.doses,
            (
                "given_on",
                "given_at",
                "dose_number",
                "kind",
                "vaccine.name",
                "lot_number",
                "site.name",
                "place",
                "source",
            ),
        ),
        "bookings": rows(
            record.bookings,
            (
                "code",
                "status",
                "slot.starts_at",
                "slot.site.name",
                "vaccine.name",
                "dose_number",
                "created_at",
            ),
        ),
        "self_reports": rows(
            record.self_reports,
            (
                "id",
                "vaccine.name",
                "given_on",
                "place",
                "lot_number",
                "status",
                "reason",
                "submitted_at",
                "reviewed_at",
            ),
        ),
        "status": rows(
            record.statuses,
            (
                "disease.code",
                "doses",
                "series_complete",
                "boosters",
                "last_dose_on",
                "next_due_on",
                "next_due_kind",
            ),
        ),
        "adverse_events": rows(
            scoped(AdverseEvent.objects.all(), actor).order_by("-onset_at"),
            ("onset_at", "symptoms", "severity", "serious", "outcome", "reported_at"),
        ),
    }


def certificates(actor: User) -> list[tuple[str, bytes]]:
    """The certificate photos of the person's self-reports, as files of the ZIP."""
    reports = (
        vaccination_selectors.self_report_list(actor=actor, status="")
        .select_related(None)
        .only("pk", "certificate")
    )
    return [(f"vaccination/self_report_{r.pk}.jpg", bytes(r.certificate)) for r in reports if r.certificate]


def _quarantine(actor: User) -> dict[str, Any]:
    placements = scoped(Placement.objects.select_related("site", "room"), actor).order_by("-start")
    return {
        "placements": rows(
            placements,
            (
                "id",
                "site.name",
                "site.address",
                "room.number",
                "tier",
                "start",
                "centralised_until",
                "end",
                "status",
                "released_at",
                "outcome",
                "plan",
            ),
        ),
        "health_reports": rows(
            scoped(HealthReport.objects.all(), actor).order_by("-reported_at"),
            ("placement_id", "reported_at", "temperature", "symptoms", "note", "source"),
        ),
        "scheduled_tests": rows(
            scoped(ScheduledTest.objects.all(), actor).order_by("due_date"),
            (
                "placement_id",
                "day",
                "phase",
                "due_date",
                "door_to_door",
                "status",
                "sampled_at",
                "resulted_at",
            ),
        ),
        "door_seals": rows(
            scoped(DoorSeal.objects.all(), actor).defer("photo"),
            ("placement_id", "number", "sealed_at", "removed_at"),
        ),
        "visits": rows(
            scoped(Visit.objects.all(), actor).order_by("-visited_at"),
            ("placement_id", "visited_at", "team", "result", "note"),
        ),
    }


def _scoped_rows(actor: User, model: type[Model], fields: Iterable[str], order: str) -> list[dict[str, Any]]:
    return rows(scoped(model.objects.all(), actor).order_by(order), fields)


def _notices(actor: User) -> list[dict[str, Any]]:
    inbox = list(notices.notices_for(user=actor)[:2000])
    # Deliveries are the account's own (their notices); scope registers them for staff only.
    deliveries: dict[int, list] = {}
    for d in NoticeDelivery.objects.filter(notice__in=inbox).order_by("pk"):
        deliveries.setdefault(d.notice_id, []).append(
            {
                "channel": d.channel,
                "status": d.status,
                "address": d.address_masked,
                "at": _value(d.updated_at),
            }
        )
    out = rows(inbox, ("created_at", "kind", "title", "body", "url", "read_at"))
    for row, notice in zip(out, inbox, strict=True):
        row["deliveries"] = deliveries.get(notice.pk, [])
    return out


def collect(*, actor: User) -> dict[str, Any]:
    """The export's files: name -> JSON-serialisable content."""
    from epigrid.comparison.models import Arrival
    from epigrid.publicity.models import HotlineTicket

    person = selectors.own_person(actor=actor)
    return {
        "person.json": _person(actor, person),
        "household.json": _household(actor),
        "checkins.json": rows(
            selectors.my_checkins(actor=actor),
            ("venue.name", "venue.address", "scanned_at", "leave_at", "left_explicitly", "method", "colour"),
        ),
        "visits.json": _scoped_rows(
            actor,
            VisitorRegistration,
            ("venue.name", "purpose", "expected_at", "status", "arrived_at", "left_at", "created_at"),
            "-created_at",
        ),
        "health_code.json": _health_code(actor, person),
        "tests.json": _tests(actor, person),
        "vaccination.json": _vaccination(actor, person),
        "quarantine.json": _quarantine(actor),
        "arrivals.json": _scoped_rows(
            actor,
            Arrival,
            (
                "arrived_at",
                "origin",
                "origin_region_code",
                "risk_level",
                "travel_mode",
                "address",
                "source",
                "created_at",
            ),
            "-arrived_at",
        ),
        "contacts.json": _scoped_rows(
            actor,
            Contact,
            (
                "tier",
                "rule",
                "venue.name",
                "first_exposure_at",
                "last_exposure_at",
                "status",
                "notified_at",
                "created_at",
            ),
            "-created_at",
        ),
        "notices.json": _notices(actor),
        "hotline_tickets.json": _scoped_rows(
            actor,
            HotlineTicket,
            ("created_at", "category", "question", "status", "answer", "answered_at"),
            "-created_at",
        ),
        "corrections.json": rows(
            selectors.my_corrections(actor=actor),
            ("created_at", "field", "requested_value", "reason", "status", "decision_note", "decided_at"),
        ),
    }


def build_zip(*, actor: User, now: dt.datetime | None = None) -> bytes:
    """The ZIP: a README.txt in Chinese and English, one JSON file per area, the certificate photos."""
    now = now or timezone.now()
    files = collect(actor=actor)
    person = files["person.json"]
    readme = README.format(
        at=timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        name=person["name"],
        days=selectors.checkin_retention_days(),
        files_zh="\n".join(f"  {name:<22}{zh}" for name, (zh, _en) in FILES.items()),
        files_en="\n".join(f"  {name:<22}{en}" for name, (_zh, en) in FILES.items()),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for name, content in files.items():
            archive.writestr(name, json.dumps(content, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for name, data in certificates(actor):
            archive.writestr(name, data)
    return out.getvalue()
