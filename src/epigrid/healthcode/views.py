"""Health-code pages: a resident's own code, the door check, colours of people in scope, overrides and
appeals, risk areas and the colour rules.

Reads go through ``healthcode.selectors`` (and ``core.selectors`` for people), writes through
``healthcode.services``. A service's ``Forbidden`` becomes the 403 page, any other ``DomainError`` a message
on the page; people and records out of scope answer 404.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.forms import Form, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.core import selectors as core_selectors
from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import is_htmx, paginate, query_without_page, render_page, staff_page
from epigrid.core.masking import mask_name
from epigrid.core.models import Person, ResponseLevel, User
from epigrid.core.roles import Perm, has_perm
from epigrid.healthcode import codes, engine, rules, selectors, services
from epigrid.healthcode.forms import (
    AppealDecideForm,
    AppealForm,
    CodeFilterForm,
    OverrideForm,
    RiskAreaEndForm,
    RiskAreaForm,
    RiskAreaImportForm,
    RuleSetForm,
    TravelForm,
    VerifyForm,
    local_input_value,
)
from epigrid.healthcode.models import AppealStatus, Colour, RiskArea

QR_REFRESH_SECONDS = 50
PREVIEW_ROWS = 500


def _forbidden(err: Forbidden) -> PermissionDenied:
    return PermissionDenied(err.message)


def _form_error(form: Form, err: DomainError) -> None:
    form.add_error(err.field if err.field in form.fields else None, err.message)


def _qr_svg(text: str) -> str:
    # segno draws the SVG from the signed token itself; no user-controlled markup reaches it.
    return segno.make(text, error="m").svg_inline(scale=4, border=4, title="")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _colour_counts(qs: Any) -> dict[str, int]:
    counts = {colour: 0 for colour in Colour.values}
    for row in qs.order_by().values("colour").annotate(n=Count("pk")):
        counts[row["colour"]] = row["n"]
    return counts


# --- the resident's own code ------------------------------------------------------------------------


def _own_person(user: User) -> Person:
    """The resident's own Person; accounts without one may not open the resident pages."""
    if not user.person_id:
        raise PermissionDenied(_("This page is for residents with a registered person."))
    try:
        return core_selectors.person_get(actor=user, pk=user.person_id)
    except Http404:
        raise PermissionDenied(_("This page is for residents with a registered person.")) from None


def _qr_context(person: Person) -> dict[str, Any]:
    token, expires = codes.personal_code(person)
    return {
        "qr_token": token,
        "qr_svg": _qr_svg(token),
        "qr_expires": expires,
        "qr_seconds": max(0, expires - int(time.time())),
        "qr_refresh": QR_REFRESH_SECONDS,
    }


