"""Forms of the grid pages. They check the input's shape only; the services check the rules and have the last
word (their refusals are shown beside the form). Choices (grids, accounts, venues) are handed in by the view
from what the actor may see."""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.grids.models import EmergencyKind, GridRole, Priority, SentinelKind, TaskState, TaskType

Choices = list[tuple[str, str]]
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_LINES = 50
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

# The patrol checklist of a key place, offered as the default of a new route.
DEFAULT_PATROL_CHECKLIST = (
    _("Venue code shown and scanning enforced"),
    _("Staff and visitors wear masks"),
    _("Disinfection done and recorded"),
    _("Ventilation"),
    _("Visitor register kept"),
)
WEEKDAYS = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(_("At most %(n)d lines."), params={"n": MAX_LINES})
    return lines


class LinesField(forms.CharField):
    """A textarea of one item per line, cleaned to a list."""

    widget = forms.Textarea(attrs={"rows": 5})

    def clean(self, value: str) -> list[str]:
        return _lines(super().clean(value))


def _blank(label) -> list[tuple[str, object]]:
    return [("", label)]


class TaskFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)
    grid = forms.ChoiceField(label=_("Grid"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, grids: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("open", _("Open")), ("", _("All")), *TaskState.choices]
        self.fields["type"].choices = _blank(_("All types")) + list(TaskType.choices)
        self.fields["grid"].choices = _blank(_("All grids")) + grids


class DispatchForm(forms.Form):
    """A task made by hand; ``client_id`` makes a double click (or a resent form) one task."""

    client_id = forms.UUIDField(widget=forms.HiddenInput)
    type = forms.ChoiceField(label=_("Type"), choices=TaskType.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    grid = forms.ChoiceField(label=_("Grid"))
    subject_text = forms.CharField(label=_("Where / who"), max_length=200, required=False)
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, required=False, empty_value=None)
    due_at = forms.DateTimeField(
        label=_("Due"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        help_text=_("Empty: the task type's usual time."),
    )

    def __init__(self, *args, grids: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = grids
        self.fields["priority"].choices = _blank(_("The type's usual priority")) + [
            (str(v), label) for v, label in Priority.choices
        ]
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())

    def clean_due_at(self) -> dt.datetime | None:
        due = self.cleaned_data.get("due_at")
        if due is not None and timezone.is_naive(due):
            due = timezone.make_aware(due)
        return due


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Worker"))

    def __init__(self, *args, accounts: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = accounts


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why is it cancelled?"), max_length=300)


class StaffAssignForm(forms.Form):
    grid = forms.ChoiceField(label=_("Grid"))
    user = forms.ChoiceField(label=_("Account"))
    role = forms.ChoiceField(label=_("Role in the grid"), choices=GridRole.choices)

    def __init__(self, *args, grids: Choices, accounts: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = grids
        self.fields["user"].choices = accounts


class SentinelForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SentinelKind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.ChoiceField(label=_("Area"))
    responsible_name = forms.CharField(label=_("Responsible person"), max_length=50)
    responsible_phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    checklist = LinesField(label=_("Checklist"), required=False, help_text=_("One item per line."))

    def __init__(self, *args, units: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units


class PatrolRouteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    grid = forms.ChoiceField(label=_("Grid"))
    venues = forms.MultipleChoiceField(
        label=_("Places"), widget=forms.CheckboxSelectMultiple, help_text=_("Key places first.")
    )
    checklist = LinesField(label=_("Checklist"), help_text=_("One item per line."))
    weekdays = forms.MultipleChoiceField(
        label=_("Weekdays"), choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, grids: Choices, venues: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = grids
        self.fields["venues"].choices = venues
        if not self.is_bound:
            self.initial.setdefault("checklist", "\n".join(str(item) for item in DEFAULT_PATROL_CHECKLIST))
            self.initial.setdefault("weekdays", ["0", "2", "4"])

    def clean_weekdays(self) -> list[int]:
        return [int(day) for day in self.cleaned_data["weekdays"]]


class EmergencyReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=EmergencyKind.choices)
    place = forms.CharField(label=_("Place"), max_length=200)
    description = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4}))
    photo = forms.ImageField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    lat = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-180, max_value=180)

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("The photo is larger than 8 MB."))
        return photo


class EmergencyAssignForm(forms.Form):
    grid = forms.ChoiceField(label=_("Grid"))

    def __init__(self, *args, grids: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = grids


class EmergencyCloseForm(forms.Form):
    note = forms.CharField(label=_("How was it resolved?"), max_length=300)


class AssessmentForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    by = forms.ChoiceField(
        label=_("Per"), required=False, choices=[("worker", _("Worker")), ("grid", _("Grid"))]
    )
