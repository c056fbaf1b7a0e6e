"""Forms of the medical-waste pages. They check the shape of the input; ``medwaste.services`` judge the
content (plausible weights, the order of the chain, who acts for whom) and their messages are what the user
reads."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from epigrid.medwaste.models import PartyKind, WasteCategory

_NO_AUTOFILL = {"autocomplete": "off", "spellcheck": "false"}


def kg_to_grams(value: Decimal) -> int:
    return int((value * 1000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class KgField(forms.DecimalField):
    """A weight typed in kilograms with decimals (a scale shows ``1.25``)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Weight (kg)"))
        super().__init__(
            max_digits=7,
            decimal_places=3,
            min_value=Decimal("0.001"),
            widget=forms.NumberInput(attrs={"step": "0.001", "inputmode": "decimal", "min": "0.001"}),
            **kwargs,
        )


class LabelForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=WasteCategory.choices)
    weight_kg = KgField()
    sealed = forms.BooleanField(label=_("Sealed at 3/4 full"), required=False, initial=True)
    handler_name = forms.CharField(
        label=_("Filled by"),
        max_length=60,
        required=False,
        help_text=_("Leave empty when you filled the bag yourself."),
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
    )


class ScanForm(forms.Form):
    q = forms.CharField(
        label=_("Bag label"),
        max_length=2000,
        widget=forms.TextInput(
            attrs={**_NO_AUTOFILL, "autocapitalize": "characters", "placeholder": "MW…", "enterkeyhint": "go"}
        ),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why are the bags refused?"), max_length=300)


class PartyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=PartyKind.choices)
    area = forms.IntegerField(label=_("Area"), widget=forms.Select)
    parent = forms.IntegerField(
        label=_("Temporary storage used / company of the plant"), required=False, widget=forms.Select
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    licence_number = forms.CharField(label=_("Licence number"), max_length=60, required=False)
    duty_phone = forms.CharField(label=_("Duty phone"), max_length=20, required=False)
    collection_interval_hours = forms.IntegerField(
        label=_("Collection every (hours)"), required=False, min_value=1, max_value=168
    )

    def __init__(self, *args, areas=(), parents=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].widget.choices = [(u.pk, f"{u.name} ({u.code})") for u in areas]
        self.fields["parent"].widget.choices = [("", "—")] + [(p.pk, p.name) for p in parents]


class MemberForm(forms.Form):
    username = forms.CharField(
        label=_("Account (user name)"), max_length=150, widget=forms.TextInput(attrs=_NO_AUTOFILL)
    )


class VehicleForm(forms.Form):
    plate = forms.CharField(label=_("Plate"), max_length=16, widget=forms.TextInput(attrs=_NO_AUTOFILL))
    capacity_kg = forms.IntegerField(label=_("Capacity (kg)"), min_value=0, max_value=100_000, initial=0)
