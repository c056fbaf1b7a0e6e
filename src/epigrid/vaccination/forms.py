"""Forms of the vaccination staff pages (the desk, self-report review, vaccines and sites). They check the
shape of the input only; ``vaccination.services`` judge the content and have the last word, and their
messages are what the user reads (an expired batch, a person not eligible, a bad opening period)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from epigrid.core.identity import IdType
from epigrid.core.models import DiseaseProfile
from epigrid.vaccination.models import AefiOutcome, Severity, VaccineKind
from epigrid.vaccination.services.catalogue import MAX_SLOT_DAYS, VaccineInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
_NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def disease_label(disease: DiseaseProfile) -> str:
    """A disease's name in the page's language."""
    return disease.name_zh if (get_language() or "").startswith("zh") else disease.name_en


class PickField(forms.IntegerField):
    """A primary key picked from a ``<select>`` and looked up by the form among the rows the user may name:
    the select offers what fits now (batches not expired, open sites), the look-up accepts any such row, so
    that e.g. a batch that expired while the page was open reaches the service and its message."""

    widget = forms.Select


# --- the desk ---------------------------------------------------------------------------------------


class PersonFindForm(forms.Form):
    """The ID card typed (or read from a photo by the browser): posted, never put in a URL."""

    id_type = forms.ChoiceField(label=_("Document type"), choices=IdType.choices, initial=IdType.RESIDENT)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={**_NO_AUTOFILL, "autocapitalize": "characters", "inputmode": "text", "maxlength": 40}
        ),
    )


class BookingCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Booking code"),
        max_length=12,
        widget=forms.TextInput(attrs={**_NO_AUTOFILL, "autocapitalize": "characters", "maxlength": 12}),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().replace(" ", "").upper()


class DoseRecordForm(forms.Form):
    """Vaccine (chosen on the page), batch, site, and a clinical reason when the person is not eligible."""

    vaccine = forms.IntegerField(widget=forms.HiddenInput)
    batch = PickField(label=_("Batch"))
    site = PickField(label=_("Site"))
    override_reason = forms.CharField(
        label=_("Clinical reason to give the dose anyway"),
        help_text=_("Only when the person is not eligible: the reason is recorded in the audit log."),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        batches: dict[int, Any],
        batch_choices: list[tuple[int, str]],
        sites: dict[int, Any],
        site_choices: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.batches, self.sites = batches, sites
        self.fields["batch"].widget.choices = batch_choices
        self.fields["site"].widget.choices = site_choices

    def clean_batch(self) -> Any:
        batch = self.batches.get(self.cleaned_data["batch"])
        if batch is None:
            raise ValidationError(_("Choose a batch of this vaccine."))
        return batch

    def clean_site(self) -> Any:
        site = self.sites.get(self.cleaned_data["site"])
        if site is None:
            raise ValidationError(_("Choose a site of your area."))
        return site


class AefiForm(forms.Form):
    onset_at = forms.DateTimeField(label=_("Onset"), widget=DateTimeLocalInput())
    symptoms = forms.CharField(
        label=_("Symptoms"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MILD)
    serious = forms.BooleanField(
        label=_("Serious (life-threatening, disabling, or needing a hospital stay)"), required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=AefiOutcome.choices, initial=AefiOutcome.UNKNOWN, required=False
    )

    def clean_outcome(self) -> str:
        return self.cleaned_data["outcome"] or AefiOutcome.UNKNOWN


# --- self-report review -----------------------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the resident reads it)"),
        max_length=200,
        required=False,  # the service says why an empty reason will not do
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- vaccines and batches ---------------------------------------------------------------------------


class VaccineForm(forms.Form):
    disease = forms.ChoiceField(label=_("Disease"))
    code = forms.SlugField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits and hyphens; the product's code in exports (FHIR)."),
    )
    name = forms.CharField(label=_("Product"), max_length=120)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=120)
    kind = forms.ChoiceField(label=_("Type"), choices=VaccineKind.choices)
    doses_in_series = forms.IntegerField(label=_("Doses in the series"), min_value=1, max_value=5, initial=2)
    min_interval_days = forms.IntegerField(
        label=_("Minimum days between doses"), min_value=0, max_value=3650, initial=21
    )
    booster_interval_days = forms.IntegerField(
        label=_("Minimum days before a booster"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty when the vaccine has no booster."),
    )
    max_boosters = forms.IntegerField(label=_("Boosters at most"), min_value=0, max_value=10, initial=0)
    booster_min_age_years = forms.IntegerField(
        label=_("Minimum age for a booster (years)"), min_value=0, max_value=150, initial=18, required=False
    )
    min_age_years = forms.IntegerField(label=_("Minimum age (years)"), min_value=0, max_value=150, initial=3)
    max_age_years = forms.IntegerField(
        label=_("Maximum age (years)"), min_value=0, max_value=150, required=False
    )

    def __init__(self, *args: Any, diseases: list[DiseaseProfile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.diseases = {str(d.pk): d for d in diseases}
        self.fields["disease"].choices = [(str(d.pk), disease_label(d)) for d in diseases]

    def clean_disease(self) -> DiseaseProfile:
        return self.diseases[self.cleaned_data["disease"]]

    def to_input(self) -> VaccineInput:
        data = self.cleaned_data
        return VaccineInput(
            disease=data["disease"],
            code=data["code"],
            name=data["name"],
            manufacturer=data["manufacturer"],
            kind=data["kind"],
            doses_in_series=data["doses_in_series"],
            min_interval_days=data["min_interval_days"],
            booster_interval_days=data["booster_interval_days"],
            max_boosters=data["max_boosters"],
            booster_min_age_years=18
            if data["booster_min_age_years"] is None
            else data["booster_min_age_years"],
            min_age_years=data["min_age_years"],
            max_age_years=data["max_age_years"],
        )


class BatchForm(forms.Form):
    lot_number = forms.CharField(
        label=_("Batch number"), max_length=40, widget=forms.TextInput(attrs=_NO_AUTOFILL)
    )
    expires_on = forms.DateField(label=_("Expires on"), widget=DateInput())

    def clean_expires_on(self) -> dt.date:
        day = self.cleaned_data["expires_on"]
        if day < timezone.localdate():
            raise ValidationError(_("This batch has expired already; an expired batch may not be used."))
        return day


# --- opening hours: a table of weekday / start / end rows --------------------------------------------

EVERY_DAY, WORKDAYS, WEEKEND = "daily", "workdays", "weekend"
_GROUPS = {EVERY_DAY: tuple(range(7)), WORKDAYS: (0, 1, 2, 3, 4), WEEKEND: (5, 6)}


def weekday_choices() -> list[tuple[str, Any]]:
    return [
        ("", "—"),
        (WORKDAYS, _("Monday to Friday")),
        (EVERY_DAY, _("Every day")),
        (WEEKEND, _("Saturday and Sunday")),
        *((str(day), name) for day, name in WEEKDAYS.items()),
    ]


class OpeningPeriodForm(forms.Form):
    weekday = forms.ChoiceField(label=_("Day"), required=False)
    start = forms.CharField(
        label=_("From"), required=False, max_length=5, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end = forms.CharField(
        label=_("To"), required=False, max_length=5, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weekday"].choices = weekday_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        filled = [bool((data.get(name) or "").strip()) for name in ("weekday", "start", "end")]
        if any(filled) and not all(filled):
            raise ValidationError(
                _("Fill in the day, the start and the end of each opening period, or leave the row empty.")
            )
        return data

    def periods(self) -> list[dict[str, Any]]:
        """This row as service periods (a group of days is one period per day); [] for an empty row."""
        data = self.cleaned_data
        weekday = (data.get("weekday") or "").strip()
        if not weekday:
            return []
        days = _GROUPS.get(weekday) or (int(weekday),)
        return [{"weekday": day, "start": data["start"].strip(), "end": data["end"].strip()} for day in days]


class BaseOpeningHoursFormSet(forms.BaseFormSet):
    def periods(self) -> list[dict[str, Any]]:
        return [period for form in self.forms for period in form.periods()]


OpeningHoursFormSet = forms.formset_factory(
    OpeningPeriodForm, formset=BaseOpeningHoursFormSet, extra=3, max_num=60, validate_max=True
)


def hours_rows(opening_hours: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Stored periods as editor rows: a time range held on Monday to Friday, every day or at the weekend is
    one row, other days one row each."""
    days_by_range: dict[tuple[str, str], set[int]] = {}
    for period in opening_hours or []:
        days_by_range.setdefault((period["start"], period["end"]), set()).add(int(period["weekday"]))
    rows = []
    for (start, end), days in sorted(days_by_range.items(), key=lambda item: (min(item[1]), item[0])):
        for group in (EVERY_DAY, WORKDAYS, WEEKEND):
            if set(_GROUPS[group]) <= days:
                rows.append({"weekday": group, "start": start, "end": end})
                days -= set(_GROUPS[group])
        rows.extend({"weekday": str(day), "start": start, "end": end} for day in sorted(days))
    return rows


