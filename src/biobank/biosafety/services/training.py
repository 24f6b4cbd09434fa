"""Training records and operating tests per person (BS-09 §7, HP-05 §21), and assignments to
work at a site: at BSL2/ABSL2 and above only with complete training (``rules.training_status``),
refused otherwise with the reason and the rule ID."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from biobank.biosafety import rules
from biobank.biosafety.models import InfectiousMaterial, LabWorker, SiteAssignment, TrainingRecord
from biobank.biosafety.services.common import audit, check, end_of_day, today
from biobank.core import services as core_services
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Membership, Obligation, Organization, Site, User
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

LIVE = ("held", "suspended", "sealed")


@transaction.atomic
def worker_register(
    *, actor: User | None, organization: Organization, user: User, started_on: date
) -> LabWorker:
    """Put a member on the list of lab workers with the day lab work started (BS-09)."""
    require_permission(actor, "biosafety.manage", organization)
    if not Membership.objects.filter(
        user=user, organization=organization, ended_at__isnull=True
    ).exists():
        raise ApplicationError(_("%s is not a member of this organization.") % user.username)
    if LabWorker.objects.filter(organization=organization, user=user).exists():
        raise ApplicationError(_("%s is already on the list.") % user.username)
    worker = LabWorker.objects.create(organization=organization, user=user, started_on=started_on)
    audit(actor, organization, worker, AuditEvent.Action.CREATE)
    _annual_obligation(actor, worker)
    return worker


def site_regimes(site: Site) -> list[str]:
    """The regimes whose training rules apply at ``site``: those of the material held there,
    and the animal regime at an animal facility (ABSL), else the human one."""
    held = set(
        InfectiousMaterial.objects.filter(site=site, status__in=LIVE).values_list(
            "regime", flat=True
        )
    )
    held.add("animal" if site.containment.startswith("ABSL") else "human")
    return sorted(held)


def _records(worker: LabWorker) -> list[rules.TrainingRecord]:
    return [
        rules.TrainingRecord(
            on=r.on,
            hours=r.hours,
            recognised=r.recognised,
            kind=r.kind,  # type: ignore[arg-type]
            passed=r.passed,
        )
        for r in worker.records.all()
    ]


@implements("BS-09", "HP-05")
def worker_training_status(
    worker: LabWorker, *, lab_level: str, regime: str, as_of: date | None = None
) -> rules.TrainingStatus:
    """The person's training as of ``as_of`` for work at ``lab_level`` (BS-09; HP-05)."""
    return rules.training_status(
        _records(worker),
        started_on=worker.started_on,
        lab_level=lab_level,
        as_of=as_of or today(),
        regime=regime,  # type: ignore[arg-type]
    )


@implements("BS-09", "HP-05")
def assignment_check(worker: LabWorker, site: Site, as_of: date | None = None) -> rules.Decision:
    """May ``worker`` work at ``site``? At level 2 and above only with complete training in
    every regime that applies there (BS-09; HP-05)."""
    decision = rules.assignment_allowed(site.containment, None)
    if decision.allowed:
        return decision
    for regime in site_regimes(site):
        status = worker_training_status(
            worker, lab_level=site.containment, regime=regime, as_of=as_of
        )
        decision = rules.assignment_allowed(site.containment, status)
        if not decision.allowed:
            return decision
    return decision


def worker_compliance(worker: LabWorker, as_of: date | None = None) -> rules.Decision:
    """The person's training against the sites they are assigned to (BSL2 when none)."""
    sites = [a.site for a in worker.assignments.all() if a.ended_on is None]
    if not sites:
        status = worker_training_status(worker, lab_level="BSL2", regime="human", as_of=as_of)
        return rules.assignment_allowed("BSL2", status)
    for site in sites:
        decision = assignment_check(worker, site, as_of)
        if not decision.allowed:
            return decision
    return decision


