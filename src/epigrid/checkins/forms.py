"""Forms of the public scan pages; validation of identity data stays in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RegisterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    id_number = forms.CharField(label=_("ID card number"), max_length=30)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    consent = forms.BooleanField(label=_("I agree"), required=True)
    client_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "inputmode": "text"})
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})
        self.fields["name"].widget.attrs.update({"autocomplete": "name"})


class FamilyMemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    id_number = forms.CharField(label=_("ID card number"), max_length=30)
    phone = forms.CharField(label=_("Mobile phone (optional)"), max_length=20, required=False)


class QuickCheckinForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    persons = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)

    def __init__(self, *args, person_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["persons"].choices = [(pid, str(pid)) for pid in person_ids]


class VisitorDetailsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    id_number = forms.CharField(label=_("ID card number"), max_length=30)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    consent = forms.BooleanField(label=_("I agree"), required=True)
