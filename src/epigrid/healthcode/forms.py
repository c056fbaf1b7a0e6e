"""Forms of the health-code pages. They validate input only; writes go through ``healthcode.services``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import ResponseLevel
from epigrid.healthcode.models import AreaKind, Colour, RiskLevel

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_IMPORT_BYTES = 2 * 1024 * 1024
IMPORT_COLUMNS = ("name", "region_code", "level", "effective_from")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _datetime_field(label: Any, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
        widget=DateTimeLocalInput(),
        **kwargs,
    )


def local_input_value(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime(DATETIME_LOCAL)


# --- residents ------------------------------------------------------------------------------------


class TravelForm(forms.Form):
    from_region_code = forms.CharField(
        label=_("Region code of where you came from"),
        max_length=6,
        min_length=6,
        help_text=_("6 digits, e.g. 310101."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{6}", "autocomplete": "off"}),
    )
    from_place = forms.CharField(label=_("Place (city, district)"), max_length=120, required=False)
    arrived_at = _datetime_field(_("Arrived at"))
    client_id = forms.UUIDField(widget=forms.HiddenInput)


class AppealForm(forms.Form):
    note = forms.CharField(
        label=_("Why is your colour wrong?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- door -----------------------------------------------------------------------------------------


class VerifyForm(forms.Form):
    qr = forms.CharField(
        label=_("Personal code"),
        max_length=2000,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "enterkeyhint": "go",
            }
        ),
    )


# --- staff ----------------------------------------------------------------------------------------


class CodeFilterForm(forms.Form):
    colour = forms.ChoiceField(
        label=_("Colour"), required=False, choices=[("", _("Any colour")), *Colour.choices]
    )


class OverrideForm(forms.Form):
    colour = forms.ChoiceField(label=_("Colour"), choices=Colour.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200)
    expires_at = _datetime_field(_("Expires"), help_text=_("At most 30 days from now."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("expires_at", local_input_value(timezone.now() + dt.timedelta(days=7)))


class AppealDecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("confirm", _("Confirm the colour")), ("change", _("Change the colour"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Reason"), max_length=300)
    colour = forms.ChoiceField(
        label=_("New colour"), choices=Colour.choices, initial=Colour.GREEN, required=False
    )
    expires_at = _datetime_field(_("Override expires"), required=False, help_text=_("At most 30 days."))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == "change" and not data.get("colour"):
            self.add_error("colour", _("Choose the new colour."))
        return data

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("expires_at", local_input_value(timezone.now() + dt.timedelta(days=7)))


class RiskAreaForm(forms.Form):
    name = forms.CharField(label=_("Area name"), max_length=120)
    level = forms.ChoiceField(label=_("Risk level"), choices=RiskLevel.choices, initial=RiskLevel.MEDIUM)
    kind = forms.ChoiceField(label=_("Kind of area"), choices=AreaKind.choices, widget=forms.RadioSelect)
    org_unit_code = forms.CharField(label=_("Org unit code"), max_length=15, required=False)
    region_code = forms.CharField(
        label=_("Region code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    polygon = forms.CharField(
        label=_("Drawn area (GeoJSON)"), required=False, widget=forms.HiddenInput, max_length=200_000
    )
    effective_from = _datetime_field(_("Effective from"), required=False, help_text=_("Empty: now."))

    def clean_polygon(self) -> dict | None:
        text = self.cleaned_data.get("polygon", "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("The drawn area is not valid GeoJSON.")) from None
        if isinstance(value, dict) and value.get("type") == "Feature":
            value = value.get("geometry")
        return value if isinstance(value, dict) else None


class RiskAreaEndForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class RiskAreaImportForm(forms.Form):
    file = forms.FileField(
        label=_("List (CSV or Excel .xlsx)"),
        help_text=_("Header row: name, region_code, level, effective_from."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload

    def rows(self) -> list[dict[str, Any]]:
        """The data rows as dicts keyed by the header; raises ValidationError for an unreadable file."""
        upload = self.cleaned_data["file"]
        data = upload.read()
        table = _xlsx_rows(data) if upload.name.lower().endswith(".xlsx") else _csv_rows(data)
        if not table:
            raise forms.ValidationError(_("The file is empty."))
        header = [str(cell or "").strip().lower() for cell in table[0]]
        missing = [col for col in IMPORT_COLUMNS if col not in header]
        if missing:
            raise forms.ValidationError(_("The header row lacks: %(cols)s.") % {"cols": ", ".join(missing)})
        return [
            {key: (row[i] if i < len(row) else "") for i, key in enumerate(header) if key}
            for row in table[1:]
        ]


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise forms.ValidationError(_("The CSV file is not UTF-8 or GB18030 text."))
    return _trim([list(row) for row in csv.reader(io.StringIO(text))])


def _blank(row: list[Any]) -> bool:
    return not any(str(cell).strip() for cell in row if cell is not None)


def _trim(table: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing blank rows only: a blank row in the middle keeps its place, so that the row numbers
    the import reports are the spreadsheet's own."""
    while table and _blank(table[-1]):
        table.pop()
    return table


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise forms.ValidationError(_("This is not a readable Excel (.xlsx) file.")) from None
    try:
        sheet = book.worksheets[0]
        return _trim(
            [["" if cell is None else cell for cell in row] for row in sheet.iter_rows(values_only=True)]
        )
    finally:
        book.close()


class RuleSetForm(forms.Form):
    name = forms.CharField(label=_("Rule set name"), max_length=100)
    policy = forms.TypedChoiceField(label=_("Policy version"), coerce=int)
    response_levels = forms.MultipleChoiceField(
        label=_("Response levels"), choices=ResponseLevel.choices, widget=forms.CheckboxSelectMultiple
    )
    rules = forms.CharField(
        label=_("Rules (JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
        max_length=200_000,
    )

    def __init__(self, *args: Any, policies: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = list(policies)

    def clean_rules(self) -> Any:
        try:
            return json.loads(self.cleaned_data["rules"])
        except ValueError as err:
            raise forms.ValidationError(_("This is not valid JSON: %(err)s") % {"err": err}) from None
