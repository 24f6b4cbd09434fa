"""Biosafety in the HTTP API: agents, infectious materials, committees with their meetings and
decisions, approvals, inventories and anomalies, incidents, training, emergency plans and
destructions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from biobank.biosafety import rules, selectors, services
from biobank.biosafety.models import (
    Agent,
    Anomaly,
    Approval,
    Committee,
    CommitteeDecision,
    Destruction,
    Drill,
    EmergencyPlan,
    Incident,
    IncidentStep,
    InfectiousMaterial,
    InventoryCheck,
    InventoryLine,
    LabWorker,
    Meeting,
    TrainingRecord,
)
from biobank.core.errors import ApplicationError
from biobank.core.models import Obligation, Site, User
from biobank.core.selectors import organization_get_for_user
from biobank.storage.models import StorageUnit

router = Router(tags=["biosafety"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class AgentOut(Schema):
    id: UUID = Field(alias="public_id")
    code: str
    name: str
    name_zh: str
    kind: str
    taxonomy: str
    risk_group: int
    zoonotic: bool
    controlled: bool
    designated_animal_disease: bool
    disease: str
    source: str
    organization: str | None = None

    @staticmethod
    def resolve_organization(obj: Agent) -> str | None:
        return obj.organization.code if obj.organization else None


class AgentIn(Schema):
    organization: str
    code: str
    name: str
    kind: str
    risk_group: int
    source: str
    name_zh: str = ""
    taxonomy: str = ""
    zoonotic: bool = False
    controlled: bool = False
    designated_animal_disease: bool = False
    disease: str = ""


class MaterialOut(Schema):
    id: UUID = Field(alias="public_id")
    code: str
    organization: str = Field(alias="organization.code")
    agent: UUID = Field(alias="agent.public_id")
    agent_name: str = Field(alias="agent.name")
    risk_group: int = Field(alias="agent.risk_group")
    material_class: int
    regime: str
    form: str
    quantity: Decimal
    unit: str
    site: str = Field(alias="site.code")
    storage_unit: str | None = None
    inactivation: str
    inactivation_validated: bool
    status: str

    @staticmethod
    def resolve_storage_unit(obj: InfectiousMaterial) -> str | None:
        return obj.storage_unit.barcode if obj.storage_unit else None


class MaterialIn(Schema):
    organization: str
    code: str
    agent: UUID
    material_class: int
    regime: str
    form: str
    quantity: Decimal
    unit: str
    site: str
    storage_unit: str | None = None
    inactivation: str = "none"
    inactivation_validated: bool = False
    inactivation_reference: str = ""
    description: str = ""


@router.get("/biosafety/agents", response=list[AgentOut])
def biosafety_agent_list(request: HttpRequest) -> list[Agent]:
    return list(selectors.agent_list_for_user(request.user))


@router.post("/biosafety/agents", response={201: AgentOut})
def biosafety_agent_create(request: HttpRequest, payload: AgentIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    return Status(
        201, services.agent_create(actor=_user(request), organization=organization, **data)
    )


@router.get("/biosafety/agents/{agent_id}", response=AgentOut)
def biosafety_agent_detail(request: HttpRequest, agent_id: UUID) -> Agent:
    return selectors.agent_get_for_user(request.user, agent_id)


@router.get("/biosafety/materials", response=list[MaterialOut])
def biosafety_material_list(request: HttpRequest) -> list[InfectiousMaterial]:
    return list(selectors.material_list_for_user(request.user)[:500])


@router.post("/biosafety/materials", response={201: MaterialOut})
def biosafety_material_create(request: HttpRequest, payload: MaterialIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    agent = selectors.agent_list_for_user(request.user).filter(public_id=data.pop("agent")).first()
    site = Site.objects.filter(organization=organization, code=data.pop("site")).first()
    if agent is None or site is None:
        raise Http404("agent or site not found")
    barcode = data.pop("storage_unit")
    unit = None
    if barcode:
        unit = StorageUnit.objects.filter(organization=organization, barcode=barcode).first()
        if unit is None:
            raise Http404("storage unit not found")
    made = services.material_register(
        actor=_user(request),
        organization=organization,
        agent=agent,
        site=site,
        storage_unit=unit,
        **data,
    )
    return Status(201, made)


@router.get("/biosafety/materials/{material_id}", response=MaterialOut)
def biosafety_material_detail(request: HttpRequest, material_id: UUID) -> InfectiousMaterial:
    return selectors.material_get_for_user(request.user, material_id)


class AttendeeOut(Schema):
    """A committee member: ``id`` names them among a meeting's attendees."""

    id: int
    name: str
    role: str


class CommitteeOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    kind: str
    regime: str
    name: str
    formed_on: date
    reported_on: date | None
    report_reference: str
    members: list[AttendeeOut]

    @staticmethod
    def resolve_members(obj: Committee) -> list[AttendeeOut]:
        return [AttendeeOut(id=m.pk, name=m.name, role=m.role) for m in obj.members.all()]


class CommitteeIn(Schema):
    organization: str
    kind: str
    regime: str
    name: str
    formed_on: date


class MemberIn(Schema):
    name: str
    role: str
    joined_on: date
    years_lab_experience: Decimal = Decimal(0)
    training_hours: Decimal = Decimal(0)


class ReportIn(Schema):
    reported_on: date
    reference: str


class ApprovalIn(Schema):
    kind: str
    purpose: str
    site: str | None = None
    propagating: bool = True
    large_scale: bool = False
    review_form: dict[str, str] = {}


class ApprovalOut(Schema):
    id: UUID = Field(alias="public_id")
    material: str = Field(alias="material.code")
    kind: str
    site: str = Field(alias="site.code")
    required_level: str
    lower_level_exception: bool
    central_required: bool
    status: str
    committee_reference: str
    central_reference: str


class DecisionIn(Schema):
    """The committee's or central authority's outcome, day and reference; for the committee,
    ``decision`` (a decision recorded at a meeting) may be given instead."""

    step: str
    approved: bool | None = None
    decided_on: date | None = None
    reference: str = ""
    conditions: str = ""
    decision: UUID | None = None


@router.get("/biosafety/committees", response=list[CommitteeOut])
def biosafety_committee_list(request: HttpRequest) -> list[Committee]:
    return list(selectors.committee_list_for_user(request.user).prefetch_related("members"))


