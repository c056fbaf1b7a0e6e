"""Forms of the quarantine pages and the resident's report page. They validate input only; writes go through
``quarantine.services``, which check again and have the last word."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from epigrid.quarantine.models import RoomStatus, VisitResult
from epigrid.quarantine.services import SYMPTOMS

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_ROOMS = 2000
MAX_RANGE = 500
MAX_PEOPLE = 5000

# Labels of services.SYMPTOMS; a symptom the services add later shows under its code until labelled here.
SYMPTOM_LABELS = {
    "fever": _("Fever"),
    "cough": _("Cough"),
    "sore_throat": _("Sore throat"),
    "fatigue": _("Fatigue"),
    "loss_of_taste_smell": _("Loss of taste or smell"),
    "diarrhoea": _("Diarrhoea"),
    "short_breath": _("Shortness of breath"),
}
TIER_CHOICES = [
    ("close", _("Close contact")),
    ("secondary", _("Secondary contact")),
    ("other", _("Other (e.g. traveller)")),
]


def symptom_choices() -> list[tuple[str, Any]]:
    return [(code, SYMPTOM_LABELS.get(code, code)) for code in SYMPTOMS]


def symptom_label(code: str) -> str:
    return str(SYMPTOM_LABELS.get(code, code))


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


# --- rooms: "101-120 floor 1 beds 2" -------------------------------------------------------------------

_RANGE = re.compile(r"^([a-z]*)(\d+)(?:\s*[-~–—至到]\s*\1?(\d+))?")
_FLOOR = re.compile(r"(?:floor|楼层|层)\s*(\d+)|(\d+)\s*(?:层|楼|f\b)")
_BEDS = re.compile(r"(?:beds?|床位|床)\s*(\d+)|(\d+)\s*(?:床|beds?\b)")


def _keyword(pattern: re.Pattern[str], text: str) -> tuple[int | None, str]:
    found = pattern.search(text)
    if not found:
        return None, text
    value = int(found.group(1) or found.group(2))
    return value, text[: found.start()] + " " + text[found.end() :]


def parse_rooms(text: str) -> list[tuple[str, int, int]]:
    """One range per line — ``101-120 floor 1 beds 2``, ``101-120 1 2``, ``201-215`` (floor from the number,
    one bed) or ``A301 3层 2床`` — as (number, floor, beds) rows for ``services.rooms_add``."""
    rooms: list[tuple[str, int, int]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().lower().replace("，", " ").replace(",", " ")
        if not line:
            continue
        found = _RANGE.match(line)
        if not found:
            raise ValidationError(
                _("Line %(n)d: start with a room number or a range such as 101-120."), params={"n": number}
            )
        prefix, first, last = found.group(1), found.group(2), found.group(3) or found.group(2)
        rest = line[found.end() :]
        floor, rest = _keyword(_FLOOR, rest)
        beds, rest = _keyword(_BEDS, rest)
        bare = [int(x) for x in re.findall(r"\d+", rest)]
        if re.sub(r"[\d\s]", "", rest):
            raise ValidationError(_("Line %(n)d: words not understood."), params={"n": number})
        if floor is None and bare:
            floor = bare.pop(0)
        if beds is None and bare:
            beds = bare.pop(0)
        if bare:
            raise ValidationError(_("Line %(n)d: too many numbers."), params={"n": number})
        start, end = int(first), int(last)
        if end < start or end - start >= MAX_RANGE:
            raise ValidationError(
                _("Line %(n)d: a range runs upwards and holds at most %(max)d rooms."),
                params={"n": number, "max": MAX_RANGE},
            )
        width = len(first)
        for value in range(start, end + 1):
            room_floor = floor if floor is not None else max(value // 100, 1)
            rooms.append((f"{prefix.upper()}{value:0{width}d}", room_floor, beds or 1))
    if not rooms:
        raise ValidationError(_("Enter at least one room."))
    if len(rooms) > MAX_ROOMS:
        raise ValidationError(_("At most %(max)d rooms at a time."), params={"max": MAX_ROOMS})
    return rooms


ROOMS_HELP = _(
    "One range per line: rooms, floor, beds — e.g. “101-120 1 2” or “101-120 floor 1 beds 2”. "
    "Without a floor it is taken from the number (2xx: floor 2); without beds, one bed."
)


class RoomsField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.Textarea(attrs={"rows": 4, "placeholder": "101-120 1 2\n201-215 2 1"})
        )
        super().__init__(label=_("Rooms"), help_text=ROOMS_HELP, **kwargs)

    def clean(self, value: Any) -> list[tuple[str, int, int]]:  # type: ignore[override]
        text = super().clean(value)
        return parse_rooms(text) if text or self.required else []


class SiteCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    phone = forms.CharField(label=_("Duty phone"), max_length=20, required=False)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    rooms = RoomsField(required=False)

    def __init__(self, *args: Any, grids: list[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [("", _("Whole district")), *grids]


class RoomsAddForm(forms.Form):
    rooms = RoomsField()


class RoomStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s, label) for s, label in RoomStatus.choices if s != RoomStatus.OCCUPIED]
    )


# --- placement ---------------------------------------------------------------------------------------


def _site_field() -> forms.ChoiceField:
    return forms.ChoiceField(label=_("Site"), required=False)


class PlaceOneForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    tier = forms.ChoiceField(label=_("Reason"), choices=TIER_CHOICES, initial="close")
    site = _site_field()

    def __init__(self, *args: Any, sites: list[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("Any site with a free room")), *sites]


class CaseForm(forms.Form):
    case = forms.IntegerField(label=_("Case number"), min_value=1)


class CasePlaceForm(forms.Form):
    people = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple)
    site = _site_field()

    def __init__(
        self,
        *args: Any,
        people: list[int] = (),
        sites: list[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["people"].choices = [(pk, str(pk)) for pk in people][:MAX_PEOPLE]
        self.fields["people"].error_messages["required"] = _("Tick at least one contact.")
        self.fields["site"].choices = [("", _("Any site with a free room")), *sites]


class TransferForm(forms.Form):
    room = forms.TypedChoiceField(label=_("Free room"), coerce=int)

    def __init__(self, *args: Any, rooms: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].choices = list(rooms)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=200)


# --- monitoring ----------------------------------------------------------------------------------------


class ReportForm(forms.Form):
    """A temperature report. The page writes a fresh ``client_id`` into every form it renders, so the same
    form sent twice (a double tap, a retry after a dropped connection) is stored once."""

    client_id = forms.UUIDField(widget=forms.HiddenInput)
    temperature = forms.DecimalField(
        label=_("Temperature (°C)"),
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(
            attrs={"step": "0.1", "min": "34", "max": "43", "inputmode": "decimal", "placeholder": "36.5"}
        ),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["symptoms"].choices = symptom_choices()
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


class StaffReportForm(ReportForm):
    reported_at = forms.DateTimeField(
        label=_("Measured at (empty: now)"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=DateTimeLocalInput(),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class SealForm(forms.Form):
    number = forms.CharField(label=_("Seal number"), max_length=40)
    photo = forms.FileField(
        label=_("Photo of the seal"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class VisitForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=VisitResult.choices)
    team = forms.CharField(
        label=_("Team"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. community cadre, doctor, police")}),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
