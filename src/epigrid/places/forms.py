"""Forms of the venue pages. They validate input only; writes go through ``places.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from epigrid.places.models import VenueStatus, VenueType


class VenueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *VenueStatus.choices]
    )
    type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Any type")), *VenueType.choices]
    )
    key_places = forms.BooleanField(label=_("Key places only"), required=False)

    def selector_kwargs(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "status": data["status"],
            "type": data["type"],
            "key_places_only": data["key_places"],
            "search": data["q"],
        }


class VenueApplyForm(forms.Form):
    name = forms.CharField(label=_("Venue name"), max_length=120)
    type = forms.ChoiceField(label=_("Type"), choices=VenueType.choices)
    address = forms.CharField(label=_("Address"), max_length=200)
    lat = forms.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        help_text=_("Click the map to set the coordinates, or type them."),
    )
    lng = forms.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    capacity = forms.IntegerField(
        label=_("Capacity"),
        required=False,
        min_value=1,
        help_text=_("How many people may be inside at once (optional)."),
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)


class VenueDecisionForm(forms.Form):
    """Approve (optionally as a key place) or reject with a reason; the service checks the reason."""

    is_key_place = forms.BooleanField(label=_("Key place"), required=False)
    note = forms.CharField(label=_("Reason"), max_length=300, required=False)


class VenueUpdateForm(forms.Form):
    capacity = forms.IntegerField(label=_("Capacity"), required=False, min_value=1)
    is_key_place = forms.BooleanField(label=_("Key place"), required=False)


class VenueReissueForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that every printed poster of this venue stops working."),
        error_messages={"required": _("Tick the box to confirm the re-issue.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class VenueSuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CommunityPostersForm(forms.Form):
    """The community whose approved venues get a poster each; its choices are the units in scope."""

    unit = forms.ChoiceField(label=_("Community"))

    def __init__(self, *args, units=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u.code, f"{u.name} ({u.code})") for u in units]
