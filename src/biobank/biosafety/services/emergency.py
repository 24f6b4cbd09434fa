"""The emergency plan with its eight parts (BS-12 §10.1), approved by the committee (a BS-06
duty), and the field drills held under it, each next drill an obligation (BS-12 §10.2: every
year; HP-05: every year and a full-scale drill every 3 years)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from biobank.biosafety import rules
from biobank.biosafety.models import CommitteeDecision, Drill, EmergencyPlan, Regime
from biobank.biosafety.services.committees import active_committee, decision_basis
from biobank.biosafety.services.common import audit, check, end_of_day, today
from biobank.core import services as core_services
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation, Organization, Site, User
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

DRILL_SUBJECT = "biosafety.drills"


class PlanParts(BaseModel):
    """The JSON of ``EmergencyPlan.parts``: the eight parts of §10.1 (BS-12), as text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    response_team: str = ""
    grading_and_risk_assessment: str = ""
    alert_handling_reporting: str = ""
    supplies_inventory: str = ""
    medical_procedure: str = ""
    responder_protection: str = ""
    evacuation: str = ""
    cleanup_and_investigation: str = ""

    @field_validator("*")
    @classmethod
    def short(cls, value: str) -> str:
        if len(value) > 5000:
            raise ValueError("at most 5000 characters")
        return value


assert tuple(PlanParts.model_fields) == rules.EMERGENCY_PLAN_PARTS


def _parts(data: dict[str, Any]) -> dict[str, str]:
    try:
        return PlanParts(**data).model_dump()
    except ValidationError as exc:
        raise ApplicationError(_("The plan's parts are not valid: %s") % exc) from exc


@implements("BS-12")
@transaction.atomic
def plan_create(
    *,
    actor: User | None,
    organization: Organization,
    regime: str,
    title: str,
    version: str,
    parts: dict[str, Any],
) -> EmergencyPlan:
    """Draft an emergency plan; its eight parts may be filled in over time (BS-12)."""
    require_permission(actor, "biosafety.manage", organization)
    if regime not in Regime.values:
        raise ApplicationError(_("Unknown regime %s.") % regime)
    if not title.strip() or not version.strip():
        raise ApplicationError(_("Give the plan a title and a version."))
    plan = EmergencyPlan.objects.create(
        organization=organization,
        regime=regime,
        title=title.strip(),
        version=version.strip(),
        parts=_parts(parts),
    )
    audit(actor, organization, plan, AuditEvent.Action.CREATE)
    return plan


@implements("BS-12")
@transaction.atomic
def plan_update(
    *, actor: User | None, plan: EmergencyPlan, parts: dict[str, Any], reason: str = ""
) -> EmergencyPlan:
    require_permission(actor, "biosafety.manage", plan.organization)
    plan = EmergencyPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != EmergencyPlan.Status.DRAFT:
        raise ApplicationError(_("Only a draft changes: write a new version."))
    before = snapshot(plan)
    plan.parts = _parts({**plan.parts, **parts})
    plan.save()
    audit(actor, plan.organization, plan, AuditEvent.Action.UPDATE, before, reason)
    return plan


@implements("BS-12", "BS-06")
@transaction.atomic
def plan_approve(
    *,
    actor: User | None,
    plan: EmergencyPlan,
    approved_on: date | None = None,
    committee_reference: str = "",
    decision: CommitteeDecision | None = None,
) -> EmergencyPlan:
    """The committee approves the plan (a BS-06 duty) once it covers all eight parts of §10.1
    (BS-12): its day and reference, or its decision recorded at a meeting. The plan replaces
    the regime's earlier plan, and the drills it needs become obligations."""
    organization = plan.organization
    require_permission(actor, "biosafety.manage", organization)
    plan = EmergencyPlan.objects.select_for_update().select_related("organization").get(pk=plan.pk)
    if plan.status != EmergencyPlan.Status.DRAFT:
        raise ApplicationError(_("The plan is not a draft."))
    check(rules.emergency_plan_complete(plan.parts))
    if active_committee(organization, plan.regime) is None:
        raise ApplicationError(
            _("The committee or responsible person approves the plan: none serves."), rule="BS-06"
        )
    if decision is not None:
        approved_on, committee_reference = decision_basis(
            decision,
            decides=CommitteeDecision.Decides.PLAN,
            organization=organization,
            regime=plan.regime,
            target=plan,
        )
    if not committee_reference.strip() or approved_on is None:
        raise ApplicationError(_("Give the committee's reference."), rule="BS-12")
    for old in EmergencyPlan.objects.filter(
        organization=organization, regime=plan.regime, status=EmergencyPlan.Status.APPROVED
    ):
        old_before = snapshot(old)
        old.status = EmergencyPlan.Status.RETIRED
        old.save()
        audit(actor, organization, old, AuditEvent.Action.TRANSITION, old_before)
    before = snapshot(plan)
    plan.status, plan.approved_on = EmergencyPlan.Status.APPROVED, approved_on
    plan.committee_reference = committee_reference.strip()
    plan.save()
    audit(actor, organization, plan, AuditEvent.Action.TRANSITION, before)
    drills_schedule(actor=actor, organization=organization, regime=plan.regime)
    return plan


