"""Forms of the biosafety pages; they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from biobank.biosafety.models import (
    Agent,
    Approval,
    Committee,
    CommitteeDecision,
    CommitteeMember,
    Destruction,
    Drill,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
    Meeting,
    Regime,
    TrainingRecord,
)
from biobank.core.models import Site, User
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
    responsible_person = forms.CharField(
        label=pgettext_lazy("review form", "responsible person"), required=False
    )
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


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    description = forms.CharField(
        label=_("what happened"), widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(label=_("occurred"))
    level = forms.TypedChoiceField(
        label=_("incident level"), choices=[(n, n) for n in range(1, 5)], coerce=int
    )
    risk_assessment = forms.CharField(
        label=_("risk assessment"), widget=forms.Textarea(attrs={"rows": 3})
    )
    regime = forms.ChoiceField(label=_("regime"), choices=Regime.choices)
    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none(), required=False)
    materials = forms.ModelMultipleChoiceField(
        label=_("materials involved"), queryset=InfectiousMaterial.objects.none(), required=False
    )
    people_exposed = forms.IntegerField(label=_("people exposed"), min_value=0, initial=0)
    reported_by = forms.CharField(label=_("reported by"), max_length=200, required=False)

    def __init__(
        self,
        *args: Any,
        sites: QuerySet[Site],
        materials: QuerySet[InfectiousMaterial],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["materials"].queryset = materials  # type: ignore[attr-defined]


class AssessForm(forms.Form):
    level = forms.TypedChoiceField(
        label=_("incident level"), choices=[(n, n) for n in range(1, 5)], coerce=int
    )
    risk_assessment = forms.CharField(label=_("risk assessment"), widget=forms.Textarea)
    reason = forms.CharField(label=_("reason"), max_length=300)


class StepForm(forms.Form):
    description = forms.CharField(label=_("action taken"), widget=forms.Textarea(attrs={"rows": 2}))


class IncidentNoticeForm(forms.Form):
    key = forms.ChoiceField(
        label=_("report"),
        choices=[
            ("committee_notice", _("committee told")),
            ("authority_notice", _("authorities told")),
            ("authority_report", _("investigation report sent")),
        ],
    )
    at = forms.DateTimeField(label=_("when"))
    reference = forms.CharField(label=_("reference"), max_length=100)


class MeasureForm(forms.Form):
    material = forms.ModelChoiceField(
        label=_("material"), queryset=InfectiousMaterial.objects.none()
    )
    measure = forms.ChoiceField(
        label=_("measure"),
        choices=[("suspend", _("suspend")), ("seal", _("seal")), ("destroy", _("destroy"))],
    )
    note = forms.CharField(label=_("authorities' guidance or reason"), max_length=300)
    committee_reference = forms.CharField(
        label=_("committee confirmation (to destroy)"), max_length=100, required=False
    )

    def __init__(self, *args: Any, materials: QuerySet[InfectiousMaterial], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["material"].queryset = materials  # type: ignore[attr-defined]


class DayReferenceForm(forms.Form):
    on = _date(_("date"))
    reference = forms.CharField(label=_("reference"), max_length=100)


class WorkerForm(forms.Form):
    user = forms.ModelChoiceField(label=_("person"), queryset=User.objects.none())
    started_on = _date(_("started lab work on"))

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]


class TrainingRecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=TrainingRecord.Kind.choices)
    title = forms.CharField(label=_("title"), max_length=200)
    on = _date(_("on"))
    hours = forms.DecimalField(label=_("hours"), min_value=0, decimal_places=1, initial=0)
    recognised = forms.BooleanField(label=_("recognised by the central authority"), required=False)
    passed = forms.BooleanField(label=_("passed"), required=False, initial=True)
    provider = forms.CharField(label=_("provider"), max_length=200, required=False)
    tester_name = forms.CharField(label=_("tester"), max_length=120, required=False)
    tester_is_supervisor = forms.BooleanField(
        label=_("tester is the lab supervisor"), required=False
    )
    tester_years = forms.DecimalField(
        label=_("tester's years of experience"), min_value=0, decimal_places=1, initial=0
    )
    certificate = forms.CharField(label=_("certificate"), max_length=100, required=False)


class AssignForm(forms.Form):
    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none())
    assigned_on = _date(_("assigned on"))

    def __init__(self, *args: Any, sites: QuerySet[Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


PART_LABELS = {
    "response_team": _("1. response team and duties"),
    "grading_and_risk_assessment": _("2. incident grading and risk assessment"),
    "alert_handling_reporting": _("3. alert, handling and reporting"),
    "supplies_inventory": _("4. emergency supplies inventory"),
    "medical_procedure": _("5. emergency medical procedure"),
    "responder_protection": _("6. responder protection"),
    "evacuation": _("7. evacuation and other measures"),
    "cleanup_and_investigation": _("8. clean-up, disinfection, coordination, investigation report"),
}


class PlanForm(forms.Form):
    regime = forms.ChoiceField(label=_("regime"), choices=Regime.choices)
    title = forms.CharField(label=_("title"), max_length=200)
    version = forms.CharField(label=_("version"), max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in PART_LABELS.items():
            self.fields[key] = forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )

    def split(self) -> tuple[dict[str, Any], dict[str, str]]:
        data = dict(self.cleaned_data)
        parts = {key: data.pop(key) for key in PART_LABELS}
        return data, parts


class PartsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in PART_LABELS.items():
            self.fields[key] = forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )


class DrillForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Drill.Kind.choices)
    held_on = _date(_("held on"))
    site = forms.ModelChoiceField(label=_("site"), queryset=Site.objects.none(), required=False)
    scenario = forms.CharField(label=_("scenario"), widget=forms.Textarea(attrs={"rows": 2}))
    participants = forms.CharField(
        label=pgettext_lazy("drill", "participants"), widget=forms.Textarea(attrs={"rows": 2})
    )
    findings = forms.CharField(
        label=_("findings and improvements"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, sites: QuerySet[Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


class DestructionForm(forms.Form):
    material = forms.ModelChoiceField(
        label=_("material"), queryset=InfectiousMaterial.objects.none()
    )
    quantity = forms.DecimalField(
        label=_("quantity destroyed (empty: all)"), min_value=0, decimal_places=3, required=False
    )
    method = forms.ChoiceField(label=_("method"), choices=Destruction.Method.choices)
    destroyed_on = _date(_("destroyed on"))
    reason = forms.CharField(label=_("reason"), max_length=300)
    witness = forms.CharField(label=_("witness"), max_length=120, required=False)
    decision = forms.ModelChoiceField(
        label=_("committee decision"), queryset=CommitteeDecision.objects.none(), required=False
    )
    confirmed_on = forms.DateField(
        label=_("or: confirmed by the committee on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
    )
    committee_reference = forms.CharField(
        label=_("and the committee reference"), max_length=100, required=False
    )

    def __init__(
        self,
        *args: Any,
        materials: QuerySet[InfectiousMaterial],
        decisions: QuerySet[CommitteeDecision] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["material"].queryset = materials  # type: ignore[attr-defined]
        if decisions is not None:
            self.fields["decision"].queryset = decisions  # type: ignore[attr-defined]


class MeetingForm(forms.Form):
    held_on = _date(_("held on"))
    attendees = forms.ModelMultipleChoiceField(
        label=_("members present"),
        queryset=CommitteeMember.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    agenda = forms.CharField(label=_("agenda"), widget=forms.Textarea(attrs={"rows": 3}))
    minutes = forms.CharField(
        label=pgettext_lazy("meeting", "minutes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    document = forms.FileField(label=_("signed minutes (PDF or image)"), required=False)

    def __init__(self, *args: Any, members: QuerySet[CommitteeMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = members  # type: ignore[attr-defined]


class MinutesForm(forms.Form):
    meeting = forms.ModelChoiceField(label=_("meeting"), queryset=Meeting.objects.none())
    minutes = forms.CharField(
        label=pgettext_lazy("meeting", "minutes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    document = forms.FileField(label=_("signed minutes (PDF or image)"), required=False)
    reason = forms.CharField(label=_("reason for the change"), max_length=300, required=False)

    def __init__(self, *args: Any, meetings: QuerySet[Meeting], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = meetings  # type: ignore[attr-defined]


class ApprovalChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_kind_display()} {obj.material.code} @ {obj.site.code}"


class CommitteeDecisionForm(forms.Form):
    meeting = forms.ModelChoiceField(label=_("meeting"), queryset=Meeting.objects.none())
    decides = forms.ChoiceField(label=_("decides"), choices=CommitteeDecision.Decides.choices)
    outcome = forms.ChoiceField(label=_("outcome"), choices=CommitteeDecision.Outcome.choices)
    subject = forms.CharField(label=_("subject"), max_length=300, required=False)
    conditions = forms.CharField(label=_("conditions"), required=False)
    reference = forms.CharField(
        label=_("reference (empty: numbered in the meeting)"), max_length=100, required=False
    )
    approval = ApprovalChoiceField(
        label=_("approval decided"), queryset=Approval.objects.none(), required=False
    )
    material = forms.ModelChoiceField(
        label=_("material to destroy"), queryset=InfectiousMaterial.objects.none(), required=False
    )
    incident = forms.ModelChoiceField(
        label=_("incident whose material may be used again"),
        queryset=Incident.objects.none(),
        required=False,
    )
    plan = forms.ModelChoiceField(
        label=_("emergency plan approved"), queryset=EmergencyPlan.objects.none(), required=False
    )

    def __init__(
        self,
        *args: Any,
        meetings: QuerySet[Meeting],
        approvals: QuerySet[Approval],
        materials: QuerySet[InfectiousMaterial],
        incidents: QuerySet[Incident],
        plans: QuerySet[EmergencyPlan],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (
            ("meeting", meetings),
            ("approval", approvals),
            ("material", materials),
            ("incident", incidents),
            ("plan", plans),
        ):
            self.fields[name].queryset = queryset  # type: ignore[attr-defined]


class PurgeForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300)
