"""Every role and what it may do, declared once. Nothing else in the code base names a role.

A role's *scope* is the subtree of the jurisdiction under the account's org unit; residents see only their
own records. Permissions are plain strings checked with :func:`has_perm`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District administrator")
    COMMANDER = "commander", _("Commander")
    EPIDEMIOLOGIST = "epidemiologist", _("Epidemiologist")
    SAMPLER = "sampler", _("Sampler")
    LAB_TECHNICIAN = "lab_technician", _("Lab technician")
    VACCINATOR = "vaccinator", _("Vaccinator")
    QUARANTINE_MANAGER = "quarantine_manager", _("Quarantine manager")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    COMMUNITY_OFFICER = "community_officer", _("Community officer")
    SUPPLIES_OFFICER = "supplies_officer", _("Supplies officer")
    WASTE_OFFICER = "waste_officer", _("Medical-waste officer")
    WASTE_HANDLER = "waste_handler", _("Medical-waste handler")
    PUBLICITY_EDITOR = "publicity_editor", _("Publicity editor")
    VENUE_OPERATOR = "venue_operator", _("Venue operator")
    VENUE_KIOSK = "venue_kiosk", _("Venue scanner")
    RESIDENT = "resident", _("Resident")


class Perm:
    """Permission names. Modules add theirs here so that the full list stays in one place."""

    PERSON_VIEW = "person.view"
    PERSON_REVEAL = "person.reveal"  # see full ID number and phone (audited)
    PERSON_EDIT = "person.edit"
    ORGUNIT_VIEW = "orgunit.view"
    AUDIT_VIEW = "audit.view"
    POLICY_EDIT = "policy.edit"
    RESPONSE_LEVEL_SET = "response_level.set"
    USER_ADMIN = "user.admin"
    SIGNING_KEYS_MANAGE = "signing_keys.manage"
    VENUE_VIEW = "venue.view"  # every venue in scope (others see only venues they operate)
    VENUE_APPLY = "venue.apply"
    VENUE_APPROVE = "venue.approve"  # approve, reject, suspend, re-issue codes, mark key places
    CHECKIN_VIEW = "checkin.view"
    CHECKIN_RECORD = "checkin.record"  # check people in on their behalf (door staff, kiosks)
    HEALTHCODE_VIEW = "healthcode.view"  # colours, reasons and history of people in scope
    HEALTHCODE_VERIFY = "healthcode.verify"  # check a personal code at a door
    HEALTHCODE_OVERRIDE = "healthcode.override"  # set a colour by hand, answer appeals
    RISK_AREA_EDIT = "riskarea.edit"
    TESTING_SAMPLE = "testing.sample"  # register tubes and specimens, seal, pack boxes
    TESTING_LAB = "testing.lab"  # receive boxes, report results
    TESTING_VIEW = "testing.view"  # tubes, results and coverage in scope
    CASE_VIEW = "case.view"  # cases, trajectories, contacts and chains in scope
    CASE_EDIT = "case.edit"  # create, classify, merge and trace cases; act on contacts
    QUARANTINE_VIEW = "quarantine.view"  # placements, line lists and sites in scope
    QUARANTINE_MANAGE = "quarantine.manage"  # sites and rooms, placement, transfer, release
    QUARANTINE_MONITOR = "quarantine.monitor"  # enter health reports for people in quarantine
    QUARANTINE_VISIT = "quarantine.visit"  # home quarantine: door seals and visits
    TASK_VIEW = "task.view"  # grid tasks, staffing, patrols and emergencies in scope
    TASK_WORK = "task.work"  # accept and carry out the tasks of one's grid (the phone app)
    TASK_DISPATCH = "task.dispatch"  # create tasks by hand, send instructions, assign emergencies
    GRID_MANAGE = "grid.manage"  # staff grids, sentinel points, patrol routes; reassign and cancel tasks
    COMMAND_VIEW = "command.view"  # the command center: map, situation, alarms, instructions, cameras
    ALARM_HANDLE = "alarm.handle"  # acknowledge, assign and close alarms; start video consultations
    CAMERA_MANAGE = "camera.manage"  # the camera registry
    VACCINATION_VIEW = "vaccination.view"  # doses, bookings, coverage and overdue lists in scope
    VACCINATION_RECORD = "vaccination.record"  # record doses and AEFI, verify self-reports, book for people
    VACCINATION_MANAGE = "vaccination.manage"  # vaccines and batches, sites, slots and closures
    COMPARISON_VIEW = "comparison.view"  # the key-region archive, imported lists and comparison results
    COMPARISON_IMPORT = "comparison.import"  # upload lists, map their columns, correct rejected rows
    COMPARISON_REVIEW = "comparison.review"  # decide uncertain matches (clerical review)
    COMPARISON_RUN = "comparison.run"  # comparison rules: define, run, act on their action lists
    DOSSIER_VIEW = "dossier.view"  # the one-person dossier joining every archive (each opening audited)
    SUPPLIES_VIEW = "supplies.view"  # stock, ledgers, transfers, shortage alerts and the forecast in scope
    SUPPLIES_MOVE = "supplies.move"  # receive, use, request and ship supplies at points in scope; counts
    SUPPLIES_MANAGE = "supplies.manage"  # catalogue, points, levels; approve transfers; adjust, write off
    WASTE_HANDLE = "waste.handle"  # label bags, offer and accept handovers for one's own waste parties
    WASTE_VIEW = "waste.view"  # oversight: ledgers, open bags, alarms, monthly totals, manifests in scope
    WASTE_MANAGE = "waste.manage"  # parties, members, vehicles; handle waste alarms
    PUBLICITY_EDIT = "publicity.edit"  # write announcements and FAQ entries, send them for review
    PUBLICITY_REVIEW = "publicity.review"  # approve (publish), send back or withdraw others' announcements
    HOTLINE_ANSWER = "hotline.answer"  # answer residents' hotline questions
    NOTICE_MONITOR = "notice.monitor"  # delivery states of SMS and email notices in scope


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    perms: frozenset[str] = field(default_factory=frozenset)
    staff: bool = True
    # Where the account lands after login and the navigation it sees (URL names).
    nav: tuple[str, ...] = ()


_STAFF_NAV = ("core:home", "core:person_list", "core:orgunit_map")
_VENUE_NAV = "places:venue_list"  # venue.view or venue.apply
_OCCUPANCY_NAV = "checkins:occupancy"  # checkin.view
_VISITS_NAV = "checkins:visit_list"  # checkin.record and venue.apply (not door scanners)
# Testing pages: the sampler's station (testing.sample), the lab (testing.lab), the archive (testing.view) and a
# resident's own results.
_STATION_NAV = "testing:station"
_LAB_NAV = "testing:lab"
_ARCHIVE_NAV = "testing:archive"
_LOCAL_NAV = (
    *_STAFF_NAV,
    _VENUE_NAV,
    _OCCUPANCY_NAV,
    _VISITS_NAV,
    _ARCHIVE_NAV,
    "vaccination:coverage",
    "comparison:arrivals",
)
# Health code pages: the door check (healthcode.verify), colours in scope (healthcode.view), appeals
# (healthcode.override), risk areas (any staff; riskarea.edit edits) and the colour rules (policy.edit edits).
_VERIFY_NAV = "healthcode:verify"
_CODES_NAV = "healthcode:code_list"
_APPEALS_NAV = "healthcode:appeals"
_RISK_NAV = "healthcode:risk_areas"
_RULES_NAV = "healthcode:rule_sets"
# Investigation pages (case.view): cases and transmission chains.
_CASES_NAV = ("investigation:case_list", "investigation:chains")
# Quarantine pages (quarantine.view): the dashboard and the line lists; managers also sites and placing people.
_QUARANTINE_NAV = ("quarantine:dashboard", "quarantine:line_lists")
# Grid management: the task board and emergencies (task.view; any staff may report an emergency there), the
# phone app (task.work), staffing (grid.manage) and the monthly assessment.
_GRID_NAV = ("grids:board", "grids:emergencies")
_GRID_APP_NAV = "grids:app"
_EMERGENCY_NAV = "grids:emergencies"
# The command center (command.view): one map with layers, live alarms, instructions, cameras.
_COMMAND_NAV = "command:center"
# Vaccination: the vaccinator's desk and self-report review (vaccination.record), coverage and overdue lists
# (vaccination.view), vaccines and sites (vaccination.manage); residents book and see their doses.
_VACC_DESK_NAV = ("vaccination:desk", "vaccination:self_reports")
_COVERAGE_NAV = "vaccination:coverage"
_VACC_MANAGE_NAV = ("vaccination:vaccines", "vaccination:sites")
_VACC_VIEW = frozenset({Perm.VACCINATION_VIEW})
# Information comparison: lists and their review (import/review), the key-region archive (view), comparison
# rules and action lists (run); the one-person dossier.
_COMPARE_NAV = ("comparison:imports", "comparison:review", "comparison:arrivals", "comparison:rules")
_COMPARE_ALL = frozenset(
    {
        Perm.COMPARISON_VIEW,
        Perm.COMPARISON_IMPORT,
        Perm.COMPARISON_REVIEW,
        Perm.COMPARISON_RUN,
        Perm.DOSSIER_VIEW,
    }
)
# Supplies: stock and its alerts (supplies.view), transfers (request/ship/receive), the forecast, the catalogue.
_STOCK_NAV = "supplies:stock"
_SUPPLIES_NAV = (_STOCK_NAV, "supplies:transfers", "supplies:forecast")
_SUPPLIES_USE = frozenset({Perm.SUPPLIES_VIEW, Perm.SUPPLIES_MOVE})
# Medical waste: the handler's phone page (label, offer, accept) and the oversight pages.
_WASTE_APP_NAV = "medwaste:app"
_WASTE_OVERSIGHT_NAV = ("medwaste:open_bags", "medwaste:alarms", "medwaste:ledger", "medwaste:monthly")
_WASTE_NAV = (*_WASTE_OVERSIGHT_NAV, "medwaste:trips")
# Producers of medical waste (sampling points, clinics, quarantine sites) label and hand over their own bags
# and use and request supplies there.
_PRODUCER = _SUPPLIES_USE | {Perm.WASTE_HANDLE}
_PRODUCER_NAV = (_WASTE_APP_NAV, _STOCK_NAV, "supplies:transfers")
_READ_PEOPLE = frozenset({Perm.PERSON_VIEW, Perm.ORGUNIT_VIEW})
_REVEAL = frozenset({Perm.PERSON_REVEAL})
_VENUES = frozenset({Perm.VENUE_VIEW, Perm.CHECKIN_VIEW})
_DOOR = frozenset({Perm.HEALTHCODE_VERIFY})
_CODES = frozenset({Perm.HEALTHCODE_VIEW, Perm.HEALTHCODE_VERIFY})
_LOCAL = (
    _READ_PEOPLE
    | _VENUES
    | _CODES
    | {
        Perm.PERSON_EDIT,
        Perm.VENUE_APPLY,
        Perm.CHECKIN_RECORD,
        Perm.TESTING_VIEW,
        Perm.QUARANTINE_VIEW,
        Perm.QUARANTINE_VISIT,
        Perm.TASK_VIEW,
        Perm.TASK_WORK,
        Perm.VACCINATION_VIEW,
        Perm.COMPARISON_VIEW,
    }
)

ROLE_SPECS: dict[str, RoleSpec] = {
    spec.role.value: spec
    for spec in (
        RoleSpec(
            Role.DISTRICT_ADMIN,
            _READ_PEOPLE
            | _REVEAL
            | _VENUES
            | {
                Perm.PERSON_EDIT,
                Perm.AUDIT_VIEW,
                Perm.POLICY_EDIT,
                Perm.RESPONSE_LEVEL_SET,
                Perm.USER_ADMIN,
                Perm.SIGNING_KEYS_MANAGE,
                Perm.VENUE_APPLY,
                Perm.VENUE_APPROVE,
                Perm.HEALTHCODE_OVERRIDE,
                Perm.RISK_AREA_EDIT,
                Perm.TESTING_VIEW,
                Perm.CASE_VIEW,
                Perm.QUARANTINE_VIEW,
                Perm.QUARANTINE_MANAGE,
                Perm.TASK_VIEW,
                Perm.TASK_DISPATCH,
                Perm.GRID_MANAGE,
                Perm.COMMAND_VIEW,
                Perm.ALARM_HANDLE,
                Perm.CAMERA_MANAGE,
                Perm.VACCINATION_MANAGE,
                Perm.SUPPLIES_VIEW,
                Perm.SUPPLIES_MANAGE,
                Perm.WASTE_VIEW,
                Perm.WASTE_MANAGE,
                Perm.PUBLICITY_REVIEW,
                Perm.NOTICE_MONITOR,
            }
            | _CODES
            | _VACC_VIEW
            | _COMPARE_ALL,
            nav=(
                *_STAFF_NAV,
                _COMMAND_NAV,
                _COVERAGE_NAV,
                *_VACC_MANAGE_NAV,
                *_COMPARE_NAV,
                _VENUE_NAV,
                _OCCUPANCY_NAV,
                _CODES_NAV,
                _APPEALS_NAV,
                _RISK_NAV,
                _RULES_NAV,
                _ARCHIVE_NAV,
                *_CASES_NAV,
                *_QUARANTINE_NAV,
                "quarantine:site_list",
                *_GRID_NAV,
                "grids:assessment",
                *_SUPPLIES_NAV,
                "supplies:catalogue",
                *_WASTE_NAV,
                "medwaste:parties",
                "publicity:review",
                "core:deliveries",
                "core:audit_list",
                "core:policy_list",
            ),
        ),
        RoleSpec(
            Role.COMMANDER,
            _READ_PEOPLE
            | _VENUES
            | _CODES
            | {
                Perm.RESPONSE_LEVEL_SET,
                Perm.RISK_AREA_EDIT,
                Perm.TESTING_VIEW,
                Perm.CASE_VIEW,
                Perm.QUARANTINE_VIEW,
                Perm.TASK_VIEW,
                Perm.TASK_DISPATCH,
                Perm.COMMAND_VIEW,
                Perm.ALARM_HANDLE,
                Perm.CAMERA_MANAGE,
            }
            | _VACC_VIEW
            | {Perm.COMPARISON_VIEW, Perm.COMPARISON_RUN, Perm.DOSSIER_VIEW}
            | {Perm.SUPPLIES_VIEW, Perm.WASTE_VIEW, Perm.PUBLICITY_REVIEW},
            nav=(
                _COMMAND_NAV,
                *_STAFF_NAV,
                _COVERAGE_NAV,
                "comparison:arrivals",
                "comparison:rules",
                _VENUE_NAV,
                _OCCUPANCY_NAV,
                _CODES_NAV,
                _RISK_NAV,
                _RULES_NAV,
                _ARCHIVE_NAV,
                *_CASES_NAV,
                *_QUARANTINE_NAV,
                *_GRID_NAV,
                "grids:assessment",
                *_SUPPLIES_NAV,
                *_WASTE_OVERSIGHT_NAV,
                "publicity:review",
                "core:policy_list",
            ),
        ),
        RoleSpec(
            Role.EPIDEMIOLOGIST,
            _READ_PEOPLE
            | _REVEAL
            | _VENUES
            | _CODES
            | {
                Perm.PERSON_EDIT,
                Perm.HEALTHCODE_OVERRIDE,
                Perm.RISK_AREA_EDIT,
                Perm.TESTING_VIEW,
                Perm.CASE_VIEW,
                Perm.CASE_EDIT,
                Perm.QUARANTINE_VIEW,
                Perm.COMMAND_VIEW,
            }
            | _VACC_VIEW
            | _COMPARE_ALL,
            nav=(
                *_STAFF_NAV,
                _COMMAND_NAV,
                _COVERAGE_NAV,
                *_COMPARE_NAV,
                _VENUE_NAV,
                _OCCUPANCY_NAV,
                _CODES_NAV,
                _APPEALS_NAV,
                _RISK_NAV,
                _ARCHIVE_NAV,
                *_CASES_NAV,
                *_QUARANTINE_NAV,
                _EMERGENCY_NAV,
            ),
        ),
        RoleSpec(
            Role.SAMPLER,
            _READ_PEOPLE | _DOOR | _PRODUCER | {Perm.PERSON_EDIT, Perm.TESTING_SAMPLE},
            nav=(*_STAFF_NAV, _STATION_NAV, "testing:handover", *_PRODUCER_NAV, _VERIFY_NAV, _EMERGENCY_NAV),
        ),
        RoleSpec(
            Role.LAB_TECHNICIAN,
            frozenset({Perm.ORGUNIT_VIEW, Perm.TESTING_LAB}),
            nav=("core:home", _LAB_NAV, "core:orgunit_map"),
        ),
        RoleSpec(
            Role.VACCINATOR,
            _READ_PEOPLE | _DOOR | _VACC_VIEW | _PRODUCER | {Perm.PERSON_EDIT, Perm.VACCINATION_RECORD},
            nav=(*_STAFF_NAV, *_VACC_DESK_NAV, _COVERAGE_NAV, *_PRODUCER_NAV, _VERIFY_NAV, _EMERGENCY_NAV),
        ),
        RoleSpec(
            Role.QUARANTINE_MANAGER,
            _READ_PEOPLE
            | _REVEAL
            | _CODES
            | _PRODUCER
            # case.view: placing a case's contacts means reading the case's contact list.
            | {
                Perm.QUARANTINE_VIEW,
                Perm.QUARANTINE_MANAGE,
                Perm.QUARANTINE_MONITOR,
                Perm.QUARANTINE_VISIT,
                Perm.CASE_VIEW,
            },
            nav=(
                *_STAFF_NAV,
                *_QUARANTINE_NAV,
                "quarantine:site_list",
                "quarantine:place",
                *_PRODUCER_NAV,
                *_CASES_NAV,
                _CODES_NAV,
                _VERIFY_NAV,
                _EMERGENCY_NAV,
            ),
        ),
        RoleSpec(
            Role.GRID_LEADER,
            _LOCAL | {Perm.GRID_MANAGE},
            nav=(
                *_LOCAL_NAV,
                _CODES_NAV,
                _VERIFY_NAV,
                *_QUARANTINE_NAV,
                _GRID_APP_NAV,
                *_GRID_NAV,
                "grids:staffing",
            ),
        ),
        RoleSpec(
            Role.GRID_WORKER,
            _LOCAL,
            nav=(*_LOCAL_NAV, _CODES_NAV, _VERIFY_NAV, *_QUARANTINE_NAV, _GRID_APP_NAV, *_GRID_NAV),
        ),
        RoleSpec(
            Role.COMMUNITY_OFFICER,
            _LOCAL
            | _REVEAL
            | {
                Perm.VENUE_APPROVE,
                Perm.HEALTHCODE_OVERRIDE,
                Perm.GRID_MANAGE,
                Perm.TASK_DISPATCH,
                Perm.COMMAND_VIEW,
                Perm.ALARM_HANDLE,
                Perm.WASTE_VIEW,
            }
            | _SUPPLIES_USE
            | _COMPARE_ALL,
            nav=(
                *_LOCAL_NAV,  # holds the key-region archive
                _COMMAND_NAV,
                "comparison:imports",
                "comparison:review",
                "comparison:rules",
                _CODES_NAV,
                _APPEALS_NAV,
                _VERIFY_NAV,
                *_QUARANTINE_NAV,
                *_GRID_NAV,
                "grids:staffing",
                *_SUPPLIES_NAV,
                *_WASTE_OVERSIGHT_NAV,
                "portal:corrections",
            ),
        ),
        RoleSpec(
            Role.SUPPLIES_OFFICER,
            frozenset({Perm.ORGUNIT_VIEW, Perm.SUPPLIES_MANAGE}) | _SUPPLIES_USE,
            nav=("core:home", *_SUPPLIES_NAV, "supplies:catalogue", "core:orgunit_map"),
        ),
        # The authorities' officer (health and environment bureaus): oversight, parties, alarm handling.
        RoleSpec(
            Role.WASTE_OFFICER,
            frozenset({Perm.ORGUNIT_VIEW, Perm.WASTE_VIEW, Perm.WASTE_MANAGE}),
            nav=("core:home", *_WASTE_NAV, "medwaste:parties", "core:orgunit_map"),
        ),
        # Storage keepers of medical institutions, drivers and plant operators of the disposal company: they act
        # for the waste parties they are members of (medwaste.services), and see the trips' manifests.
        RoleSpec(
            Role.WASTE_HANDLER,
            frozenset({Perm.WASTE_HANDLE}),
            nav=("core:home", _WASTE_APP_NAV, "medwaste:trips"),
        ),
        RoleSpec(
            Role.PUBLICITY_EDITOR,
            frozenset({Perm.ORGUNIT_VIEW, Perm.PUBLICITY_EDIT, Perm.PUBLICITY_REVIEW, Perm.HOTLINE_ANSWER}),
            nav=(
                "core:home",
                "publicity:manage",
                "publicity:review",
                "publicity:faq",
                "publicity:tickets",
                "announcements:list",
            ),
        ),
        # Operators see and manage only the venues they run (places.selectors), wherever their org unit is.
        RoleSpec(
            Role.VENUE_OPERATOR,
            frozenset({Perm.VENUE_APPLY, Perm.CHECKIN_RECORD}) | _DOOR,
            nav=("core:home", _VENUE_NAV, _VISITS_NAV, _VERIFY_NAV),
        ),
        # A door scanner's account: checks people in at its one venue (checkins.services), nothing else.
        RoleSpec(Role.VENUE_KIOSK, frozenset({Perm.CHECKIN_RECORD}) | _DOOR, nav=("core:home", _VERIFY_NAV)),
        RoleSpec(
            Role.RESIDENT,
            frozenset(),
            staff=False,
            nav=(
                "portal:home",
                "healthcode:my_code",
                "testing:my_results",
                "vaccination:my",
                "portal:checkins",
                "portal:household",
                "announcements:list",
                "announcements:ask",
                "portal:data",
                "core:my_record",
            ),
        ),
    )
}


def spec_for(role: str) -> RoleSpec:
    return ROLE_SPECS[role]


def has_perm(user: object, perm: str) -> bool:
    """True when ``user`` is an active account whose role grants ``perm``."""
    role = getattr(user, "role", None)
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False) or role is None:
        return False
    spec = ROLE_SPECS.get(role)
    return spec is not None and perm in spec.perms


def is_staff_role(role: str) -> bool:
    return ROLE_SPECS[role].staff
