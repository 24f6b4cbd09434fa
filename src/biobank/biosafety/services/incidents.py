"""Biosafety incidents (BS-13 §11) and spills in transport (BS-14 §12): the report with its
level and risk assessment, the handling steps, the clocks as obligations, the material
destroyed, sealed or suspended, and resumption only after the committee confirmed it is safe
and the authorities consented. A biosafety incident is the single owner of the reports a
spill in transport starts; the distribution app calls ``incident_from_transport_spill``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import TypeAdapter

from biobank.biosafety import rules
from biobank.biosafety.models import (
    CommitteeDecision,
    Incident,
    IncidentStep,
    InfectiousMaterial,
    Regime,
)
from biobank.biosafety.services.committees import decision_basis
from biobank.biosafety.services.common import as_moment, audit, check
from biobank.biosafety.services.destruction import destruction_record
from biobank.core import services as core_services
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation, Organization, Site, User
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

CLOCKS = TypeAdapter(dict[str, int])
MEASURES: dict[str, str] = {
    IncidentStep.Kind.SEAL: InfectiousMaterial.Status.SEALED,
    IncidentStep.Kind.SUSPEND: InfectiousMaterial.Status.SUSPENDED,
}
# Clocks met by a notice or report; the investigation has its own use case.
NOTICES = ("committee_notice", "authority_notice", "authority_report")


def _title(incident: Incident, key: str) -> str:
    if incident.kind == Incident.Kind.TRANSPORT_SPILL:
        titles = {
            "committee_notice": _("Tell the biosafety committee of the spill in transport (%s)"),
            "authority_report": _(
                "Report the spill in transport to the local and central authority (%s)"
            ),
        }
    else:
        titles = {
            "committee_investigation": _("Committee investigation of the incident (%s)"),
            "authority_notice": _("Report the incident to the local and central authority (%s)"),
            "authority_report": _("Send the incident's investigation report to the authority (%s)"),
        }
    return titles.get(key, key + " (%s)") % incident.title[:150]


def clock(incident: Incident, key: str) -> Obligation | None:
    pk = incident.clocks.get(key)
    return Obligation.objects.filter(pk=pk).first() if pk is not None else None


def _open_clock(actor: User | None, incident: Incident, deadline: rules.Deadline) -> None:
    obligation = core_services.obligation_open(
        organization=incident.organization,
        rule_id=deadline.rule,
        title=_title(incident, deadline.key),
        due_at=as_moment(deadline.due),
        subject=incident,
        responsible_role=Role.BIOSAFETY_OFFICER,
        actor=actor,
    )
    incident.clocks = CLOCKS.validate_python({**incident.clocks, deadline.key: obligation.pk})


def _meet(incident: Incident, key: str, evidence: str) -> bool:
    obligation = clock(incident, key)
    if obligation is None or obligation.state != Obligation.State.OPEN:
        return False
    core_services.obligation_close(actor=None, obligation=obligation, evidence=evidence)
    return True


def _step(
    actor: User | None,
    incident: Incident,
    kind: str,
    at: datetime,
    description: str,
    material: InfectiousMaterial | None = None,
) -> IncidentStep:
    step = IncidentStep.objects.create(
        incident=incident,
        kind=kind,
        at=at,
        description=description,
        material=material,
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, incident.organization, step, AuditEvent.Action.CREATE)
    return step


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("organization").get(pk=incident.pk)


def _level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in rules.INCIDENT_LEVELS:
        raise ApplicationError(_("An incident level is 1, 2, 3 or 4."), rule="BS-13")
    return level


@implements("BS-13", "BS-11")
@transaction.atomic
def incident_report(
    *,
    actor: User | None,
    organization: Organization,
    title: str,
    description: str,
    occurred_at: datetime,
    level: int,
    risk_assessment: str,
    regime: str,
    site: Site | None = None,
    materials: Iterable[InfectiousMaterial] = (),
    noticed_at: datetime | None = None,
    people_exposed: int = 0,
    reported_by: str = "",
) -> Incident:
    """Report an incident at a site, graded (level 1-4) with its risk assessment (BS-12 part 2,
    BS-13). Its clocks open as obligations (``rules.incident_deadlines``): the committee's
    investigation, and from level 2 the authorities' 24-hour notice and the report."""
    require_permission(actor, "biosafety.inspect", organization)
    if not title.strip() or not description.strip():
        raise ApplicationError(_("Give the incident a title and say what happened."))
    if not risk_assessment.strip():
        raise ApplicationError(_("Record the risk assessment."), rule="BS-13")
    if regime not in Regime.values:
        raise ApplicationError(_("Unknown regime %s.") % regime)
    if site is not None and site.organization_id != organization.pk:
        raise ApplicationError(_("The site belongs to another organization."))
    involved = list(materials)
    if any(m.organization_id != organization.pk for m in involved):
        raise ApplicationError(_("The material belongs to another organization."))
    if people_exposed < 0:
        raise ApplicationError(_("A number of people is zero or more."))
    noticed = noticed_at or timezone.now()
    if noticed < occurred_at:
        raise ApplicationError(_("An incident is noticed after it occurred."))
    incident = Incident.objects.create(
        organization=organization,
        kind=Incident.Kind.LAB,
        regime=regime,
        site=site,
        title=title.strip(),
        description=description.strip(),
        occurred_at=occurred_at,
        noticed_at=noticed,
        reported_by=reported_by.strip(),
        level=_level(level),
        risk_assessment=risk_assessment.strip(),
        people_exposed=people_exposed,
        controlled=any(m.agent.controlled for m in involved),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    incident.materials.set(involved)
    for deadline in rules.incident_deadlines(noticed, level=incident.level):
        _open_clock(actor, incident, deadline)
    incident.save()
    audit(actor, organization, incident, AuditEvent.Action.CREATE, reason=f"level {level}")
    return incident


@implements("BS-14")
@transaction.atomic
def incident_from_transport_spill(
    *,
    actor: User | None,
    organization: Organization,
    notified_at: datetime,
    reported_by: str,
    description: str,
    infectious: bool,
    source: tuple[str, str],
    reference: str = "",
    regime: str = Regime.HUMAN,
) -> Incident | None:
    """A carrier or receiver reported a spill or leak in transport (BS-14 §12). For infectious
    material this opens the incident that owns the reports: the committee at once, the local
    and central authorities within 24 hours; other material is not a biosafety incident
    (None). Called by the service that recorded the spill after its own permission check
    (a receiver may report), so it checks none itself."""
    if not infectious:
        return None
    if not description.strip() or not reported_by.strip():
        raise ApplicationError(_("Say who reported it and what happened."), rule="BS-14")
    source_type, source_id = source
    incident = Incident.objects.create(
        organization=organization,
        kind=Incident.Kind.TRANSPORT_SPILL,
        regime=regime,
        title=(_("Spill in transport %s") % reference).strip()[:200],
        description=description.strip(),
        occurred_at=notified_at,
        noticed_at=notified_at,
        reported_by=reported_by.strip(),
        level=rules.INCIDENT_MAJOR_FROM_LEVEL,
        risk_assessment=_("to be assessed: material outside its packaging in transport"),
        infectious=True,
        source_type=source_type,
        source_id=source_id,
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    for deadline in rules.incident_deadlines(notified_at, level=incident.level, in_transport=True):
        _open_clock(actor, incident, deadline)
    incident.save()
    audit(actor, organization, incident, AuditEvent.Action.CREATE, reason="BS-14")
    return incident


@implements("BS-13")
@transaction.atomic
def incident_assess(
    *, actor: User | None, incident: Incident, level: int, risk_assessment: str, reason: str
) -> Incident:
    """Grade the incident again with a new risk assessment. A higher level that makes the
    incident major opens the clocks it did not have (BS-13, §9.2)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if incident.status == Incident.Status.CLOSED:
        raise ApplicationError(_("The incident is closed."))
    if not risk_assessment.strip() or not reason.strip():
        raise ApplicationError(_("Record the risk assessment and why it changed."), rule="BS-13")
    before = snapshot(incident)
    incident.level, incident.risk_assessment = _level(level), risk_assessment.strip()
    if incident.kind == Incident.Kind.LAB and incident.status == Incident.Status.OPEN:
        for deadline in rules.incident_deadlines(incident.noticed_at, level=incident.level):
            if deadline.key not in incident.clocks:
                _open_clock(actor, incident, deadline)
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.UPDATE, before, reason)
    return incident


@implements("BS-13")
@transaction.atomic
def incident_step_add(
    *, actor: User | None, incident: Incident, description: str, at: datetime | None = None
) -> IncidentStep:
    """A handling step taken per the emergency plan (BS-13)."""
    require_permission(actor, "biosafety.inspect", incident.organization)
    if incident.status == Incident.Status.CLOSED:
        raise ApplicationError(_("The incident is closed."))
    if not description.strip():
        raise ApplicationError(_("Say what was done."))
    return _step(actor, incident, IncidentStep.Kind.ACTION, at or timezone.now(), description)


@implements("BS-13", "BS-14", "BS-11")
@transaction.atomic
def incident_notice_sent(
    *, actor: User | None, incident: Incident, key: str, at: datetime, reference: str
) -> Incident:
    """A notice or report went out: the committee told (BS-14), the authorities told within 24
    hours (BS-11 §9.2, BS-14 §12), or the investigation report sent: its clock is met."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if key not in NOTICES or key not in incident.clocks:
        raise ApplicationError(_("This incident has no such report to send."), rule="BS-13")
    if not reference.strip():
        raise ApplicationError(_("Give the reference of the notice."))
    if (
        key == "authority_report"
        and incident.kind == Incident.Kind.LAB
        and incident.investigation_completed_on is None
    ):
        raise ApplicationError(_("Complete the investigation first."), rule="BS-11")
    evidence = f"{timezone.localtime(at):%Y-%m-%d %H:%M} {reference.strip()}"
    if not _meet(incident, key, evidence):
        raise ApplicationError(_("This report was already sent."))
    _step(actor, incident, IncidentStep.Kind.NOTICE, at, f"{key}: {reference.strip()}")
    return incident


@implements("BS-13", "BS-11", "BS-06")
@transaction.atomic
def incident_investigation_complete(
    *, actor: User | None, incident: Incident, completed_on: date, findings: str
) -> Incident:
    """The committee investigated (a BS-06 duty): its clock is met and the report's clock is
    counted again from the real completion day (BS-11 §9.2: 3 days)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if incident.status != Incident.Status.OPEN:
        raise ApplicationError(_("The investigation is already complete."))
    if not findings.strip():
        raise ApplicationError(_("Record the findings."), rule="BS-13")
    if completed_on < timezone.localtime(incident.noticed_at).date():
        raise ApplicationError(_("The investigation cannot end before the incident was noticed."))
    before = snapshot(incident)
    incident.investigation_completed_on, incident.findings = completed_on, findings.strip()
    incident.status = Incident.Status.INVESTIGATED
    _meet(incident, "committee_investigation", f"{completed_on} {findings.strip()[:100]}")
    provisional = clock(incident, "authority_report")
    if provisional is not None and provisional.state == Obligation.State.OPEN:
        core_services.obligation_waive(
            actor=None,
            obligation=provisional,
            reason=_("counted again from the investigation's completion"),
        )
        report = rules.investigation_report_due(completed_on, regime="animal")
        _open_clock(actor, incident, report)
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.TRANSITION, before)
    return incident


@implements("BS-13", "BS-15")
@transaction.atomic
def incident_material_measure(
    *,
    actor: User | None,
    incident: Incident,
    material: InfectiousMaterial,
    measure: str,
    note: str,
    at: datetime | None = None,
    confirmed_on: date | None = None,
    committee_reference: str = "",
    method: str = "autoclave",
    decision: CommitteeDecision | None = None,
) -> IncidentStep:
    """Seal, suspend or destroy material after the incident, under the authorities' guidance
    (BS-13 §11). Destroying it is a destruction confirmed by the committee (BS-15)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if material.organization_id != incident.organization_id:
        raise ApplicationError(_("The material belongs to another organization."))
    if not note.strip():
        raise ApplicationError(_("Say what the authorities advised or why."), rule="BS-13")
    moment = at or timezone.now()
    if measure == IncidentStep.Kind.DESTROY:
        destruction_record(
            actor=actor,
            material=material,
            method=method,
            destroyed_on=timezone.localtime(moment).date(),
            reason=note,
            confirmed_on=confirmed_on or timezone.localtime(moment).date(),
            committee_reference=committee_reference,
            incident=incident,
            decision=decision,
        )
    elif measure in MEASURES:
        material = InfectiousMaterial.objects.select_for_update().get(pk=material.pk)
        if material.status not in (
            InfectiousMaterial.Status.HELD,
            InfectiousMaterial.Status.SUSPENDED,
            InfectiousMaterial.Status.SEALED,
        ):
            raise ApplicationError(_("The material is no longer held."), rule="BS-13")
        before = snapshot(material)
        material.status = MEASURES[measure]
        material.save()
        audit(actor, incident.organization, material, AuditEvent.Action.TRANSITION, before, note)
    else:
        raise ApplicationError(_("Seal, suspend or destroy."), rule="BS-13")
    incident.materials.add(material)
    return _step(actor, incident, measure, moment, note.strip(), material)


@implements("BS-13")
@transaction.atomic
def incident_committee_confirm(
    *,
    actor: User | None,
    incident: Incident,
    confirmed_on: date | None = None,
    reference: str = "",
    decision: CommitteeDecision | None = None,
) -> Incident:
    """The committee (or responsible person) confirmed the material is safe to use (§11.2):
    its day and reference, or its decision recorded at a meeting."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if decision is not None:
        confirmed_on, reference = decision_basis(
            decision,
            decides=CommitteeDecision.Decides.RESUMPTION,
            organization=incident.organization,
            regime=incident.regime,
            target=incident,
        )
    if not reference.strip() or confirmed_on is None:
        raise ApplicationError(_("Give the committee's reference."), rule="BS-13")
    before = snapshot(incident)
    incident.committee_confirmed_on, incident.committee_reference = confirmed_on, reference.strip()
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.UPDATE, before)
    return incident


@implements("BS-13")
@transaction.atomic
def incident_authority_consent(
    *, actor: User | None, incident: Incident, consented_on: date, reference: str
) -> Incident:
    """The local and central authorities consented to use the material again (§11.2)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if not reference.strip():
        raise ApplicationError(_("Give the authorities' reference."), rule="BS-13")
    before = snapshot(incident)
    incident.authority_consented_on, incident.authority_reference = consented_on, reference.strip()
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.UPDATE, before)
    return incident


def suspended_materials(incident: Incident) -> list[InfectiousMaterial]:
    """Material this incident sealed or suspended that is still so."""
    ids = incident.steps.filter(kind__in=list(MEASURES)).values_list("material_id", flat=True)
    return list(
        InfectiousMaterial.objects.filter(
            pk__in=ids,
            status__in=[InfectiousMaterial.Status.SEALED, InfectiousMaterial.Status.SUSPENDED],
        ).order_by("code")
    )


@implements("BS-13")
@transaction.atomic
def incident_resume(*, actor: User | None, incident: Incident, resumed_on: date) -> Incident:
    """Use the sealed or suspended material again: only once the committee confirmed it is
    safe AND the local and central authorities consented (BS-13 §11.2)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    check(
        rules.resumption_allowed(
            committee_confirmed=incident.committee_confirmed_on is not None,
            authority_consented=incident.authority_consented_on is not None,
        )
    )
    waiting = suspended_materials(incident)
    if not waiting:
        raise ApplicationError(_("No material of this incident is sealed or suspended."))
    before = snapshot(incident)
    moment = as_moment(resumed_on)
    for material in waiting:
        material_before = snapshot(material)
        material.status = InfectiousMaterial.Status.HELD
        material.save()
        audit(
            actor,
            incident.organization,
            material,
            AuditEvent.Action.TRANSITION,
            material_before,
            f"BS-13 {incident.committee_reference} / {incident.authority_reference}",
        )
        _step(actor, incident, IncidentStep.Kind.RESUME, moment, _("used again"), material)
    incident.resumed_on = resumed_on
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.TRANSITION, before)
    return incident


@implements("BS-13")
@transaction.atomic
def incident_close(*, actor: User | None, incident: Incident, closed_on: date) -> Incident:
    """Close the incident once every report it owes was sent (BS-13)."""
    require_permission(actor, "biosafety.manage", incident.organization)
    incident = _locked(incident)
    if incident.status == Incident.Status.CLOSED:
        raise ApplicationError(_("The incident is closed."))
    open_clocks = [
        key
        for key in incident.clocks
        if (found := clock(incident, key)) is not None and found.state == Obligation.State.OPEN
    ]
    if open_clocks:
        raise ApplicationError(_("Still owed: %s") % ", ".join(sorted(open_clocks)), rule="BS-13")
    before = snapshot(incident)
    incident.status, incident.closed_on = Incident.Status.CLOSED, closed_on
    incident.save()
    audit(actor, incident.organization, incident, AuditEvent.Action.TRANSITION, before)
    return incident
