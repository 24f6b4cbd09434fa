"""Forms of the distribution pages: parsing only; the services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from biobank.distribution.models import Approval, Receipt, ReceiptLine, Shipment
from biobank.participants.models import DuoTerm
from biobank.specimens.models import Collection, MaterialType


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


def _datetime() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


class RequestForm(forms.Form):
    title = forms.CharField(label=_("Project title"), max_length=200)
    requester_institution = forms.CharField(label=_("Requester's institution"), max_length=200)
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}))
    purposes = forms.ModelMultipleChoiceField(
        label=_("Use (DUO terms)"),
        queryset=DuoTerm.objects.filter(kind=DuoTerm.Kind.PERMISSION),
    )
    diseases = forms.CharField(label=_("Diseases studied (comma-separated)"), required=False)
    commercial = forms.BooleanField(label=_("Commercial use"), required=False)
    genetic_study = forms.BooleanField(label=_("Genetic study"), required=False)
    nhi_linkage = forms.BooleanField(label=_("Linkage with health-insurance data"), required=False)
    irb_reference = forms.CharField(label=_("IRB approval reference"), max_length=100)
    irb_committee = forms.CharField(label=_("Approving committee"), max_length=200)
    irb_valid_from = forms.DateField(label=_("IRB approval from"), widget=_date())
    irb_valid_until = forms.DateField(label=_("IRB approval until"), widget=_date())
    irb_letter = forms.FileField(label=_("IRB approval letter"), required=False)
    material_types = forms.ModelMultipleChoiceField(
        label=_("Material types"),
        queryset=MaterialType.objects.filter(organization__isnull=True, is_active=True),
        required=False,
    )
    collection = forms.ModelChoiceField(
        label=_("Collection"), queryset=Collection.objects.none(), required=False
    )
    diagnosis = forms.CharField(label=_("Diagnosis (ICD-10 code prefix)"), required=False)
    quantity_per_specimen = forms.DecimalField(
        label=_("Quantity per specimen"), required=False, min_value=0
    )
    unit = forms.CharField(label=_("Unit"), required=False, max_length=10)
    participants_wanted = forms.IntegerField(
        label=_("Number of participants"), required=False, min_value=0
    )
    destination_institution = forms.CharField(label=_("Destination institution"), max_length=200)
    destination_country = forms.CharField(
        label=_("Destination country (two letters)"), max_length=2, initial="TW"
    )
    data_fields = forms.CharField(label=_("Data fields wanted (comma-separated)"), required=False)
    planned_on = forms.DateField(
        label=_("Planned distribution date"), required=False, widget=_date()
    )

    def __init__(self, *args: Any, collections: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if collections is not None:
            self.fields["collection"].queryset = collections  # type: ignore[attr-defined]

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["purposes"] = [t.pk for t in data["purposes"]]
        data["material_types"] = [t.code for t in data["material_types"]]
        data["diseases"] = _words(data["diseases"])
        data["data_fields"] = _words(data["data_fields"])
        data["participants_wanted"] = data["participants_wanted"] or 0
        data["irb_letter"] = data["irb_letter"] or None
        return data


class ApprovalForm(forms.Form):
    body = forms.ChoiceField(label=_("Body"), choices=Approval.Body.choices)
    decision = forms.ChoiceField(label=_("Decision"), choices=Approval.Decision.choices)
    decided_on = forms.DateField(label=_("Decided on"), widget=_date())
    reference = forms.CharField(label=_("Reference"), max_length=100)
    conditions = forms.CharField(
        label=_("Conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    document = forms.FileField(label=_("Document"), required=False)


class AgreementForm(forms.Form):
    terms = forms.CharField(label=_("Terms"), widget=forms.Textarea(attrs={"rows": 3}))
    signed_on = forms.DateField(label=_("Signed on"), widget=_date())
    recipient_signatory = forms.CharField(label=_("Signed for the recipient by"), max_length=200)
    study_ends_on = forms.DateField(label=_("Study ends on"), required=False, widget=_date())
    document = forms.FileField(label=_("Signed document"), required=False)


class ReserveForm(forms.Form):
    barcodes = forms.CharField(
        label=_("Barcodes (empty: the eligible ones, one per participant)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def barcode_list(self) -> list[str]:
        return _words(self.cleaned_data["barcodes"])


class ShipmentForm(forms.Form):
    containers = forms.IntegerField(label=_("Containers"), min_value=1, initial=1)
    temperature = forms.ChoiceField(label=_("Temperature"), choices=Shipment.Temperature.choices)
    dry_ice_kg = forms.DecimalField(label=_("Dry ice (kg)"), required=False, min_value=0)
    risk_group = forms.TypedChoiceField(
        label=_("Risk group (used only when the biosafety register records none)"),
        choices=[("", "—"), (1, "1"), (2, "2"), (3, "3"), (4, "4")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    category_a_pathogen = forms.BooleanField(label=_("Category A pathogen"), required=False)
    affects_humans = forms.BooleanField(label=_("Affects humans"), required=False, initial=True)
    courier = forms.CharField(label=_("Courier"), max_length=120)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=120)


class ReceiptForm(forms.Form):
    """The receipt of one shipment: its condition, and what became of each item."""

    condition = forms.ChoiceField(label=_("Condition"), choices=Receipt.Condition.choices)
    received_at = forms.DateTimeField(label=_("Received"), required=False, widget=_datetime())
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, barcodes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barcodes = list(barcodes)
        for n, barcode in enumerate(self.barcodes):
            self.fields[f"item_{n}"] = forms.ChoiceField(
                label=barcode,
                choices=ReceiptLine.Outcome.choices,
                initial=ReceiptLine.Outcome.RECEIVED,
                required=False,  # not given: received
            )

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        outcomes = {b: data.get(f"item_{n}") for n, b in enumerate(self.barcodes)}
        return {
            "condition": data["condition"],
            "received_at": data["received_at"],
            "note": data["note"],
            "damaged": [b for b, o in outcomes.items() if o == ReceiptLine.Outcome.DAMAGED],
            "missing": [b for b, o in outcomes.items() if o == ReceiptLine.Outcome.MISSING],
        }


class SpillForm(forms.Form):
    notified_at = forms.DateTimeField(label=_("Notified"), widget=_datetime())
    reported_by = forms.CharField(label=_("Reported by (carrier or receiver)"), max_length=200)
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ItemForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    condition = forms.CharField(label=_("Condition"), required=False, max_length=200)
    unit = forms.CharField(label=_("Box barcode"), required=False, max_length=64)
    position = forms.CharField(label=_("Position"), required=False, max_length=10)
    method = forms.CharField(label=_("Method"), required=False, max_length=120)
    destroyed_on = forms.DateField(label=_("Destroyed on"), required=False, widget=_date())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ExportEntryAddForm(forms.Form):
    """Put a derivative on the biobank's export list (HB-05)."""

    material_type = forms.ModelChoiceField(
        label=_("Material type"),
        # every standard type: the service says which may go (rules.export_entry_allowed)
        queryset=MaterialType.objects.filter(organization__isnull=True, is_active=True).order_by(
            "category_id", "code"
        ),
        to_field_name="code",
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def arguments(self) -> dict[str, Any]:
        return {
            "material_type": self.cleaned_data["material_type"].code,
            "note": self.cleaned_data["note"],
        }


class ExportEntryRemoveForm(forms.Form):
    """Take a type off the biobank's export list (HB-05)."""

    material_type = forms.CharField(widget=forms.HiddenInput, max_length=40)
    reason = forms.CharField(label=_("Reason"), max_length=200)
