"""Forms of the shared kernel's pages. They validate input only; writes go through ``services``."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import ResponseLevel

six_digits = RegexValidator(r"^\d{6}$", _("Enter the 6-digit code from your authenticator app."))


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def one_time_code_field(validator: RegexValidator = six_digits) -> forms.CharField:
    """A 6-digit one-time code as phones fill it in (numeric keyboard, the code offered from the message)."""
    return forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=6,
        validators=[validator],
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": r"\d{6}",
                "autofocus": True,
            }
        ),
    )


class TotpCodeForm(forms.Form):
    code = one_time_code_field()

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, ID number or phone"), "autocomplete": "off"}
        ),
    )


class AuditSearchForm(forms.Form):
    action = forms.CharField(label=_("Action starts with"), required=False, max_length=64)
    username = forms.CharField(label=_("User name"), required=False, max_length=150)
    object_id = forms.CharField(label=_("Object ID"), required=False, max_length=64)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def search_kwargs(self) -> dict:
        """Arguments for ``selectors.audit_search``: whole days in the active time zone, end day included."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()

        def day_start(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz)

        return {
            "action": data.get("action", "").strip(),
            "username": data.get("username", "").strip(),
            "object_id": data.get("object_id", "").strip(),
            "since": day_start(data["since"]) if data.get("since") else None,
            "until": day_start(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        }


class ResponseLevelForm(forms.Form):
    level = forms.ChoiceField(label=_("Response level"), choices=ResponseLevel.choices)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, required=False, widget=forms.TextInput(attrs={"maxlength": 300})
    )
