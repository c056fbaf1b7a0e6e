"""Forms of the resident's vaccination pages (phone first): choosing a slot, cancelling, self-reporting.

Each submission carries a hidden client UUID made when the page was drawn, so a double tap or a resent
form books or reports once (the services return what the first submission made)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.vaccination.models import Vaccine


class SlotChoiceForm(forms.Form):
    """A tapped slot button (``slot``) for a vaccine; books or reschedules."""

    slot = forms.IntegerField(min_value=1)
    vaccine = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class SelfReportForm(forms.Form):
    vaccine = forms.ModelChoiceField(
        label=_("Vaccine"),
        queryset=Vaccine.objects.none(),
        empty_label=_("Choose the vaccine"),
    )
    given_on = forms.DateField(
        label=_("Date of the dose"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    place = forms.CharField(
        label=_("Where"),
        max_length=200,
        help_text=_("The hospital or clinic, and the city."),
    )
    lot_number = forms.CharField(
        label=_("Batch number"),
        max_length=40,
        required=False,
        help_text=_("As printed on the certificate, if shown."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    certificate = forms.FileField(
        label=_("Photo of the vaccination certificate"),
        help_text=_("Take a photo or choose one (JPEG or PNG, at most 8 MB)."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, vaccines=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if vaccines is not None:
            self.fields["vaccine"].queryset = vaccines
        self.fields["given_on"].widget.attrs["max"] = timezone.localdate().isoformat()
