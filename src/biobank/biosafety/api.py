"""Biosafety in the HTTP API: agents, infectious materials, committees, approvals,
inventories and anomalies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from biobank.biosafety import selectors, services
from biobank.biosafety.models import (
    Agent,
    Anomaly,
    Approval,
    Committee,
    InfectiousMaterial,
    InventoryCheck,
    InventoryLine,
)
from biobank.core.errors import ApplicationError
from biobank.core.models import Site, User
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


class CommitteeOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    kind: str
    regime: str
    name: str
    formed_on: date
    reported_on: date | None
    report_reference: str


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
    step: str
    approved: bool
    decided_on: date
    reference: str
    conditions: str = ""


@router.get("/biosafety/committees", response=list[CommitteeOut])
def biosafety_committee_list(request: HttpRequest) -> list[Committee]:
    return list(selectors.committee_list_for_user(request.user))


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
    step = data.pop("step")
    decide = {
        "committee": services.approval_committee_decide,
        "central": services.approval_central_decide,
    }.get(step)
    if decide is None:
        raise ApplicationError(_("The step is committee or central."))
    return decide(actor=_user(request), approval=approval, **data)


class LineOut(Schema):
    id: int
    material: str = Field(alias="material.code")
    agent: str = Field(alias="material.agent.name")
    expected_quantity: Decimal
    unit: str
    found_quantity: Decimal | None
    note: str


class InventoryOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    site: str = Field(alias="site.code")
    regime: str
    started_on: date
    status: str
    next_due: date | None
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: InventoryCheck) -> list[InventoryLine]:
        return list(obj.lines.select_related("material__agent"))


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