@router.post("/biosafety/committees", response={201: CommitteeOut})
def biosafety_committee_create(request: HttpRequest, payload: CommitteeIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    return Status(
        201, services.committee_form(actor=_user(request), organization=organization, **data)
    )


@router.get("/biosafety/committees/{committee_id}", response=CommitteeOut)
def biosafety_committee_detail(request: HttpRequest, committee_id: UUID) -> Committee:
    return selectors.committee_get_for_user(request.user, committee_id)


@router.post("/biosafety/committees/{committee_id}/members", response={201: CommitteeOut})
def biosafety_committee_member_add(
    request: HttpRequest, committee_id: UUID, payload: MemberIn
) -> Status:
    committee = selectors.committee_get_for_user(request.user, committee_id)
    services.committee_member_add(actor=_user(request), committee=committee, **payload.dict())
    return Status(201, committee)


@router.post("/biosafety/committees/{committee_id}/report", response=CommitteeOut)
def biosafety_committee_report(
    request: HttpRequest, committee_id: UUID, payload: ReportIn
) -> Committee:
    committee = selectors.committee_get_for_user(request.user, committee_id)
    return services.committee_report(actor=_user(request), committee=committee, **payload.dict())


def _decision(request: HttpRequest, decision_id: UUID | None) -> CommitteeDecision | None:
    if decision_id is None:
        return None
    return selectors.decision_get_for_user(request.user, decision_id)


# Meetings and decisions (BS-06) ---------------------------------------------------------------


class CommitteeDecisionOut(Schema):
    id: UUID = Field(alias="public_id")
    meeting: UUID = Field(alias="meeting.public_id")
    held_on: date = Field(alias="meeting.held_on")
    number: int
    reference: str
    decides: str
    subject: str
    outcome: str
    conditions: str
    approval: UUID | None = None
    material: str | None = None
    incident: UUID | None = None
    plan: UUID | None = None

    @staticmethod
    def resolve_approval(obj: CommitteeDecision) -> UUID | None:
        return obj.approval.public_id if obj.approval else None

    @staticmethod
    def resolve_material(obj: CommitteeDecision) -> str | None:
        return obj.material.code if obj.material else None

    @staticmethod
    def resolve_incident(obj: CommitteeDecision) -> UUID | None:
        return obj.incident.public_id if obj.incident else None

    @staticmethod
    def resolve_plan(obj: CommitteeDecision) -> UUID | None:
        return obj.plan.public_id if obj.plan else None


class MeetingOut(Schema):
    id: UUID = Field(alias="public_id")
    committee: UUID = Field(alias="committee.public_id")
    held_on: date
    agenda: str
    minutes: str
    minutes_document: bool
    minutes_document_sha256: str
    attendees: list[AttendeeOut]
    decisions: list[CommitteeDecisionOut]

    @staticmethod
    def resolve_minutes_document(obj: Meeting) -> bool:
        return bool(obj.minutes_document)

    @staticmethod
    def resolve_attendees(obj: Meeting) -> list[AttendeeOut]:
        return [AttendeeOut(id=a.pk, name=a.name, role=a.role) for a in obj.attendees.all()]

    @staticmethod
    def resolve_decisions(obj: Meeting) -> list[CommitteeDecision]:
        return list(obj.decisions.all())


class MeetingIn(Schema):
    """``attendees``: the ids of the committee's members present (the committee's
    ``members``). The signed minutes are uploaded on the committee's page."""

    held_on: date
    agenda: str
    attendees: list[int]
    minutes: str = ""


class MinutesIn(Schema):
    minutes: str
    reason: str = ""


class CommitteeDecisionIn(Schema):
    """``decides``: approval, destruction, resumption, plan or other; name the record it
    decides with ``approval``, ``incident``, ``plan`` (ids) or ``material`` (code)."""

    decides: str
    outcome: str
    subject: str = ""
    conditions: str = ""
    reference: str = ""
    approval: UUID | None = None
    material: str | None = None
    incident: UUID | None = None
    plan: UUID | None = None


@router.get("/biosafety/committees/{committee_id}/meetings", response=list[MeetingOut])
def biosafety_meeting_list(request: HttpRequest, committee_id: UUID) -> list[Meeting]:
    committee = selectors.committee_get_for_user(request.user, committee_id)
    return list(selectors.meeting_list_for_user(request.user).filter(committee=committee))


@router.post("/biosafety/committees/{committee_id}/meetings", response={201: MeetingOut})
def biosafety_meeting_record(
    request: HttpRequest, committee_id: UUID, payload: MeetingIn
) -> Status:
    committee = selectors.committee_get_for_user(request.user, committee_id)
    present = list(committee.members.filter(pk__in=payload.attendees))
    if len(present) != len(set(payload.attendees)):
        raise Http404("member not found")
    made = services.meeting_record(
        actor=_user(request),
        committee=committee,
        held_on=payload.held_on,
        agenda=payload.agenda,
        attendees=present,
        minutes=payload.minutes,
    )
    return Status(201, made)


@router.get("/biosafety/meetings/{meeting_id}", response=MeetingOut)
def biosafety_meeting_detail(request: HttpRequest, meeting_id: UUID) -> Meeting:
    return selectors.meeting_get_for_user(request.user, meeting_id)


@router.post("/biosafety/meetings/{meeting_id}/minutes", response=MeetingOut)
def biosafety_meeting_minutes(
    request: HttpRequest, meeting_id: UUID, payload: MinutesIn
) -> Meeting:
    meeting = selectors.meeting_get_for_user(request.user, meeting_id)
    return services.meeting_minutes_record(
        actor=_user(request), meeting=meeting, minutes=payload.minutes, reason=payload.reason
    )


@router.post("/biosafety/meetings/{meeting_id}/decisions", response={201: CommitteeDecisionOut})
def biosafety_decision_record(
    request: HttpRequest, meeting_id: UUID, payload: CommitteeDecisionIn
) -> Status:
    """A decision naming an approval (BS-10), an incident (BS-13) or a plan (BS-12) is applied
    to it; one naming material to destroy (BS-15) is cited when the destruction is recorded."""
    meeting = selectors.meeting_get_for_user(request.user, meeting_id)
    data = payload.dict()
    organization = meeting.organization
    links: dict[str, object] = {}
    if data["approval"] is not None:
        links["approval"] = selectors.approval_get_for_user(request.user, data["approval"])
    if data["incident"] is not None:
        links["incident"] = selectors.incident_get_for_user(request.user, data["incident"])
    if data["plan"] is not None:
        links["plan"] = selectors.plan_get_for_user(request.user, data["plan"])
    if data["material"]:
        material = (
            selectors.material_list_for_user(request.user)
            .filter(organization=organization, code=data["material"])
            .first()
        )
        if material is None:
            raise Http404("material not found")
        links["material"] = material
    made = services.decision_record(
        actor=_user(request),
        meeting=meeting,
        decides=data["decides"],
        outcome=data["outcome"],
        subject=data["subject"],
        conditions=data["conditions"],
        reference=data["reference"],
        **links,  # type: ignore[arg-type]
    )
    return Status(201, made)


@router.get("/biosafety/decisions", response=list[CommitteeDecisionOut])
def biosafety_decision_list(request: HttpRequest) -> list[CommitteeDecision]:
    return list(selectors.decision_list_for_user(request.user)[:500])


@router.get("/biosafety/approvals", response=list[ApprovalOut])
def biosafety_approval_list(request: HttpRequest) -> list[Approval]:
    return list(selectors.approval_list_for_user(request.user)[:500])


@router.post("/biosafety/materials/{material_id}/approvals", response={201: ApprovalOut})
def biosafety_approval_request(
    request: HttpRequest, material_id: UUID, payload: ApprovalIn
) -> Status:
    material = selectors.material_get_for_user(request.user, material_id)
    data = payload.dict()
    code = data.pop("site")
    site = None
    if code:
        site = Site.objects.filter(organization=material.organization, code=code).first()
        if site is None:
            raise Http404("site not found")
    made = services.approval_request(actor=_user(request), material=material, site=site, **data)
    return Status(201, made)


@router.post("/biosafety/approvals/{approval_id}/decision", response=ApprovalOut)
def biosafety_approval_decide(
    request: HttpRequest, approval_id: UUID, payload: DecisionIn
) -> Approval:
    """``step`` ``committee`` or ``central`` (the central authority, risk group 3-4)."""
    approval = selectors.approval_get_for_user(request.user, approval_id)
    data = payload.dict()
    step, decision_id = data.pop("step"), data.pop("decision")
    if step == "committee":
        return services.approval_committee_decide(
            actor=_user(request),
            approval=approval,
            decision=_decision(request, decision_id),
            **data,
        )
    if step == "central" and data["approved"] is not None and data["decided_on"] is not None:
        return services.approval_central_decide(actor=_user(request), approval=approval, **data)
    raise ApplicationError(_("The step is committee or central, with its decision."))


class LineOut(Schema):
    id: int
    material: str = Field(alias="material.code")
    agent: str = Field(alias="material.agent.name")
    expected_quantity: Decimal
    unit: str
    found_quantity: Decimal | None
    note: str


class StaffOut(Schema):
    username: str
    name: str
    role: str
    worker: str
    started_on: date | None
    hours: Decimal
    courses: int
    compliant: bool | None
    reason: str
    rule: str


class InventoryOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    site: str = Field(alias="site.code")
    regime: str
    started_on: date
    status: str
    next_due: date | None
    lines: list[LineOut]
    staff_since: date | None
    staff: list[StaffOut]

    @staticmethod
    def resolve_lines(obj: InventoryCheck) -> list[InventoryLine]:
        return list(obj.lines.select_related("material__agent"))

    @staticmethod
    def resolve_staff(obj: InventoryCheck) -> list[StaffOut]:
        """BS-11: the staff list with their course hours in the period and training status."""
        return [StaffOut(**entry.model_dump()) for entry in services.staff_entries(obj)]


class InventoryIn(Schema):
    organization: str
    site: str
    regime: str


class CountIn(Schema):
    line: int
    found_quantity: Decimal
    note: str = ""


class AnomalyOut(Schema):
    id: UUID = Field(alias="public_id")
    material: str = Field(alias="material.code")
    kind: str
    description: str
    major: bool
    regime: str
    noticed_at: datetime
    status: str
    authority_notified_at: datetime | None
    investigation_completed_on: date | None
    authority_reported_on: date | None
    deadlines: dict[str, datetime]

    @staticmethod
    def resolve_deadlines(obj: Anomaly) -> dict[str, datetime]:
        found = {}
        for key in obj.clocks:
            obligation = services.clock(obj, key)
            if obligation is not None:
                found[key] = obligation.due_at
        return found


class AnomalyStepIn(Schema):
    """``notified`` (at, reference), ``investigated`` (on, findings), ``reported`` (on,
    reference)."""

    step: str
    at: datetime | None = None
    on: date | None = None
    reference: str = ""
    findings: str = ""


@router.get("/biosafety/inventories", response=list[InventoryOut])
def biosafety_inventory_list(request: HttpRequest) -> list[InventoryCheck]:
    return list(selectors.inventory_list_for_user(request.user)[:200])


@router.post("/biosafety/inventories", response={201: InventoryOut})
def biosafety_inventory_start(request: HttpRequest, payload: InventoryIn) -> Status:
    organization = organization_get_for_user(request.user, payload.organization)
    site = Site.objects.filter(organization=organization, code=payload.site).first()
    if site is None:
        raise Http404("site not found")
    made = services.inventory_start(actor=_user(request), site=site, regime=payload.regime)
    return Status(201, made)


@router.get("/biosafety/inventories/{inventory_id}", response=InventoryOut)
def biosafety_inventory_detail(request: HttpRequest, inventory_id: UUID) -> InventoryCheck:
    return selectors.inventory_get_for_user(request.user, inventory_id)


@router.post("/biosafety/inventories/{inventory_id}/count", response=InventoryOut)
def biosafety_inventory_count(
    request: HttpRequest, inventory_id: UUID, payload: CountIn
) -> InventoryCheck:
    inventory = selectors.inventory_get_for_user(request.user, inventory_id)
    line = inventory.lines.filter(pk=payload.line).first()
    if line is None:
        raise Http404("line not found")
    services.inventory_record(
        actor=_user(request), line=line, found_quantity=payload.found_quantity, note=payload.note
    )
    return inventory


@router.post("/biosafety/inventories/{inventory_id}/complete", response=list[AnomalyOut])
def biosafety_inventory_complete(request: HttpRequest, inventory_id: UUID) -> list[Anomaly]:
    """Complete the count; answers the anomalies found, with their deadlines."""
    inventory = selectors.inventory_get_for_user(request.user, inventory_id)
    return services.inventory_complete(actor=_user(request), inventory=inventory)


@router.get("/biosafety/anomalies", response=list[AnomalyOut])
def biosafety_anomaly_list(request: HttpRequest) -> list[Anomaly]:
    return list(selectors.anomaly_list_for_user(request.user)[:200])


@router.get("/biosafety/anomalies/{anomaly_id}", response=AnomalyOut)
def biosafety_anomaly_detail(request: HttpRequest, anomaly_id: UUID) -> Anomaly:
    return selectors.anomaly_get_for_user(request.user, anomaly_id)


@router.post("/biosafety/anomalies/{anomaly_id}/step", response=AnomalyOut)
def biosafety_anomaly_step(
    request: HttpRequest, anomaly_id: UUID, payload: AnomalyStepIn
) -> Anomaly:
    anomaly = selectors.anomaly_get_for_user(request.user, anomaly_id)
    actor = _user(request)
    if payload.step == "notified" and payload.at is not None:
        return services.anomaly_authorities_notified(
            actor=actor, anomaly=anomaly, at=payload.at, reference=payload.reference
        )
    if payload.step == "investigated" and payload.on is not None:
        return services.anomaly_investigation_complete(
            actor=actor, anomaly=anomaly, completed_on=payload.on, findings=payload.findings
        )
    if payload.step == "reported" and payload.on is not None:
        return services.anomaly_report_sent(
            actor=actor, anomaly=anomaly, reported_on=payload.on, reference=payload.reference
        )
    raise ApplicationError(_("Give a known step with its date."))


# Incidents (BS-13, BS-14) --------------------------------------------------------------------


class StepOut(Schema):
    kind: str
    at: datetime
    description: str
    material: str | None = None

    @staticmethod
    def resolve_material(obj: IncidentStep) -> str | None:
        return obj.material.code if obj.material else None


class IncidentOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    kind: str
    regime: str
    site: str | None = None
    title: str
    description: str
    occurred_at: datetime
    noticed_at: datetime
    level: int
    risk_assessment: str
    people_exposed: int
    status: str
    investigation_completed_on: date | None
    committee_confirmed_on: date | None
    authority_consented_on: date | None
    resumed_on: date | None
    closed_on: date | None
    materials: list[str]
    steps: list[StepOut]
    deadlines: dict[str, datetime]

    @staticmethod
    def resolve_site(obj: Incident) -> str | None:
        return obj.site.code if obj.site else None

    @staticmethod
    def resolve_materials(obj: Incident) -> list[str]:
        return [m.code for m in obj.materials.all()]

    @staticmethod
    def resolve_steps(obj: Incident) -> list[IncidentStep]:
        return list(obj.steps.select_related("material"))

    @staticmethod
    def resolve_deadlines(obj: Incident) -> dict[str, datetime]:
        found = {}
        for key, pk in obj.clocks.items():
            obligation = Obligation.objects.filter(pk=pk).first()
            if obligation is not None:
                found[key] = obligation.due_at
        return found


class IncidentIn(Schema):
    organization: str
    title: str
    description: str
    occurred_at: datetime
    level: int
    risk_assessment: str
    regime: str
    site: str | None = None
    materials: list[str] = []
    noticed_at: datetime | None = None
    people_exposed: int = 0
    reported_by: str = ""


class IncidentStepIn(Schema):
    """``action`` (description), ``notice`` (key, at, reference), ``investigated`` (on,
    findings), ``measure`` (material, measure, note, committee_reference or decision),
    ``confirm`` (on, reference, or decision), ``consent`` (on, reference), ``close`` (on)."""

    step: str
    description: str = ""
    key: str = ""
    at: datetime | None = None
    on: date | None = None
    reference: str = ""
    findings: str = ""
    material: str = ""
    measure: str = ""
    note: str = ""
    committee_reference: str = ""
    decision: UUID | None = None


class DayIn(Schema):
    on: date


@router.get("/biosafety/incidents", response=list[IncidentOut])
def biosafety_incident_list(request: HttpRequest) -> list[Incident]:
    return list(
        selectors.incident_list_for_user(request.user).prefetch_related(
            "materials", "steps__material"
        )[:200]
    )


@router.post("/biosafety/incidents", response={201: IncidentOut})
def biosafety_incident_report(request: HttpRequest, payload: IncidentIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    site_code, codes = data.pop("site"), data.pop("materials")
    site = None
    if site_code:
        site = Site.objects.filter(organization=organization, code=site_code).first()
        if site is None:
            raise Http404("site not found")
    materials = list(
        selectors.material_list_for_user(request.user).filter(
            organization=organization, code__in=codes
        )
    )
    if len(materials) != len(set(codes)):
        raise Http404("material not found")
    made = services.incident_report(
        actor=_user(request), organization=organization, site=site, materials=materials, **data
    )
    return Status(201, made)


@router.get("/biosafety/incidents/{incident_id}", response=IncidentOut)
def biosafety_incident_detail(request: HttpRequest, incident_id: UUID) -> Incident:
    return selectors.incident_get_for_user(request.user, incident_id)


@router.post("/biosafety/incidents/{incident_id}/step", response=IncidentOut)
def biosafety_incident_step(
    request: HttpRequest, incident_id: UUID, payload: IncidentStepIn
) -> Incident:
    incident = selectors.incident_get_for_user(request.user, incident_id)
    actor, step = _user(request), payload.step
    if step == "action":
        services.incident_step_add(
            actor=actor, incident=incident, description=payload.description, at=payload.at
        )
    elif step == "notice" and payload.at is not None:
        services.incident_notice_sent(
            actor=actor,
            incident=incident,
            key=payload.key,
            at=payload.at,
            reference=payload.reference,
        )
    elif step == "investigated" and payload.on is not None:
        services.incident_investigation_complete(
            actor=actor, incident=incident, completed_on=payload.on, findings=payload.findings
        )
    elif step == "measure":
        material = (
            selectors.material_list_for_user(request.user)
            .filter(organization=incident.organization, code=payload.material)
            .first()
        )
        if material is None:
            raise Http404("material not found")
        services.incident_material_measure(
            actor=actor,
            incident=incident,
            material=material,
            measure=payload.measure,
            note=payload.note,
            committee_reference=payload.committee_reference,
            decision=_decision(request, payload.decision),
        )
    elif step == "confirm" and (payload.on is not None or payload.decision is not None):
        services.incident_committee_confirm(
            actor=actor,
            incident=incident,
            confirmed_on=payload.on,
            reference=payload.reference,
            decision=_decision(request, payload.decision),
        )
    elif step == "consent" and payload.on is not None:
        services.incident_authority_consent(
            actor=actor, incident=incident, consented_on=payload.on, reference=payload.reference
        )
    elif step == "close" and payload.on is not None:
        services.incident_close(actor=actor, incident=incident, closed_on=payload.on)
    else:
        raise ApplicationError(_("Give a known step with its date."))
    return selectors.incident_get_for_user(request.user, incident_id)


@router.post("/biosafety/incidents/{incident_id}/resume", response=IncidentOut)
def biosafety_incident_resume(request: HttpRequest, incident_id: UUID, payload: DayIn) -> Incident:
    """Use sealed or suspended material again: refused (BS-13) until the committee confirmed
    and the authorities consented."""
    incident = selectors.incident_get_for_user(request.user, incident_id)
    return services.incident_resume(actor=_user(request), incident=incident, resumed_on=payload.on)


# Training and assignments (BS-09, HP-05) -----------------------------------------------------


class TrainingRecordOut(Schema):
    id: UUID = Field(alias="public_id")
    kind: str
    title: str
    on: date
    hours: Decimal
    recognised: bool
    passed: bool
    tester_name: str


class WorkerOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    username: str = Field(alias="user.username")
    started_on: date
    sites: list[str]
    compliant: bool
    reason: str
    rule: str
    records: list[TrainingRecordOut]

    @staticmethod
    def resolve_sites(obj: LabWorker) -> list[str]:
        return [a.site.code for a in obj.assignments.all() if a.ended_on is None]

    @staticmethod
    def resolve_compliant(obj: LabWorker) -> bool:
        return services.worker_compliance(obj).allowed

    @staticmethod
    def resolve_reason(obj: LabWorker) -> str:
        return services.worker_compliance(obj).reason

    @staticmethod
    def resolve_rule(obj: LabWorker) -> str:
        return services.worker_compliance(obj).rule

    @staticmethod
    def resolve_records(obj: LabWorker) -> list[TrainingRecord]:
        return list(obj.records.all())


class WorkerIn(Schema):
    organization: str
    username: str
    started_on: date


class TrainingRecordIn(Schema):
    kind: str
    title: str
    on: date
    hours: Decimal = Decimal(0)
    recognised: bool = False
    passed: bool = True
    provider: str = ""
    tester_name: str = ""
    tester_is_supervisor: bool = False
    tester_years: Decimal = Decimal(0)
    certificate: str = ""


class AssignmentIn(Schema):
    site: str
    assigned_on: date | None = None


@router.get("/biosafety/workers", response=list[WorkerOut])
def biosafety_worker_list(request: HttpRequest) -> list[LabWorker]:
    return list(selectors.worker_list_for_user(request.user)[:500])


@router.post("/biosafety/workers", response={201: WorkerOut})
def biosafety_worker_register(request: HttpRequest, payload: WorkerIn) -> Status:
    organization = organization_get_for_user(request.user, payload.organization)
    user = User.objects.filter(username=payload.username).first()
    if user is None:
        raise Http404("user not found")
    made = services.worker_register(
        actor=_user(request), organization=organization, user=user, started_on=payload.started_on
    )
    return Status(201, made)


@router.get("/biosafety/workers/{worker_id}", response=WorkerOut)
def biosafety_worker_detail(request: HttpRequest, worker_id: UUID) -> LabWorker:
    return selectors.worker_get_for_user(request.user, worker_id)


@router.post("/biosafety/workers/{worker_id}/records", response={201: WorkerOut})
def biosafety_training_record_add(
    request: HttpRequest, worker_id: UUID, payload: TrainingRecordIn
) -> Status:
    worker = selectors.worker_get_for_user(request.user, worker_id)
    services.training_record_add(actor=_user(request), worker=worker, **payload.dict())
    return Status(201, selectors.worker_get_for_user(request.user, worker_id))


@router.post("/biosafety/workers/{worker_id}/assignments", response={201: WorkerOut})
def biosafety_assignment_create(
    request: HttpRequest, worker_id: UUID, payload: AssignmentIn
) -> Status:
    """Assign the person to a site: refused (BS-09, HP-05) at BSL2+ without complete training."""
    worker = selectors.worker_get_for_user(request.user, worker_id)
    site = Site.objects.filter(organization=worker.organization, code=payload.site).first()
    if site is None:
        raise Http404("site not found")
    services.assignment_create(
        actor=_user(request), worker=worker, site=site, assigned_on=payload.assigned_on
    )
    return Status(201, selectors.worker_get_for_user(request.user, worker_id))


# Emergency plans and drills (BS-12, HP-05) ---------------------------------------------------


class DrillOut(Schema):
    id: UUID = Field(alias="public_id")
    kind: str
    held_on: date
    scenario: str
    participants: str
    findings: str


class PlanOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    regime: str
    title: str
    version: str
    status: str
    parts: dict[str, str]
    missing: list[str]
    approved_on: date | None
    committee_reference: str
    drills: list[DrillOut]

    @staticmethod
    def resolve_missing(obj: EmergencyPlan) -> list[str]:
        return list(rules.emergency_plan_complete(obj.parts).missing)

    @staticmethod
    def resolve_drills(obj: EmergencyPlan) -> list[Drill]:
        return list(obj.drills.all())


class PlanIn(Schema):
    organization: str
    regime: str
    title: str
    version: str
    parts: dict[str, str] = {}


class PlanStepIn(Schema):
    """``parts`` (parts), ``approve`` (on and reference, or decision), ``drill`` (kind, on,
    scenario, participants, findings)."""

    step: str
    parts: dict[str, str] = {}
    on: date | None = None
    reference: str = ""
    decision: UUID | None = None
    kind: str = "yearly"
    scenario: str = ""
    participants: str = ""
    findings: str = ""


@router.get("/biosafety/plans", response=list[PlanOut])
def biosafety_plan_list(request: HttpRequest) -> list[EmergencyPlan]:
    return list(selectors.plan_list_for_user(request.user).prefetch_related("drills")[:100])


@router.post("/biosafety/plans", response={201: PlanOut})
def biosafety_plan_create(request: HttpRequest, payload: PlanIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    return Status(
        201, services.plan_create(actor=_user(request), organization=organization, **data)
    )


@router.get("/biosafety/plans/{plan_id}", response=PlanOut)
def biosafety_plan_detail(request: HttpRequest, plan_id: UUID) -> EmergencyPlan:
    return selectors.plan_get_for_user(request.user, plan_id)


@router.post("/biosafety/plans/{plan_id}/step", response=PlanOut)
def biosafety_plan_step(request: HttpRequest, plan_id: UUID, payload: PlanStepIn) -> EmergencyPlan:
    """Approval is refused (BS-12) while a part of the plan is missing."""
    plan = selectors.plan_get_for_user(request.user, plan_id)
    actor = _user(request)
    if payload.step == "parts":
        services.plan_update(actor=actor, plan=plan, parts=payload.parts)
    elif payload.step == "approve" and (payload.on is not None or payload.decision is not None):
        services.plan_approve(
            actor=actor,
            plan=plan,
            approved_on=payload.on,
            committee_reference=payload.reference,
            decision=_decision(request, payload.decision),
        )
    elif payload.step == "drill" and payload.on is not None:
        services.drill_record(
            actor=actor,
            plan=plan,
            kind=payload.kind,
            held_on=payload.on,
            scenario=payload.scenario,
            participants=payload.participants,
            findings=payload.findings,
        )
    else:
        raise ApplicationError(_("Give a known step with its date."))
    return selectors.plan_get_for_user(request.user, plan_id)


# Destruction (BS-15) -------------------------------------------------------------------------


class DestructionOut(Schema):
    id: UUID = Field(alias="public_id")
    material: str = Field(alias="material.code")
    quantity: Decimal
    unit: str
    method: str
    destroyed_on: date
    reason: str
    confirmed_on: date
    committee_reference: str
    material_status: str = Field(alias="material.status")


class DestructionIn(Schema):
    """The committee's confirmation: ``decision`` (recorded at a meeting), or its day and
    reference."""

    method: str
    destroyed_on: date
    reason: str
    confirmed_on: date | None = None
    committee_reference: str = ""
    decision: UUID | None = None
    quantity: Decimal | None = None
    witness: str = ""


@router.get("/biosafety/destructions", response=list[DestructionOut])
def biosafety_destruction_list(request: HttpRequest) -> list[Destruction]:
    return list(selectors.destruction_list_for_user(request.user)[:500])


@router.post("/biosafety/materials/{material_id}/destruction", response={201: DestructionOut})
def biosafety_destruction_record(
    request: HttpRequest, material_id: UUID, payload: DestructionIn
) -> Status:
    """Destroy material, confirmed by the committee (BS-15): it leaves the inventory."""
    material = selectors.material_get_for_user(request.user, material_id)
    data = payload.dict()
    decision = _decision(request, data.pop("decision"))
    made = services.destruction_record(
        actor=_user(request), material=material, decision=decision, **data
    )
    return Status(201, made)
