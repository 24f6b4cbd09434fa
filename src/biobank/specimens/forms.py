"""Forms for collections and specimens. They parse input; services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from biobank.core.models import Site
from biobank.specimens.models import (
    Collection,
    MaterialType,
    Specimen,
    SpecimenEvent,
    SpecimenRequirement,
    StorageTemperature,
)
from biobank.specimens.models.specimens import Unit

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"})


class TypeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.label}"


def _types() -> Any:
    return MaterialType.objects.filter(is_active=True).select_related("category")


class CollectionForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("cohort", _("cohort")),
            ("study", _("study")),
            ("protocol", _("collection protocol")),
        ],
    )
    principal_investigator = forms.CharField(label=_("Principal investigator"), max_length=120)
    irb_reference = forms.CharField(
        label=_("IRB approval reference"), max_length=100, required=False
    )
    irb_valid_from = forms.DateField(label=_("IRB approval from"), required=False, widget=DATE)
    irb_valid_until = forms.DateField(label=_("IRB approval until"), required=False, widget=DATE)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PlanNodeForm(forms.Form):
    parent = forms.ModelChoiceField(
        label=_("Made from"), queryset=SpecimenRequirement.objects.none(), required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SpecimenRequirement.Kind.choices)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    material_type = TypeChoice(label=_("Material type"), queryset=MaterialType.objects.none())
    count = forms.IntegerField(label=_("How many"), min_value=1, max_value=50, initial=1)
    quantity = forms.DecimalField(label=_("Quantity each"), min_value=0, decimal_places=4)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    quantity_taken = forms.DecimalField(
        label=_("Taken from the parent, each"), required=False, min_value=0, decimal_places=4
    )
    container_type = forms.CharField(label=_("Container type"), max_length=60, required=False)

    def __init__(self, *args: Any, collection: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = collection.plan.all()  # type: ignore[attr-defined]
        self.fields["material_type"].queryset = _types()  # type: ignore[attr-defined]


class VisitForm(forms.Form):
    participant_code = forms.CharField(label=_("Participant code"), max_length=40)
    collected_at = forms.DateTimeField(label=_("Collected"), widget=DATETIME)
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)


class SpecimenForm(forms.Form):
    barcode = forms.CharField(
        label=_("Barcode"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to number it automatically."),
    )
    material_type = TypeChoice(label=_("Material type"), queryset=MaterialType.objects.none())
    quantity = forms.DecimalField(label=_("Quantity"), min_value=0, decimal_places=4)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    participant_code = forms.CharField(
        label=_("Participant code (human material)"), max_length=40, required=False
    )
    source_organism = forms.CharField(
        label=_("Source organism (non-human material)"), max_length=120, required=False
    )
    source_strain = forms.CharField(label=_("Strain or breed"), max_length=120, required=False)
    source_identifier = forms.CharField(
        label=_("Source identifier (e.g. animal ID)"), max_length=120, required=False
    )
    collection: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Collection"), queryset=Collection.objects.none(), required=False
    )
    collected_at = forms.DateTimeField(label=_("Collected"), widget=DATETIME)
    container_type = forms.CharField(label=_("Container type"), max_length=60, required=False)

    def __init__(self, *args: Any, collections: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = collections  # type: ignore[attr-defined]
        self.fields["material_type"].queryset = _types()  # type: ignore[attr-defined]


class AliquotForm(forms.Form):
    count = forms.IntegerField(label=_("Number of aliquots"), min_value=1, max_value=200)
    quantity_each = forms.DecimalField(label=_("Quantity each"), min_value=0, decimal_places=4)
    keep_empty = forms.BooleanField(label=_("Keep the parent when empty"), required=False)


class DeriveForm(forms.Form):
    material_type = TypeChoice(label=_("Derived material"), queryset=MaterialType.objects.none())
    quantity_taken = forms.DecimalField(
        label=_("Taken from this specimen"), min_value=0, decimal_places=4
    )
    count = forms.IntegerField(label=_("Number of tubes"), min_value=1, max_value=200, initial=1)
    quantity_each = forms.DecimalField(label=_("Quantity each"), min_value=0, decimal_places=4)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    g = forms.IntegerField(label=_("Centrifugation (g)"), required=False, min_value=1)
    minutes = forms.IntegerField(label=_("Centrifugation (minutes)"), required=False, min_value=1)
    temperature_c = forms.FloatField(label=_("Centrifugation temperature (°C)"), required=False)
    concentration = forms.DecimalField(label=_("Concentration"), required=False, min_value=0)
    concentration_unit = forms.CharField(
        label=_("Concentration unit"), required=False, max_length=20, initial="ng/µL"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["material_type"].queryset = _types()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        spin = [data.get("g"), data.get("minutes"), data.get("temperature_c")]
        if any(v is not None for v in spin) and any(v is None for v in spin):
            raise forms.ValidationError(
                _("A centrifugation records its force, time and temperature together.")
            )
        return data


class EventForm(forms.Form):
    activity = forms.ChoiceField(label=_("Activity"), choices=SpecimenEvent.Activity.choices)
    at = forms.DateTimeField(label=_("When"), widget=DATETIME)
    sop = forms.CharField(label=_("SOP"), max_length=60, required=False)
    sop_version = forms.CharField(label=_("SOP version"), max_length=20, required=False)
    temperature_c = forms.FloatField(label=_("Temperature (°C)"), required=False)
    condition = forms.CharField(label=_("Condition on receipt"), max_length=120, required=False)
    result = forms.CharField(label=_("Result"), max_length=200, required=False)

    def parameters(self) -> dict[str, Any]:
        data = self.cleaned_data
        activity = data["activity"]
        if activity in {"preservation", "freeze", "storage"}:
            return (
                {"temperature_c": data["temperature_c"]}
                if data["temperature_c"] is not None
                else {}
            )
        if activity == "reception":
            out: dict[str, Any] = {}
            if data["condition"]:
                out["condition"] = data["condition"]
            if data["temperature_c"] is not None:
                out["temperature_c"] = data["temperature_c"]
            return out
        return {}


class SearchForm(forms.Form):
    barcode = forms.CharField(label=_("Barcode"), required=False)
    participant = forms.CharField(label=_("Participant code"), required=False)
    collection = forms.CharField(label=_("Collection code"), required=False)
    material_type = forms.CharField(label=_("Material type code"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), *Specimen.Status.choices]
    )
    collected_from = forms.DateField(label=_("Collected from"), required=False, widget=DATE)
    collected_to = forms.DateField(label=_("Collected to"), required=False, widget=DATE)
    sprec = forms.CharField(label=_("SPREC starts with"), required=False)
    storage_temperature = forms.ModelChoiceField(
        label=_("Storage temperature"),
        required=False,
        queryset=StorageTemperature.objects.all(),
        to_field_name="code",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
    method = forms.CharField(label=_("Method"), max_length=100, required=False)


class ResultForm(forms.Form):
    analyte = forms.CharField(label=_("Analyte"), max_length=120)
    value = forms.CharField(label=_("Value"), max_length=120)
    unit = forms.CharField(label=_("Unit"), max_length=30, required=False)
    method = forms.CharField(label=_("Method"), max_length=120, required=False)
    performed_on = forms.DateField(label=_("Performed on"), widget=DATE)
    qc_flag = forms.ChoiceField(
        label=_("QC"), choices=[("pass", _("pass")), ("warning", _("warning")), ("fail", _("fail"))]
    )


class MaterialTypeForm(forms.Form):
    code = forms.CharField(label=_("Code (e.g. a TAF-BB-D01 code)"), max_length=40)
    label_zh = forms.CharField(label=_("Name (Chinese)"), max_length=120)
    label_en = forms.CharField(label=_("Name (English)"), max_length=120)
    maps_to = forms.CharField(
        label=_("Standard type it corresponds to"),
        max_length=40,
        help_text=_("A standard code such as PLASMA or WHOLE_BLOOD."),
    )
