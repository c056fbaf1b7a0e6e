"""Forms of the supplies pages. They check the shape of the input only; ``supplies.services`` judge the
content and have the last word (not enough on hand, a lot with another expiry, a transfer moved on)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from epigrid.supplies.models import (
    Batch,
    ForecastDriver,
    HoldingPoint,
    Item,
    ItemCategory,
    MovementKind,
    PointKind,
)

LINES = 5  # item rows on the request form; a request of more items is sent as two


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _item_choices(items: list[Item]) -> list[tuple[str, str]]:
    return [("", "—")] + [(str(i.pk), f"{i.name}（{i.unit}）") for i in items]


class PickForm(forms.Form):
    """A form whose selects name rows: the view passes the rows offered, the form returns the objects."""

    def __init__(self, *args: Any, items: list[Item] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = {i.pk: i for i in items}
        if "item" in self.fields:
            self.fields["item"].choices = _item_choices(list(items))

    def item(self) -> Item:
        return self.items[int(self.cleaned_data["item"])]


class ReceiveForm(PickForm):
    item = forms.ChoiceField(label=_("Item"))
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000_000)
    lot_number = forms.CharField(label=_("Lot number"), max_length=40, required=False)
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("From (supplier, document)"), max_length=200, required=False)
    client_id = forms.CharField(widget=forms.HiddenInput, required=False)


class ConsumeForm(PickForm):
    item = forms.ChoiceField(label=_("Item"))
    quantity = forms.IntegerField(label=_("Quantity used"), min_value=1, max_value=10_000_000)
    reason = forms.CharField(label=_("Note"), max_length=200, required=False)
    client_id = forms.CharField(widget=forms.HiddenInput, required=False)


def fresh_client_id() -> dict[str, str]:
    """The initial hidden id of a form: a double-submitted form books once (``Movement.client_id``)."""
    return {"client_id": str(uuid.uuid4())}


def _batch_label(batch: Batch, quantity: int | None = None) -> str:
    parts = [batch.item.name, batch.lot_number or str(_("no lot"))]
    if batch.expires_on:
        parts.append(batch.expires_on.isoformat())
    if quantity is not None:
        parts.append(f"× {quantity}")
    return " · ".join(parts)


class BatchPickForm(forms.Form):
    def __init__(self, *args: Any, batches: list[tuple[Batch, int]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = {b.pk: b for b, _q in batches}
        self.fields["batch"].choices = self.batch_choices(batches)

    def batch_choices(self, batches: list[tuple[Batch, int]]) -> list[tuple[str, str]]:
        return [(str(b.pk), _batch_label(b, q)) for b, q in batches]

    def batch(self) -> Batch | None:
        value = self.cleaned_data.get("batch")
        return self.batches.get(int(value)) if value else None


class AdjustForm(BatchPickForm):
    batch = forms.ChoiceField(label=_("Batch"))
    quantity = forms.IntegerField(
        label=_("Change"),
        help_text=_("Negative takes stock off, positive adds."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)


class WriteOffForm(BatchPickForm):
    batch = forms.ChoiceField(label=_("Batch"), required=False)

    def batch_choices(self, batches: list[tuple[Batch, int]]) -> list[tuple[str, str]]:
        return [("", str(_("Every expired batch"))), *super().batch_choices(batches)]


class CountForm(forms.Form):
    """One box per batch on hand; a box left empty is not counted."""

    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, batches: list[tuple[Batch, int]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = {b.pk: b for b, _q in batches}
        for batch, quantity in batches:
            self.fields[f"counted_{batch.pk}"] = forms.IntegerField(
                label=_batch_label(batch),
                min_value=0,
                max_value=10_000_000,
                required=False,
                help_text=_("In the ledger: %(n)d") % {"n": quantity},
            )

    def counts(self) -> list[tuple[Batch, int]]:
        return [
            (batch, self.cleaned_data[f"counted_{pk}"])
            for pk, batch in self.batches.items()
            if self.cleaned_data.get(f"counted_{pk}") is not None
        ]


class LedgerFilterForm(PickForm):
    item = forms.ChoiceField(label=_("Item"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", "—"), *MovementKind.choices])
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def item_or_none(self) -> Item | None:
        value = self.cleaned_data.get("item") if self.is_bound and self.is_valid() else None
        return self.items.get(int(value)) if value else None


def _point_choices(points: list[HoldingPoint]) -> list[tuple[str, str]]:
    return [("", "—")] + [(str(p.pk), f"{p.name}（{p.get_kind_display()}）") for p in points]


class TransferRequestForm(forms.Form):
    to_point = forms.ChoiceField(label=_("For (receiving point)"))
    from_point = forms.ChoiceField(label=_("From (sending point)"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        to_points: list[HoldingPoint] = (),
        from_points: list[HoldingPoint] = (),
        items: list[Item] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.points = {p.pk: p for p in [*to_points, *from_points]}
        self.items = {i.pk: i for i in items}
        self.fields["to_point"].choices = _point_choices(list(to_points))
        self.fields["from_point"].choices = _point_choices(list(from_points))
        for n in range(LINES):
            self.fields[f"item_{n}"] = forms.ChoiceField(
                label=_("Item"), required=False, choices=_item_choices(list(items))
            )
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                label=_("Quantity"), required=False, min_value=1, max_value=10_000_000
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.lines() and not self.errors:
            raise forms.ValidationError(_("Request at least one item with its quantity."))
        return data

    def lines(self) -> list[tuple[Item, int]]:
        return [
            (self.items[int(self.cleaned_data[f"item_{n}"])], self.cleaned_data[f"quantity_{n}"])
            for n in range(LINES)
            if self.cleaned_data.get(f"item_{n}") and self.cleaned_data.get(f"quantity_{n}")
        ]

    def line_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"item_{n}"], self[f"quantity_{n}"]) for n in range(LINES)]

    def point(self, name: str) -> HoldingPoint:
        return self.points[int(self.cleaned_data[name])]


class ItemForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.CharField(label=_("Unit"), max_length=20)
    category = forms.ChoiceField(label=_("Category"), choices=ItemCategory.choices)
    shelf_life_days = forms.IntegerField(label=_("Shelf life (days)"), min_value=1, required=False)
    forecast_driver = forms.ChoiceField(label=_("Use grows with"), choices=ForecastDriver.choices)
    forecast_rate = forms.DecimalField(
        label=_("Units per driver unit"), min_value=0, decimal_places=3, initial=0
    )


class PointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=PointKind.choices)
    area = forms.ChoiceField(label=_("Area"))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    link = forms.ChoiceField(label=_("Is also"), required=False)

    def __init__(
        self, *args: Any, areas: list[tuple[str, str]] = (), links: list[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = list(areas)
        self.fields["link"].choices = [("", "—"), *links]


class RuleForm(forms.Form):
    point = forms.ChoiceField(label=_("Holding point"))
    item = forms.ChoiceField(label=_("Item"))
    min_quantity = forms.IntegerField(label=_("Minimum level"), min_value=0, initial=0)
    min_cover_days = forms.IntegerField(
        label=_("Minimum days of cover"), min_value=0, max_value=365, initial=0
    )

    def __init__(
        self, *args: Any, points: list[HoldingPoint] = (), items: list[Item] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.points = {p.pk: p for p in points}
        self.items = {i.pk: i for i in items}
        self.fields["point"].choices = _point_choices(list(points))
        self.fields["item"].choices = _item_choices(list(items))
