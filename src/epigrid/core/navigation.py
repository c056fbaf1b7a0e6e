"""Labels and one-line descriptions of the pages in the navigation (``roles.RoleSpec.nav`` names), in one
place. A name not listed shows as itself, so that a new page is visible at once (and this table is the place
to name it)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

NAV: dict[str, tuple[Promise, Promise | str]] = {
    "core:home": (_("Home"), _("Your start page.")),
    "core:person_list": (_("People"), _("Find people in your area; personal data is masked.")),
    "core:orgunit_map": (_("Map"), _("Streets, communities and grids of your area on a map.")),
    "core:audit_list": (_("Audit log"), _("Who did what, in a tamper-evident log.")),
    "core:policy_list": (_("Policies"), _("Disease profiles, policy versions and the response level.")),
    "core:my_record": (_("My record"), _("Your own record as the office sees it.")),
    "core:security": (_("Security"), _("Two-step login for your account.")),
    "places:venue_list": (
        _("Venues"),
        _("Venues with check-in codes: applications, approval, posters, scanners."),
    ),
    "checkins:occupancy": (
        _("Occupancy"),
        _("How many people are in each venue now; key places and over-capacity venues."),
    ),
    "checkins:visit_list": (_("Visitors"), _("Invite visitors and record their arrival and departure.")),
    "healthcode:my_code": (
        _("My health code"),
        _("Your health code: colour, reason and the QR code for doors."),
    ),
    "healthcode:verify": (_("Verify codes"), _("Check a personal health code at a door.")),
    "healthcode:code_list": (_("Health codes"), _("Health-code colours of the people in your area.")),
    "healthcode:appeals": (_("Appeals"), _("Residents who dispute their colour.")),
    "healthcode:risk_areas": (
        _("Risk areas"),
        _("High- and medium-risk areas, their designation and import."),
    ),
    "healthcode:rule_sets": (
        _("Colour rules"),
        _("Colour rules per policy version, preview and activation."),
    ),
    "testing:station": (
        _("Sampling"),
        _("Open pooled tubes and add people by ID card, health code or typing."),
    ),
    "testing:handover": (_("Box handover"), _("Pack sealed tubes into boxes and print the handover sheet.")),
    "testing:lab": (_("Lab"), _("Receive boxes of tubes and enter or upload results.")),
    "testing:archive": (
        _("Testing"),
        _("Testing rounds, coverage, turnaround, recalls and pool-size advice."),
    ),
    "testing:my_results": (_("My tests"), _("Your nucleic-acid test results and any re-test notice.")),
    "investigation:case_list": (
        _("Cases"),
        _("Cases in your area: facts, trajectories, contacts and reports."),
    ),
    "investigation:chains": (
        _("Transmission chains"),
        _("Chains of linked cases, their graph and the epidemic curve."),
    ),
    "grids:app": (
        _("Grid app"),
        _("Today's tasks on your phone: map, forms, photos; works offline and syncs later."),
    ),
    "grids:board": (
        _("Grid tasks"),
        _("Tasks of the grids: overdue and escalated ones, assigning, cancelling, dispatching."),
    ),
    "grids:staffing": (
        _("Grid staffing"),
        _("Leaders, workers and assistants per grid; grids missing a role; duty lists."),
    ),
    "grids:emergencies": (_("Emergencies"), _("Report an emergency; follow it to closure.")),
    "grids:assessment": (
        _("Assessment"),
        _("Tasks done, on time and overdue per worker and grid for a month; ranking and Excel."),
    ),
    "quarantine:dashboard": (_("Quarantine"), _("Sites, rooms and people in quarantine at a glance.")),
    "quarantine:line_lists": (
        _("Line lists"),
        _("Who has a fever, who has not reported, who is due for a test or for release."),
    ),
    "quarantine:site_list": (_("Sites and rooms"), _("Centralised quarantine sites and their room board.")),
    "quarantine:place": (_("Place people"), _("Place contacts in quarantine, one by one or from a case.")),
    "vaccination:desk": (
        _("Vaccination desk"),
        _("Find the person by ID card or booking code, check eligibility, record the dose."),
    ),
    "vaccination:self_reports": (
        _("Reported doses"),
        _("Doses residents received elsewhere: verify or reject with a reason."),
    ),
    "vaccination:coverage": (
        _("Vaccination coverage"),
        _("Coverage by grid and age band, overdue lists and follow-up tasks."),
    ),
    "vaccination:vaccines": (_("Vaccines"), _("Products, schedules, age limits and batches.")),
    "vaccination:sites": (_("Vaccination sites"), _("Opening hours, slots and closed days.")),
    "vaccination:my": (
        _("My vaccinations"),
        _("Your doses, book or change an appointment, report a dose received elsewhere."),
    ),
    "comparison:imports": (
        _("Lists"),
        _("Upload lists of arrivals, map their columns, see each row's outcome, correct rejected rows."),
    ),
    "comparison:review": (_("Match review"), _("Decide the uncertain matches between list rows and people.")),
    "comparison:arrivals": (
        _("Key-region arrivals"),
        _("People who arrived from elsewhere, their risk-area history and the actions still due."),
    ),
    "comparison:rules": (
        _("Comparisons"),
        _("Compare arrivals with tests, screening, vaccination and check-ins; act on the lists."),
    ),
    "supplies:stock": (
        _("Supplies"),
        _("Stock on hand per point and batch, shortages, expiring batches; receive, use, count."),
    ),
    "supplies:transfers": (
        _("Supply transfers"),
        _("Request supplies, approve, ship and receive them with the quantities checked."),
    ),
    "supplies:forecast": (
        _("Supply forecast"),
        _("Days of cover at the current rate and the needs of coming testing rounds and quarantine."),
    ),
    "supplies:catalogue": (_("Supply catalogue"), _("Items, holding points and their minimum levels.")),
    "medwaste:app": (
        _("Medical waste"),
        _("Label a bag or box, hand waste over and accept it, on your phone."),
    ),
    "medwaste:open_bags": (_("Open waste bags"), _("Bags not yet incinerated, by age and where they are.")),
    "medwaste:alarms": (
        _("Waste alarms"),
        _("Storage beyond the limit, weight differences, missing steps, overdue collections."),
    ),
    "medwaste:ledger": (_("Waste ledger"), _("The chain of custody of every bag, per institution.")),
    "medwaste:monthly": (_("Waste totals"), _("Monthly weights by category and party; Excel export.")),
    "medwaste:trips": (_("Transfer manifests"), _("Collection trips and their manifests (PDF).")),
    "medwaste:parties": (
        _("Waste parties"),
        _("Authorities, institutions, producers, the disposal company, vehicles and members."),
    ),
    "publicity:manage": (
        _("Announcements"),
        _("Write announcements and policies, schedule them, send them for review; versions."),
    ),
    "publicity:review": (_("Review"), _("Announcements waiting for review: publish or send back.")),
    "publicity:faq": (_("FAQ"), _("Questions and answers residents find in the policy search.")),
    "publicity:tickets": (_("Hotline"), _("Residents' questions to the hotline; answers go to their inbox.")),
    "announcements:list": (_("Announcements"), _("Today's announcements, policies and notices.")),
    "announcements:ask": (_("Ask about a policy"), _("Search the policies and FAQ, or ask the hotline.")),
    "portal:home": (_("My services"), _("Your health code, tests, vaccinations, notices and data.")),
    "portal:checkins": (_("My check-ins"), _("The places you checked in at, kept for the retention period.")),
    "portal:household": (_("My household"), _("The members of your household.")),
    "portal:data": (_("My data"), _("Download what the platform holds about you; ask for a correction.")),
    "portal:corrections": (
        _("Correction requests"),
        _("Residents asking to correct their data: decide and answer."),
    ),
    "core:deliveries": (_("Message delivery"), _("SMS and email notices: sent, failed, not sent.")),
    "command:center": (
        _("Command center"),
        _("The whole area on one map: live alarms, situation, instructions to grids, cameras."),
    ),
}


def nav_label(name: str) -> str:
    entry = NAV.get(name)
    return str(entry[0]) if entry else name


def nav_description(name: str) -> str:
    entry = NAV.get(name)
    return str(entry[1]) if entry else ""