def _annual_obligation(actor: User | None, worker: LabWorker) -> None:
    """Keep one open obligation per person for the current year's hours (BS-09 §7.2): met
    once the year in post has them, when the next year's opens."""
    as_of = today()
    if as_of < worker.started_on:
        return
    status = worker_training_status(worker, lab_level="BSL2", regime="animal", as_of=as_of)
    ends = status.next_annual_due
    if ends is None:
        return
    begins = rules.add_months(ends, -12)
    needed = rules.figure("animal", "training", "annual_hours").value
    hours = sum(
        (
            r.hours
            for r in worker.records.filter(kind="course", passed=True, on__gt=begins, on__lte=ends)
        ),
        Decimal(0),
    )
    due = rules.add_months(ends, 12) if hours >= needed else ends
    label = worker.user.display_name or worker.user.username
    for obligation in Obligation.objects.filter(
        subject_type="biosafety.labworker",
        subject_id=str(worker.pk),
        rule_id="BS-09",
        state=Obligation.State.OPEN,
    ):
        if obligation.due_at == end_of_day(due):
            return
        core_services.obligation_close(
            actor=None, obligation=obligation, evidence=_("%s hours on record") % hours
        )
    core_services.obligation_open(
        organization=worker.organization,
        rule_id="BS-09",
        title=_("Yearly biosafety training of %(name)s: %(hours)s hours by %(due)s")
        % {"name": label, "hours": needed, "due": due},
        due_at=end_of_day(due),
        subject=worker,
        responsible_role=Role.BIOSAFETY_OFFICER,
        actor=actor,
    )


@implements("BS-09", "HP-05")
@transaction.atomic
def training_record_add(
    *,
    actor: User | None,
    worker: LabWorker,
    kind: str,
    title: str,
    on: date,
    hours: Decimal = Decimal(0),
    recognised: bool = False,
    passed: bool = True,
    provider: str = "",
    tester_name: str = "",
    tester_is_supervisor: bool = False,
    tester_years: Decimal = Decimal(0),
    certificate: str = "",
) -> TrainingRecord:
    """Record a course or an operating test (BS-09 §7). An operating test is given by the lab
    supervisor or someone with 2 years of relevant experience (§7.3)."""
    organization = worker.organization
    require_permission(actor, "biosafety.manage", organization)
    if kind not in TrainingRecord.Kind.values or not title.strip():
        raise ApplicationError(_("Give a known kind and a title."))
    if hours is None or hours < 0:
        raise ApplicationError(_("Hours are zero or more."), rule="BS-09")
    if kind == TrainingRecord.Kind.OPERATING_TEST:
        if not tester_name.strip():
            raise ApplicationError(_("Name who gave the operating test."), rule="BS-09")
        check(
            rules.operating_tester_qualified(
                is_lab_supervisor=tester_is_supervisor, years_experience=tester_years
            )
        )
    elif hours <= 0:
        raise ApplicationError(_("A course has hours."), rule="BS-09")
    record = TrainingRecord.objects.create(
        organization=organization,
        worker=worker,
        kind=kind,
        title=title.strip(),
        on=on,
        hours=hours,
        recognised=recognised,
        passed=passed,
        provider=provider.strip(),
        tester_name=tester_name.strip(),
        tester_is_supervisor=tester_is_supervisor,
        tester_years=tester_years,
        certificate=certificate.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, record, AuditEvent.Action.CREATE)
    if kind == TrainingRecord.Kind.COURSE and passed:
        _annual_obligation(actor, worker)
    return record


@implements("BS-09", "HP-05")
@transaction.atomic
def assignment_create(
    *, actor: User | None, worker: LabWorker, site: Site, assigned_on: date | None = None
) -> SiteAssignment:
    """Assign a person to work at a site; refused at BSL2/ABSL2 and above while their training
    is incomplete, with what is missing and the rule (BS-09; HP-05)."""
    organization = worker.organization
    require_permission(actor, "biosafety.manage", organization)
    if site.organization_id != organization.pk:
        raise ApplicationError(_("The site belongs to another organization."))
    day = assigned_on or today()
    decision = assignment_check(worker, site, day)
    check(decision)
    if SiteAssignment.objects.filter(worker=worker, site=site, ended_on__isnull=True).exists():
        raise ApplicationError(_("Already assigned to this site."))
    assignment = SiteAssignment.objects.create(
        organization=organization,
        worker=worker,
        site=site,
        assigned_on=day,
        training_reason=decision.reason[:300],
        assigned_by=actor if actor is not None and actor.pk else None,
    )
    audit(actor, organization, assignment, AuditEvent.Action.CREATE, reason=decision.reason)
    return assignment


@transaction.atomic
def assignment_end(
    *, actor: User | None, assignment: SiteAssignment, ended_on: date
) -> SiteAssignment:
    require_permission(actor, "biosafety.manage", assignment.organization)
    if assignment.ended_on is not None:
        raise ApplicationError(_("The assignment already ended."))
    before = snapshot(assignment)
    assignment.ended_on = ended_on
    assignment.save()
    audit(actor, assignment.organization, assignment, AuditEvent.Action.UPDATE, before)
    return assignment
