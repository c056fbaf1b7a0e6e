"""Forms of the portal's pages. They validate input only; the services check it again and write."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from epigrid.core.forms import TotpCodeForm, one_time_code_field
from epigrid.portal.models import CorrectionField

six_digits = RegexValidator(r"^\d{6}$", _("Enter the 6-digit code from the text message."))


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel", "autofocus": True}
        ),
    )


class CodeForm(TotpCodeForm):
    phone = forms.CharField(max_length=20, widget=forms.HiddenInput)
    code = one_time_code_field(six_digits)


class CorrectionForm(forms.Form):
    field = forms.ChoiceField(label=_("What is wrong"), choices=CorrectionField.choices)
    requested_value = forms.CharField(label=_("What it should be"), max_length=200)
    reason = forms.CharField(
        label=_("Explanation"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example where the mistake shows, or a document that proves the right value."),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("done", _("Corrected")), ("refused", _("Refused"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Answer to the resident"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the request is refused."),
    )
