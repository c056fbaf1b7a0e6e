"""Forms of the testing pages. They validate input only; writes go through ``testing.services``."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from epigrid.testing.models import TubeResult

MAX_SHEET_BYTES = 5 * 1024 * 1024
MAX_LINES = 5000
RESULT_WORDS = {r.value for r in TubeResult if r.value}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class BoxPackForm(forms.Form):
    """The sampler's handover of a box to transport: the box, the courier, the tubes scanned into it."""

    code = forms.CharField(
        label=_("Box code"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    courier = forms.CharField(label=_("Courier (name, phone)"), max_length=60)
    barcodes = forms.CharField(
        label=_("Tube barcodes scanned into the box, one per line"),
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_barcodes(self) -> list[str]:
        barcodes = [
            b for line in _lines(self.cleaned_data["barcodes"]) for b in line.replace(",", " ").split()
        ]
        if len(barcodes) > MAX_LINES:
            raise forms.ValidationError(_("At most %(n)d tubes at a time.") % {"n": MAX_LINES})
        return list(dict.fromkeys(barcodes))


class BoxReceiveForm(forms.Form):
    box = forms.CharField(
        label=_("Box code"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    scanned = forms.CharField(
        label=_("Tube barcodes scanned from the box, one per line"),
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_scanned(self) -> list[str]:
        barcodes = [
            b for line in _lines(self.cleaned_data["scanned"]) for b in line.replace(",", " ").split()
        ]
        if len(barcodes) > MAX_LINES:
            raise forms.ValidationError(_("At most %(n)d tubes at a time.") % {"n": MAX_LINES})
        return list(dict.fromkeys(barcodes))


class ResultLinesForm(forms.Form):
    """``barcode result [tested_at]`` per line; separated by spaces, tabs or commas (a pasted sheet)."""

    lines = forms.CharField(
        label=_("Results, one tube per line: barcode result"),
        widget=forms.Textarea(
            attrs={"rows": 8, "autocomplete": "off", "spellcheck": "false", "placeholder": "T0001 negative"}
        ),
    )

    def clean_lines(self) -> list[dict]:
        lines = _lines(self.cleaned_data["lines"])
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(_("At most %(n)d lines at a time.") % {"n": MAX_LINES})
        rows = []
        for line in lines:
            parts = line.replace(",", " ").replace("\t", " ").split(None, 2)
            rows.append(
                {
                    "tube": parts[0],
                    "result": parts[1].lower() if len(parts) > 1 else "",
                    "tested_at": parts[2].strip() if len(parts) > 2 else None,
                }
            )
        return rows


class SheetUploadForm(forms.Form):
    sheet = forms.FileField(
        label=_("Lab sheet (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,text/csv"}),
    )

    def clean_sheet(self):
        sheet = self.cleaned_data["sheet"]
        if sheet.size > MAX_SHEET_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        if not sheet.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an .xlsx workbook or a .csv file."))
        return sheet


class SheetMappingForm(forms.Form):
    """Which of the sheet's columns holds the tube, the result and the test time."""

    tube = forms.ChoiceField(label=_("Tube barcode column"))
    result = forms.ChoiceField(label=_("Result column"))
    tested_at = forms.ChoiceField(label=_("Test time column"), required=False)

    def __init__(self, *args, header: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(h, h) for h in header if h]
        self.fields["tube"].choices = choices
        self.fields["result"].choices = choices
        self.fields["tested_at"].choices = [("", _("(none: now)")), *choices]
        if not self.is_bound:
            self.initial = {name: _guess(name, header) for name in ("tube", "result", "tested_at")}

    def mapping(self) -> dict[str, str]:
        data = self.cleaned_data
        # A column name that exists nowhere leaves tested_at empty (the service then takes "now").
        return {"tube": data["tube"], "result": data["result"], "tested_at": data["tested_at"] or "\0none"}


_HINTS = {
    "tube": ("tube", "barcode", "试管", "管码", "条码", "编码"),
    "result": ("result", "结果"),
    "tested_at": ("tested", "time", "时间", "日期", "date"),
}


def _guess(name: str, header: list[str]) -> str:
    for column in header:
        low = (column or "").lower()
        if any(hint in low for hint in _HINTS[name]):
            return column
    return ""


class RoundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    area = forms.ChoiceField(label=_("Area"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, areas: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(u.code, f"{u.name} ({u.get_level_display()})") for u in areas]
        if not self.is_bound:
            self.initial.setdefault("day", timezone.localdate())
