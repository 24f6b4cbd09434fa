"""Approvals of holding, using, changing, transferring, importing and exporting infectious
material (BS-10, HP-01), with the site's level checked against BS-04."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from biobank.biosafety import rules
from biobank.biosafety.models import Approval, Committee, CommitteeDecision, InfectiousMaterial
from biobank.biosafety.services.committees import active_committee, decision_basis
from biobank.biosafety.services.common import audit, check
from biobank.biosafety.services.register import material_level_check
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Site, User
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission


class ReviewForm(BaseModel):
    """The review form sent with a risk group 3-4 request to the central authority (BS-10,
    annex 3): what the work is, where, who does it, how it is contained and handled."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    project: str = ""
    responsible_person: str = ""
    personnel: str = ""
    containment: str = ""
    handling: str = ""
    storage: str = ""
    emergency_plan: str = ""

    @field_validator("*")
    @classmethod
    def short(cls, value: str) -> str:
        if len(value) > 2000:
            raise ValueError("at most 2000 characters")
        return value

    def missing(self) -> list[str]:
        return [name for name, value in self.model_dump().items() if not value]


def _review_form(data: dict[str, Any]) -> ReviewForm:
    try:
        return ReviewForm(**data)
    except ValidationError as exc:
        raise ApplicationError(_("The review form is not valid: %s") % exc) from exc


@implements("BS-04", "BS-10", "HP-01")
@transaction.atomic
def approval_request(
    *,
    actor: User | None,
    material: InfectiousMaterial,
    kind: str,
    purpose: str,
    site: Site | None = None,
    propagating: bool = True,
    large_scale: bool = False,
    review_form: dict[str, Any] | None = None,
) -> Approval:
    """Ask for approval of work with ``material`` at ``site`` (its own lab by default). The
    site must meet the level of BS-04, unless validly inactivated material asks the committee
    for a lower level (BS-04(3)); risk group 3-4 goes on to the central authority with the
    review form (BS-10), and in the human regime needs a committee to exist (HP-01)."""
    organization = material.organization
    require_permission(actor, "biosafety.manage", organization)
    if kind not in Approval.Kind.values:
        raise ApplicationError(_("Unknown approval kind %s.") % kind)
    if not purpose.strip():
        raise ApplicationError(_("Say what the material is for."), rule="BS-10")
    if material.status == InfectiousMaterial.Status.DESTROYED:
        raise ApplicationError(_("The material was destroyed."), rule="BS-15")
    site = site or material.site
    if site.organization_id != organization.pk:
        raise ApplicationError(_("The site belongs to another organization."))
    if large_scale and not propagating:
        raise ApplicationError(_("Large-scale propagation is propagating work."), rule="BS-04")
    level, sufficient = material_level_check(material, site, propagating=propagating)
    exception = False
    if not sufficient.allowed:
        if not level.needs_committee_approval:
            check(sufficient)
        exception = True
    risk_group = material.agent.risk_group
    route = rules.approval_route(risk_group, regime=material.regime)  # type: ignore[arg-type]
    central = "central_authority" in route.approvers
    form = _review_form(review_form or {})
    if central and form.missing():
        raise ApplicationError(
            _("Risk group %(rg)s needs the review form for the central authority; missing: %(f)s")
            % {"rg": risk_group, "f": ", ".join(form.missing())},
            rule=route.rule,
        )
    committee = active_committee(organization, material.regime)
    needs_committee = route.committee_mandatory or (
        material.regime == "human" and material.agent.controlled
    )
    if needs_committee and (committee is None or committee.kind != Committee.Kind.COMMITTEE):
        raise ApplicationError(
            _("Risk group 3-4 and controlled agents are held only where a committee exists."),
            rule="HP-01",
        )
    approval = Approval.objects.create(
        organization=organization,
        material=material,
        kind=kind,
        site=site,
        purpose=purpose.strip(),
        propagating=propagating,
        large_scale=large_scale,
        required_level=level.minimum,
        level_reason=level.reason[:300],
        lower_level_exception=exception,
        central_required=central,
        review_form=form.model_dump(),
        requested_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, approval, AuditEvent.Action.CREATE, reason=route.reason)
    return approval