def last_drills(organization: Organization, regime: str) -> tuple[date | None, date | None]:
    found = Drill.objects.filter(organization=organization, plan__regime=regime)
    yearly = found.aggregate(last=Max("held_on"))["last"]
    full = found.filter(kind=Drill.Kind.FULL_SCALE).aggregate(last=Max("held_on"))["last"]
    return yearly, full


def drill_dues(organization: Organization, regime: str) -> list[rules.DrillDue]:
    yearly, full = last_drills(organization, regime)
    return rules.drill_due(yearly, full, regime=regime)  # type: ignore[arg-type]


@implements("BS-12", "HP-05")
@transaction.atomic
def drills_schedule(*, actor: User | None, organization: Organization, regime: str) -> None:
    """Keep one open obligation per drill the regime needs, due when ``rules.drill_due`` says
    (now, when none is on record); one met by a drill held closes."""
    for due in drill_dues(organization, regime):
        subject_id = f"{regime}:{due.key}"
        due_at = end_of_day(due.due or today())
        label = _("field drill") if due.key == "yearly" else _("full-scale drill")
        current = Obligation.objects.filter(
            organization=organization,
            subject_type=DRILL_SUBJECT,
            subject_id=subject_id,
            state=Obligation.State.OPEN,
        )
        if any(o.due_at == due_at for o in current):
            continue
        for obligation in current:
            core_services.obligation_close(
                actor=None, obligation=obligation, evidence=_("drill held; next due %s") % due.due
            )
        core_services.obligation_open(
            organization=organization,
            rule_id=due.rule,
            title=_("Emergency %(label)s (%(regime)s)")
            % {"label": label, "regime": Regime(regime).label},
            due_at=due_at,
            subject_ref=(DRILL_SUBJECT, subject_id, f"{regime} {due.key}"),
            responsible_role=Role.BIOSAFETY_OFFICER,
            actor=actor,
        )


@implements("BS-12", "HP-05")
@transaction.atomic
def drill_record(
    *,
    actor: User | None,
    plan: EmergencyPlan,
    kind: str,
    held_on: date,
    scenario: str,
    participants: str,
    findings: str = "",
    site: Site | None = None,
) -> Drill:
    """Record a field drill under the approved plan (BS-12 §10.2-3; kept 3 years). A
    full-scale drill is the human regime's 3-yearly drill and counts as the year's drill too
    (HP-05). The next drills open as obligations."""
    organization = plan.organization
    require_permission(actor, "biosafety.manage", organization)
    plan = EmergencyPlan.objects.select_related("organization").get(pk=plan.pk)
    if plan.status != EmergencyPlan.Status.APPROVED:
        raise ApplicationError(_("Drills follow the approved plan."), rule="BS-12")
    if kind not in Drill.Kind.values:
        raise ApplicationError(_("Unknown kind of drill."))
    if not scenario.strip() or not participants.strip():
        raise ApplicationError(_("Record the scenario and who took part."), rule="BS-12")
    if held_on > today():
        raise ApplicationError(_("Record a drill once it was held."))
    if site is not None and site.organization_id != organization.pk:
        raise ApplicationError(_("The site belongs to another organization."))
    drill = Drill.objects.create(
        organization=organization,
        plan=plan,
        kind=kind,
        held_on=held_on,
        site=site,
        scenario=scenario.strip(),
        participants=participants.strip(),
        findings=findings.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, drill, AuditEvent.Action.CREATE)
    drills_schedule(actor=actor, organization=organization, regime=plan.regime)
    return drill