def hours_formset(data: Any = None, *, opening_hours: list[dict[str, Any]] | None = None) -> Any:
    return OpeningHoursFormSet(data, initial=hours_rows(opening_hours or []), prefix="hours")


def hours_text(opening_hours: list[dict[str, Any]]) -> list[str]:
    """Opening hours for reading: "Monday to Friday 08:00-11:30", one line per row of the editor."""
    labels = dict(weekday_choices())
    return [f"{labels[row['weekday']]} {row['start']}-{row['end']}" for row in hours_rows(opening_hours)]


# --- sites --------------------------------------------------------------------------------------------


class _VaccinesField(forms.TypedMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, required=False, label=_("Vaccines offered"), **kwargs)


class SiteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    grid = forms.ChoiceField(label=_("Grid"))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    slot_minutes = forms.IntegerField(label=_("Minutes per slot"), min_value=5, max_value=240, initial=30)
    capacity_per_slot = forms.IntegerField(
        label=_("People per slot"), min_value=1, max_value=1000, initial=20
    )
    vaccines = _VaccinesField()

    def __init__(
        self, *args: Any, grids: list[tuple[str, str]], vaccines: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [("", "—"), *grids]
        self.fields["vaccines"].choices = vaccines


class SiteUpdateForm(forms.Form):
    capacity_per_slot = forms.IntegerField(label=_("People per slot"), min_value=1, max_value=1000)
    vaccines = _VaccinesField()
    active = forms.BooleanField(label=_("Open for bookings"), required=False)

    def __init__(self, *args: Any, vaccines: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vaccines"].choices = vaccines


class SlotsForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateInput())
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=MAX_SLOT_DAYS, initial=14)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].help_text = _(
            "At most %(n)d days at a time; slots that exist already are kept."
        ) % {"n": MAX_SLOT_DAYS}


class CloseDayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason (the people booked that day read it)"), max_length=200, required=False
    )
