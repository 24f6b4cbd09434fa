"""Forms of the biosafety pages; they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from biobank.biosafety.models import (
    Agent,
    Approval,
    Committee,
    CommitteeMember,
    InfectiousMaterial,
    Regime,
)
from biobank.core.models import Site
from biobank.storage.models import StorageUnit


class AgentForm(forms.Form):
    code = forms.SlugField(label=_("code"), max_length=40)
    name = forms.CharField(label=_("name"), max_length=200)
    name_zh = forms.CharField(label=_("name (Chinese)"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=Agent.Kind.choices)
    taxonomy = forms.CharField(label=_("taxonomy"), max_length=200, required=False)
    risk_group = forms.TypedChoiceField(
        label=_("risk group"), choices=[(n, n) for n in range(1, 5)], coerce=int
    )
    zoonotic = forms.BooleanField(label=_("zoonotic"), required=False)
    controlled = forms.BooleanField(label=_("controlled pathogen or toxin"), required=False)
    designated_animal_disease = forms.BooleanField(
        label=_("designated animal disease"), required=False
    )
    disease = forms.CharField(label=_("disease"), max_length=200, required=False)
    source = forms.CharField(label=_("source of the classification"), max_length=300)


class MaterialForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=40)
    agent = forms.ModelChoiceField(label=_("agent"), queryset=Agent.objects.none())
    material_class = forms.TypedChoiceField(
        label=_("class"), choices=InfectiousMaterial.MaterialClass.choices, coerce=int
    )
    regime = forms.ChoiceField(label=_("regime"), choices=Regime.choices)
    form = forms.ChoiceField(label=_("form"), choices=InfectiousMaterial.Form.choices)
    description = forms.CharField(label=_("description"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("quantity"), min_value=0, decimal_places=3)
    unit = forms.CharField(label=_("unit"), max_length=10)
    site = forms.ModelChoiceField(label=_("owner lab"), queryset=Site.objects.none())
    storage_unit = forms.ModelChoiceField(
        label=_("stored in"), queryset=StorageUnit.objects.none(), required=False
    )
    inactivation = forms.ChoiceField(
        label=_("inactivation"), choices=InfectiousMaterial.Inactivation.choices
    )
    inactivation_validated = forms.BooleanField(label=_("validated method"), required=False)
    inactivation_reference = forms.CharField(
        label=_("validation reference"), max_length=200, required=False
    )

    def __init__(
        self,
        *args: Any,
        agents: QuerySet[Agent],
        sites: QuerySet[Site],
        units: QuerySet[StorageUnit],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents  # type: ignore[attr-defined]
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["storage_unit"].queryset = units  # type: ignore[attr-defined]


class CommitteeForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Committee.Kind.choices)
    regime = forms.ChoiceField(label=_("regime"), choices=Regime.choices)
    name = forms.CharField(label=_("name"), max_length=200)
    formed_on = forms.DateField(
        label=_("formed on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class MemberForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    role = forms.ChoiceField(label=_("role"), choices=CommitteeMember.Role.choices)
    joined_on = forms.DateField(
        label=_("joined on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    years_lab_experience = forms.DecimalField(
        label=_("years of lab experience"), min_value=0, initial=0
    )
    training_hours = forms.DecimalField(label=_("biosafety training hours"), min_value=0, initial=0)


class ReportForm(forms.Form):
    reported_on = forms.DateField(
        label=_("reported on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label=_("reference"), max_length=100)


class ApprovalRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Approval.Kind.choices)
    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none())
    purpose = forms.CharField(label=_("purpose"), widget=forms.Textarea(attrs={"rows": 2}))
    propagating = forms.BooleanField(label=_("propagates the pathogen"), required=False)
    large_scale = forms.BooleanField(label=_("large-scale propagation"), required=False)
    project = forms.CharField(label=_("project"), required=False)
    responsible_person = forms.CharField(label=_("responsible person"), required=False)
    personnel = forms.CharField(label=_("personnel"), required=False)
    containment = forms.CharField(label=_("containment"), required=False)
    handling = forms.CharField(label=_("handling"), required=False)
    storage = forms.CharField(label=_("storage"), required=False)
    emergency_plan = forms.CharField(label=_("emergency plan"), required=False)

    REVIEW_FIELDS = (
        "project",
        "responsible_person",
        "personnel",
        "containment",
        "handling",
        "storage",
        "emergency_plan",
    )

    def __init__(self, *args: Any, sites: QuerySet[Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["review_form"] = {name: data.pop(name) for name in self.REVIEW_FIELDS}
        return data


class DecisionForm(forms.Form):
    approved = forms.TypedChoiceField(
        label=_("decision"),
        choices=[("1", _("approved")), ("0", _("rejected"))],
        coerce=lambda value: value == "1",
    )
    decided_on = forms.DateField(
        label=_("decided on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label=_("reference"), max_length=100)
    conditions = forms.CharField(label=_("conditions"), required=False)


class InventoryStartForm(forms.Form):
    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none())
    regime = forms.ChoiceField(label=_("regime"), choices=Regime.choices)

    def __init__(self, *args: Any, sites: QuerySet[Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


class CountForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    found_quantity = forms.DecimalField(label=_("found"), min_value=0, decimal_places=3)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class DayForm(forms.Form):
    on = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))


class NoticeForm(forms.Form):
    at = forms.DateTimeField(label=_("when"))
    reference = forms.CharField(label=_("reference"), max_length=100)


class FindingsForm(forms.Form):
    on = forms.DateField(label=_("completed on"), widget=forms.DateInput(attrs={"type": "date"}))
    findings = forms.CharField(label=_("findings"), widget=forms.Textarea(attrs={"rows": 3}))


class ReportSentForm(forms.Form):
    on = forms.DateField(label=_("sent on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(label=_("reference"), max_length=100)