def _decide(
    actor: User | None,
    approval: Approval,
    *,
    expected: str,
    approved: bool,
    decided_on: date,
    reference: str,
    conditions: str,
) -> Approval:
    approval = (
        Approval.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=approval.pk)
    )
    if approval.status != expected:
        raise ApplicationError(
            _("This approval is %s, not waiting for this decision.") % approval.get_status_display()
        )
    if not reference.strip():
        raise ApplicationError(_("Give the decision's reference."), rule="BS-10")
    before = snapshot(approval)
    if expected == Approval.Status.PENDING_COMMITTEE:
        approval.committee_decided_on, approval.committee_reference = decided_on, reference
        nxt = Approval.Status.PENDING_CENTRAL if approval.central_required else "approved"
    else:
        approval.central_decided_on, approval.central_reference = decided_on, reference
        nxt = Approval.Status.APPROVED
    approval.status = nxt if approved else Approval.Status.REJECTED
    approval.conditions = "\n".join(c for c in (approval.conditions, conditions.strip()) if c)
    approval.save()
    audit(actor, approval.organization, approval, AuditEvent.Action.TRANSITION, before)
    return approval


@implements("BS-06", "BS-10")
@transaction.atomic
def approval_committee_decide(
    *,
    actor: User | None,
    approval: Approval,
    approved: bool | None = None,
    decided_on: date | None = None,
    reference: str = "",
    conditions: str = "",
    decision: CommitteeDecision | None = None,
) -> Approval:
    """The committee's (or responsible person's) decision (BS-06 duties, BS-10): given as
    its outcome, day and reference, or as the decision recorded at a meeting."""
    require_permission(actor, "biosafety.manage", approval.organization)
    if active_committee(approval.organization, approval.material.regime) is None:
        raise ApplicationError(
            _("No committee or responsible person serves this regime yet."), rule="BS-06"
        )
    if decision is not None:
        decided_on, reference = decision_basis(
            decision,
            decides=CommitteeDecision.Decides.APPROVAL,
            organization=approval.organization,
            regime=approval.material.regime,
            target=approval,
            negative_allowed=True,
        )
        approved = decision.outcome != CommitteeDecision.Outcome.REJECTED
        conditions = conditions or decision.conditions
    if approved is None or decided_on is None:
        raise ApplicationError(_("Give the decision and the day it was taken."), rule="BS-10")
    return _decide(
        actor,
        approval,
        expected=Approval.Status.PENDING_COMMITTEE,
        approved=approved,
        decided_on=decided_on,
        reference=reference,
        conditions=conditions,
    )


@implements("BS-10", "HP-01")
@transaction.atomic
def approval_central_decide(
    *,
    actor: User | None,
    approval: Approval,
    approved: bool,
    decided_on: date,
    reference: str,
    conditions: str = "",
) -> Approval:
    """The central authority's decision on a risk group 3-4 request (BS-10; HP-01)."""
    require_permission(actor, "biosafety.manage", approval.organization)
    return _decide(
        actor,
        approval,
        expected=Approval.Status.PENDING_CENTRAL,
        approved=approved,
        decided_on=decided_on,
        reference=reference,
        conditions=conditions,
    )


@implements("BS-04", "BS-10", "BS-13")
def work_allowed(material: InfectiousMaterial, site: Site, kind: str = "use") -> rules.Decision:
    """Whether work of ``kind`` with ``material`` at ``site`` is approved (BS-10) at a site
    whose level meets BS-04 (or by an approved lower-level exception), and the material is not
    sealed or suspended after an incident (BS-13) or destroyed (BS-15)."""
    if material.status in (InfectiousMaterial.Status.SEALED, InfectiousMaterial.Status.SUSPENDED):
        return rules.Decision(
            False,
            _("the material is %s after an incident") % material.get_status_display(),
            "BS-13",
        )
    if material.status == InfectiousMaterial.Status.DESTROYED:
        return rules.Decision(False, _("the material was destroyed"), "BS-15")
    approval = (
        Approval.objects.filter(
            material=material, site=site, kind=kind, status=Approval.Status.APPROVED
        )
        .order_by("-updated_at")
        .first()
    )
    if approval is None:
        route = rules.approval_route(material.agent.risk_group, regime=material.regime)  # type: ignore[arg-type]
        return rules.Decision(
            False,
            _("no approved %(kind)s at %(site)s") % {"kind": kind, "site": site.code},
            route.rule,
        )
    _level, sufficient = material_level_check(material, site, propagating=approval.propagating)
    if not sufficient.allowed and not approval.lower_level_exception:
        return rules.Decision(False, sufficient.reason, sufficient.rule)
    return rules.Decision(True, _("approved: %s") % approval.committee_reference, "BS-10")