def _my_code_context(request: HttpRequest, person: Person, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    appeals = selectors.appeal_list(actor=user)
    context = {
        "person": person,
        "code": selectors.health_code_of(person_id=person.pk),
        "open_appeal": appeals.filter(status=AppealStatus.OPEN).first(),
        "last_appeal": appeals.exclude(status=AppealStatus.OPEN).first(),
        "risk_areas": selectors.risk_areas_current().select_related("org_unit"),
        "travel_form": TravelForm(
            initial={"client_id": uuid.uuid4(), "arrived_at": local_input_value(timezone.now())}
        ),
        "appeal_form": AppealForm(),
        **_qr_context(person),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def my_code(request: HttpRequest) -> HttpResponse:
    person = _own_person(request.user)
    if is_htmx(request) and request.GET.get("part") == "qr":
        response = render_page(request, "healthcode/my_code.html", _qr_context(person), partial="qr")
        response["Cache-Control"] = "no-store"
        return response
    response = render_page(request, "healthcode/my_code.html", _my_code_context(request, person))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def my_travel(request: HttpRequest) -> HttpResponse:
    person = _own_person(request.user)
    form = TravelForm(request.POST)
    if form.is_valid():
        try:
            services.travel_declare(
                actor=request.user,
                from_region_code=form.cleaned_data["from_region_code"],
                from_place=form.cleaned_data["from_place"],
                arrived_at=_aware(form.cleaned_data["arrived_at"]),
                client_id=form.cleaned_data["client_id"],
            )
        except Forbidden as err:
            raise _forbidden(err) from None
        except DomainError as err:
            _form_error(form, err)
        else:
            messages.success(request, _("Your travel is declared; your colour is up to date."))
            return redirect("healthcode:my_code")
    context = _my_code_context(request, person, travel_form=form)
    return render_page(request, "healthcode/my_code.html", context, status=400)


@login_required
@require_POST
def my_appeal(request: HttpRequest) -> HttpResponse:
    person = _own_person(request.user)
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            services.appeal_submit(actor=request.user, note=form.cleaned_data["note"])
        except Forbidden as err:
            raise _forbidden(err) from None
        except DomainError as err:
            _form_error(form, err)
        else:
            messages.success(request, _("Your appeal is submitted; staff will review it."))
            return redirect("healthcode:my_code")
    context = _my_code_context(request, person, appeal_form=form)
    return render_page(request, "healthcode/my_code.html", context, status=400)


# --- the door ---------------------------------------------------------------------------------------


@staff_page(Perm.HEALTHCODE_VERIFY)
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    result = None
    if request.method == "POST":
        # The verifier judges any text (garbled, too long...) and says why; no form validation first.
        result = codes.verify_personal_code(request.POST.get("qr", ""))
    context = {"form": VerifyForm(), "result": result, "checked_at": timezone.now()}
    response = render_page(request, "healthcode/verify.html", context, partial="result")
    response["Cache-Control"] = "no-store"
    return response


# --- colours of people in scope ---------------------------------------------------------------------


@staff_page(Perm.HEALTHCODE_VIEW)
@require_GET
def code_list(request: HttpRequest) -> HttpResponse:
    form = CodeFilterForm(request.GET or None)
    colour = form.cleaned_data["colour"] if form.is_bound and form.is_valid() else ""
    codes_qs = selectors.health_code_list(actor=request.user, colour=colour)
    context = {
        "form": form,
        "colour": colour,
        "counts": _colour_counts(selectors.health_code_list(actor=request.user)),
        "page": paginate(request, codes_qs),
        "query": query_without_page(request),
    }
    return render_page(request, "healthcode/code_list.html", context, partial="results")


def _person_code_context(request: HttpRequest, person_id: int, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    code = selectors.health_code_list(actor=user).filter(person_id=person_id).first()
    person = code.person if code is not None else core_selectors.person_get(actor=user, pk=person_id)
    can_override = has_perm(user, Perm.HEALTHCODE_OVERRIDE)
    context = {
        "person": person,
        "code": code,
        "facts": selectors.person_facts_get(actor=user, person_id=person.pk),
        "history": selectors.change_history(actor=user, person_id=person.pk)[:50],
        "overrides": selectors.override_list(actor=user).filter(person_id=person.pk),
        "appeals": selectors.appeal_list(actor=user).filter(person_id=person.pk)[:10],
        "can_override": can_override,
        "override_form": OverrideForm() if can_override else None,
    }
    context.update(extra)
    return context


@staff_page(Perm.HEALTHCODE_VIEW)
@require_GET
def person_code(request: HttpRequest, person_id: int) -> HttpResponse:
    return render_page(request, "healthcode/person_code.html", _person_code_context(request, person_id))


@staff_page(Perm.HEALTHCODE_OVERRIDE)
@require_POST
def override_create(request: HttpRequest, person_id: int) -> HttpResponse:
    person = core_selectors.person_get(actor=request.user, pk=person_id)
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            services.override_create(
                actor=request.user,
                person=person,
                colour=form.cleaned_data["colour"],
                reason=form.cleaned_data["reason"],
                expires_at=_aware(form.cleaned_data["expires_at"]),
            )
        except Forbidden as err:
            raise _forbidden(err) from None
        except DomainError as err:
            _form_error(form, err)
        else:
            messages.success(request, _("The colour is set by hand until the override expires."))
            return redirect("healthcode:person_code", person_id=person.pk)
    context = _person_code_context(request, person.pk, override_form=form)
    return render_page(request, "healthcode/person_code.html", context, status=400)


@staff_page(Perm.HEALTHCODE_OVERRIDE)
@require_POST
def override_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    override = selectors.override_list(actor=request.user).filter(pk=pk).first()
    if override is None:
        raise Http404
    try:
        services.override_revoke(actor=request.user, override=override)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("The override is revoked; the rules decide the colour again."))
    return redirect("healthcode:person_code", person_id=override.person_id)


# --- appeals ----------------------------------------------------------------------------------------


@staff_page(Perm.HEALTHCODE_OVERRIDE)
@require_GET
def appeals(request: HttpRequest) -> HttpResponse:
    open_appeals = selectors.appeal_list(actor=request.user, status=AppealStatus.OPEN)
    context = {
        "page": paginate(request, open_appeals),
        "query": query_without_page(request),
        "decided": selectors.appeal_list(actor=request.user).exclude(status=AppealStatus.OPEN)[:20],
        "decide_form": AppealDecideForm(),
    }
    return render_page(request, "healthcode/appeals.html", context)


@staff_page(Perm.HEALTHCODE_OVERRIDE)
@require_POST
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = selectors.appeal_get(actor=request.user, pk=pk)
    form = AppealDecideForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.appeal_decide(
                actor=request.user,
                appeal=appeal,
                uphold=data["decision"] == "change",
                note=data["note"],
                colour=data["colour"] or Colour.GREEN,
                expires_at=_aware(data["expires_at"]),
            )
        except Forbidden as err:
            raise _forbidden(err) from None
        except DomainError as err:
            error = err.message
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if error:
        messages.error(
            request, _("Appeal of %(name)s: %(error)s") % {"name": appeal.person.name_masked, "error": error}
        )
    else:
        messages.success(
            request, _("The appeal of %(name)s is answered.") % {"name": appeal.person.name_masked}
        )
    return redirect("healthcode:appeals")


# --- risk areas -------------------------------------------------------------------------------------


def _map_config() -> dict[str, Any]:
    return {
        "center": list(settings.MAP_CENTER),
        "tileUrl": getattr(settings, "MAP_TILE_URL", ""),
        "tileAttribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


def _risk_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    can_edit = has_perm(user, Perm.RISK_AREA_EDIT)
    context = {
        "current": selectors.risk_areas_current().select_related("org_unit"),
        "upcoming": selectors.risk_areas_upcoming().select_related("org_unit"),
        "ended": selectors.risk_areas_ended(limit=50),
        "can_edit": can_edit,
        "area_form": RiskAreaForm(initial={"kind": "region"}) if can_edit else None,
        "import_form": RiskAreaImportForm() if can_edit else None,
        "import_result": None,
        "map_config": _map_config(),
        "grids": core_selectors.orgunit_geojson(actor=user) if can_edit else {},
    }
    context.update(extra)
    return context


@staff_page()
@require_GET
def risk_areas(request: HttpRequest) -> HttpResponse:
    return render_page(request, "healthcode/risk_areas.html", _risk_context(request))


@staff_page(Perm.RISK_AREA_EDIT)
@require_POST
def risk_area_designate(request: HttpRequest) -> HttpResponse:
    form = RiskAreaForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            area = services.risk_area_designate(
                actor=request.user,
                data=services.RiskAreaInput(
                    name=data["name"],
                    level=data["level"],
                    kind=data["kind"],
                    org_unit_code=data["org_unit_code"].strip(),
                    polygon=data["polygon"],
                    region_code=data["region_code"].strip(),
                    effective_from=_aware(data["effective_from"]),
                ),
            )
        except Forbidden as err:
            raise _forbidden(err) from None
        except DomainError as err:
            _form_error(form, err)
        else:
            messages.success(request, _("%(name)s is designated a risk area.") % {"name": area.name})
            return redirect("healthcode:risk_areas")
    return render_page(
        request, "healthcode/risk_areas.html", _risk_context(request, area_form=form), status=400
    )


def _area_for_edit(request: HttpRequest, pk: int) -> RiskArea:
    return selectors.risk_area_get(actor=request.user, pk=pk)


@staff_page(Perm.RISK_AREA_EDIT)
@require_POST
def risk_area_end(request: HttpRequest, pk: int) -> HttpResponse:
    area = _area_for_edit(request, pk)
    form = RiskAreaEndForm(request.POST)
    form.is_valid()
    try:
        services.risk_area_end(actor=request.user, area=area, reason=form.cleaned_data.get("reason", ""))
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("%(name)s has ended.") % {"name": area.name})
    return redirect("healthcode:risk_areas")


@staff_page(Perm.RISK_AREA_EDIT)
@require_POST
def risk_area_new_case(request: HttpRequest, pk: int) -> HttpResponse:
    area = _area_for_edit(request, pk)
    try:
        services.risk_area_new_case(actor=request.user, area=area)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(
            request,
            _("A new case in %(name)s is recorded; its downgrade clock restarts.") % {"name": area.name},
        )
    return redirect("healthcode:risk_areas")


@staff_page(Perm.RISK_AREA_EDIT)
@require_POST
def risk_area_import(request: HttpRequest) -> HttpResponse:
    form = RiskAreaImportForm(request.POST, request.FILES)
    result = None
    status = 400
    if form.is_valid():
        try:
            rows = form.rows()
        except ValidationError as err:
            form.add_error("file", err)
        else:
            try:
                result = services.risk_area_import(actor=request.user, rows=rows)
            except Forbidden as err:
                raise _forbidden(err) from None
            except DomainError as err:
                form.add_error(None, err.message)
            else:
                status = 200
                form = RiskAreaImportForm()
    context = _risk_context(request, import_form=form, import_result=result)
    return render_page(request, "healthcode/risk_areas.html", context, status=status)


# --- colour rules -----------------------------------------------------------------------------------


def _fact(name: str) -> str:
    # gettext at call time, so that the request's language applies
    labels = {
        "infection": _("infection"),
        "infection_at": _("infection date"),
        "recovered_at": _("recovery date"),
        "contact_tier": _("contact tier"),
        "contact_at": _("contact date"),
        "contact_cleared_at": _("contact cleared"),
        "quarantine_until": _("quarantine end"),
        "arrival_level": _("risk level of the arrival's origin"),
        "arrival_at": _("arrival"),
        "visit_level": _("risk level of a visited place"),
        "visit_at": _("visit"),
        "last_test_at": _("latest test"),
        "last_test_result": _("latest test result"),
        "fever_at": _("fever reported"),
        "vaccine_doses": _("vaccine doses"),
        "declaration_due": _("declaration due"),
    }
    return labels.get(name, name)


def describe_condition(cond: dict) -> str:
    """One condition of a rule in words."""
    fact = _fact(cond.get("fact", ""))
    if "in" in cond:
        return _("%(fact)s is %(values)s") % {"fact": fact, "values": _(" or ").join(map(str, cond["in"]))}
    if "is" in cond:
        return (_("%(fact)s") if cond["is"] else _("not %(fact)s")) % {"fact": fact}
    if "is_set" in cond:
        return (_("%(fact)s is recorded") if cond["is_set"] else _("%(fact)s is not recorded")) % {
            "fact": fact
        }
    if "at_least" in cond:
        return _("%(fact)s at least %(n)s") % {"fact": fact, "n": cond["at_least"]}
    if "within_days" in cond:
        return _("%(fact)s within the last %(n)s days") % {"fact": fact, "n": cond["within_days"]}
    if "after_now" in cond:
        return (
            _("%(fact)s is still ahead") if cond["after_now"] else _("%(fact)s has passed or is unset")
        ) % {"fact": fact}
    if "older_than_hours" in cond:
        return _("%(fact)s missing or older than %(n)s hours") % {"fact": fact, "n": cond["older_than_hours"]}
    if "after_fact" in cond:
        return _("%(fact)s later than %(other)s (or no %(other)s)") % {
            "fact": fact,
            "other": _fact(cond["after_fact"]),
        }
    return json.dumps(cond, ensure_ascii=False)


def _readable(rule_list: Any) -> list[dict[str, Any]]:
    if not isinstance(rule_list, list):
        return []
    return [
        {
            "id": rule.get("id", ""),
            "colour": rule.get("colour", ""),
            "reason": rule.get("reason", ""),
            "to_green": rule.get("to_green", ""),
            "conditions": [describe_condition(c) for c in rule.get("when", []) if isinstance(c, dict)],
        }
        for rule in rule_list
        if isinstance(rule, dict)
    ]


def _preview(request: HttpRequest, rule_list: list[dict]) -> dict[str, Any]:
    """``engine.preview`` with masked names of the people in the actor's scope, and counts."""
    rows = engine.preview(rule_list)
    transitions = Counter((row.from_colour, row.to_colour) for row in rows)
    shown = rows[:PREVIEW_ROWS]
    people = core_selectors.person_list(actor=request.user).filter(pk__in=[r.person_id for r in shown])
    masked = {pk: mask_name(name) for pk, name in people.values_list("pk", "name")}
    return {
        "total": len(rows),
        "transitions": sorted(transitions.items()),
        "rows": [
            {
                "person_id": r.person_id,
                "name": masked.get(r.person_id, "—"),
                "row": r,
                "visible": r.person_id in masked,
            }
            for r in shown
        ],
        "truncated": len(rows) > len(shown),
    }


def _rule_set_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user: User = request.user
    can_edit = has_perm(user, Perm.POLICY_EDIT)
    sets = list(selectors.rule_sets())
    active = engine.active_rule_set()
    policies = [(p.pk, f"{p.disease.code} · {p.version}") for p in core_selectors.policy_list()]
    form = None
    if can_edit:
        covid = next(
            (p for p in core_selectors.policy_list() if p.is_active and p.disease.code == "covid19"), None
        )
        form = RuleSetForm(
            policies=policies,
            initial={
                "name": "",
                "policy": covid.pk if covid else None,
                "response_levels": list(active.response_levels) if active else ["normal"],
                "rules": json.dumps(active.rules if active else [], ensure_ascii=False, indent=2),
            },
        )
    context = {
        "sets": [{"set": s, "readable": _readable(s.rules)} for s in sets],
        "active": active,
        "level": ResponseLevel(core_selectors.response_level_current()),
        "can_edit": can_edit,
        "form": form,
        "preview": None,
        "preview_of": None,
        "recompute": None,
    }
    context.update(extra)
    return context


@staff_page(any_of=(Perm.POLICY_EDIT, Perm.HEALTHCODE_VIEW))
@require_GET
def rule_sets(request: HttpRequest) -> HttpResponse:
    return render_page(request, "healthcode/rule_sets.html", _rule_set_context(request))


@staff_page(Perm.POLICY_EDIT)
@require_POST
def rule_set_create(request: HttpRequest) -> HttpResponse:
    policies = [(p.pk, f"{p.disease.code} · {p.version}") for p in core_selectors.policy_list()]
    form = RuleSetForm(request.POST, policies=policies)
    action = request.POST.get("action", "create")
    valid = form.is_valid()
    if action == "preview":
        # Preview needs only the rules; the other fields may still be empty.
        rule_list = form.cleaned_data.get("rules")
        if "rules" not in form.errors:
            try:
                rules.validate(rule_list)
            except rules.RuleError as err:
                form.add_error("rules", str(err))
            else:
                context = _rule_set_context(
                    request,
                    form=RuleSetForm(request.POST, policies=policies),
                    preview=_preview(request, rule_list),
                )
                context["preview_of"] = _("the rules in the form")
                return render_page(request, "healthcode/rule_sets.html", context)
        return render_page(
            request, "healthcode/rule_sets.html", _rule_set_context(request, form=form), status=400
        )
    if valid:
        data = form.cleaned_data
        policy = next((p for p in core_selectors.policy_list() if p.pk == data["policy"]), None)
        if policy is None:
            form.add_error("policy", _("Choose a policy version."))
        else:
            try:
                made = services.rule_set_create(
                    actor=request.user,
                    policy=policy,
                    name=data["name"],
                    response_levels=data["response_levels"],
                    rules_json=data["rules"],
                )
            except Forbidden as err:
                raise _forbidden(err) from None
            except DomainError as err:
                _form_error(form, err)
            else:
                messages.success(
                    request,
                    _("Rule set %(name)s is created; preview it, then activate it.") % {"name": made.name},
                )
                return redirect(f"{redirect('healthcode:rule_sets').url}#set-{made.pk}")
    return render_page(
        request, "healthcode/rule_sets.html", _rule_set_context(request, form=form), status=400
    )


@staff_page(Perm.POLICY_EDIT)
@require_POST
def rule_set_preview(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = selectors.rule_set_get(pk=pk)
    context = _rule_set_context(request, preview=_preview(request, rule_set.rules), preview_set=rule_set)
    context["preview_of"] = rule_set.name
    return render_page(request, "healthcode/rule_sets.html", context)


@staff_page(Perm.POLICY_EDIT)
@require_POST
def rule_set_activate(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = selectors.rule_set_get(pk=pk)
    try:
        result = services.rule_set_activate(actor=request.user, rule_set=rule_set)
    except Forbidden as err:
        raise _forbidden(err) from None
    except DomainError as err:
        messages.error(request, err.message)
        return redirect("healthcode:rule_sets")
    context = _rule_set_context(request, recompute=result, activated=rule_set)
    return render_page(request, "healthcode/rule_sets.html", context)
