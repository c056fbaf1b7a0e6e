"""Forms of the investigation pages. They validate input only; writes go through ``investigation.services``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.investigation.models import Classification, InvestigationStatus, Outcome

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_SELECTED = 5000


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _datetime_field(label: Any, **kwargs: Any) -> forms.DateTimeField:
    # Django reads the value in the active time zone (Asia/Shanghai unless configured otherwise).
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=DateTimeLocalInput(),
        **kwargs,
    )


def _date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}), **kwargs)


def to_minute(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as the form shows it (whole minutes), so an unchanged field is recognised as unchanged."""
    return value.replace(second=0, microsecond=0) if value is not None else None


class CaseFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name or case number"), "autocomplete": "off"}
        ),
    )
    classification = forms.ChoiceField(
        label=_("Classification"), required=False, choices=[("", _("All")), *Classification.choices]
    )
    status = forms.ChoiceField(
        label=_("Investigation status"),
        required=False,
        choices=[("", _("All")), *InvestigationStatus.choices],
    )


class CaseCreateForm(forms.Form):
    """A case entered by hand; ``person`` is one of the people the picker offered (checked again in scope)."""

    person = forms.IntegerField(label=_("Person"), widget=forms.HiddenInput, min_value=1)
    classification = forms.ChoiceField(
        label=_("Classification"), choices=Classification.choices, initial=Classification.CONFIRMED
    )
    onset_date = _date_field(_("Symptom onset"), required=False)
    first_positive_at = _datetime_field(_("First positive sampling"), required=False)
    isolated_at = _datetime_field(_("Isolated at"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CaseUpdateForm(forms.Form):
    classification = forms.ChoiceField(label=_("Classification"), choices=Classification.choices)
    onset_date = _date_field(_("Symptom onset"), required=False)
    first_positive_at = _datetime_field(_("First positive sampling"), required=False)
    isolated_at = _datetime_field(_("Isolated at"), required=False)
    outcome = forms.ChoiceField(label=_("Clinical outcome"), choices=Outcome.choices)
    status = forms.ChoiceField(
        label=_("Investigation status"),
        choices=[c for c in InvestigationStatus.choices if c[0] != InvestigationStatus.MERGED],
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    take_over = forms.BooleanField(label=_("I am the investigator of this case"), required=False)

    @classmethod
    def for_case(cls, case: Any) -> CaseUpdateForm:
        return cls(
            initial={
                "classification": case.classification,
                "onset_date": case.onset_date,
                "first_positive_at": _local(case.first_positive_at),
                "isolated_at": _local(case.isolated_at),
                "outcome": case.outcome,
                "status": case.status,
                "notes": case.notes,
            }
        )

    def changes(self, case: Any) -> dict[str, Any]:
        """Only the fields that differ from the case: an untouched time must not re-trace the case."""
        data = self.cleaned_data
        changed = {}
        for name in ("classification", "onset_date", "outcome", "status", "notes"):
            if data[name] != getattr(case, name):
                changed[name] = data[name]
        for name in ("first_positive_at", "isolated_at"):
            if to_minute(data[name]) != to_minute(getattr(case, name)):
                changed[name] = data[name]
        return changed


def _local(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).strftime(DATETIME_LOCAL) if value is not None else None


class TrajectoryForm(forms.Form):
    """A place named in the interview: a venue from the picker, or a place described in words."""

    # Any venue id is accepted here (the view looks it up in scope): the live search offers venues that were not
    # among the choices this form was built with.
    venue = forms.IntegerField(label=_("Venue"), required=False, min_value=1, widget=forms.Select)
    place = forms.CharField(label=_("Place (if not a registered venue)"), max_length=200, required=False)
    start = _datetime_field(_("Start time"))
    end = _datetime_field(_("End time"))
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, venues: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["venue"].widget.choices = [("", _("(none: describe the place)"))] + [
            (v.pk, f"{v.name} · {v.get_type_display()}") for v in venues
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("venue") and not (data.get("place") or "").strip():
            raise forms.ValidationError(_("Name the place or choose a venue."))
        return data


class ContactSelectionForm(forms.Form):
    """Which contacts an action is for: the ticked ones, or all when none is ticked."""

    contacts = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    quarantine = forms.BooleanField(label=_("Quarantine placement"), required=False)
    grid_tasks = forms.BooleanField(label=_("Grid tasks per contact's grid"), required=False)

    def __init__(self, *args: Any, contact_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = [(pk, str(pk)) for pk in contact_ids]

    def selected(self) -> list[int] | None:
        chosen = self.cleaned_data.get("contacts") or []
        return list(chosen) if chosen else None


class CaseRefForm(forms.Form):
    """Another case, by number (#123 or 123)."""

    other = forms.CharField(label=_("Case number"), max_length=20)
    note = forms.CharField(label=_("Evidence"), max_length=300, required=False)

    def clean_other(self) -> int:
        raw = self.cleaned_data["other"].strip().lstrip("#")
        if not raw.isdigit():
            raise forms.ValidationError(_("Enter a case number, for example 12."))
        return int(raw)
