"""Inventories of class 1 material (BS-11 every 6 months, HP-02 every 3) and the anomalies
they find, each with its clocks as obligations (BS-11, HP-03): the authorities' notice, the
committee's investigation and the investigation report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, TypeAdapter

from biobank.biosafety import rules
from biobank.biosafety.models import (
    Anomaly,
    InfectiousMaterial,
    InventoryCheck,
    InventoryLine,
    LabWorker,
    Regime,
    TrainingRecord,
)
from biobank.biosafety.services.common import as_moment, audit, end_of_day
from biobank.biosafety.services.training import worker_training_status
from biobank.core import services as core_services
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Membership, Obligation, Site, User
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

LIVE = ("held", "suspended", "sealed")
LAB_ROLES = (Role.BIOBANK_MANAGER, Role.TECHNICIAN, Role.BIOSAFETY_OFFICER)


class StaffEntry(BaseModel):
    """One person on an inventory's staff list (BS-11: staff lists, courses and hours).

    A lab worker assigned to the site when the inventory starts carries ``worker`` (its public
    id), the course hours passed in the period and their training status then (BS-09, HP-05);
    a member in a lab role who is not on the list of lab workers has no training on record
    (``compliant`` None). Inventories started before the list came from the training records
    hold only ``username``, ``name`` and ``role``."""

    username: str
    name: str
    role: str
    worker: str = ""
    started_on: date | None = None
    hours: Decimal = Decimal(0)
    courses: int = 0
    compliant: bool | None = None
    reason: str = ""
    rule: str = ""


STAFF = TypeAdapter(list[StaffEntry])
CLOCKS = TypeAdapter(dict[str, int])


def staff_period_start(site: Site, regime: str, started_on: date) -> date:
    """Training hours on the staff list count from the site's previous inventory in the
    regime, or one inventory interval back (6 months animal, 3 months human) (BS-11, HP-02)."""
    previous = (
        InventoryCheck.objects.filter(site=site, regime=regime, started_on__lt=started_on)
        .order_by("-started_on")
        .values_list("started_on", flat=True)
        .first()
    )
    interval = rules.figure(regime, "inventory", "interval")
    return previous or rules.add_months(started_on, -int(interval.value))


def _name(user: User) -> str:
    return user.display_name or user.get_full_name() or user.username


@implements("BS-11", "BS-09", "HP-05")
def staff_list(site: Site, regime: str, started_on: date) -> tuple[date, list[dict[str, Any]]]:
    """The inventory's staff list: the lab workers assigned to ``site`` on ``started_on`` with
    their course hours since the period's start and their training status for the site's
    level (BS-11 asks for the staff, their courses and hours; BS-09, HP-05), then the members
    in a lab role missing from the list of lab workers."""
    organization = site.organization
    since = staff_period_start(site, regime, started_on)
    roles: dict[int, list[str]] = {}
    members = (
        Membership.objects.filter(organization=organization, ended_at__isnull=True)
        .select_related("user")
        .order_by("user__username", "role")
    )
    for membership in members:
        roles.setdefault(membership.user_id, []).append(str(membership.role))
    workers = (
        LabWorker.objects.filter(
            Q(assignments__site=site)
            & Q(assignments__assigned_on__lte=started_on)
            & (Q(assignments__ended_on__isnull=True) | Q(assignments__ended_on__gte=started_on))
        )
        .distinct()
        .select_related("user")
        .prefetch_related("records")
        .order_by("user__username")
    )
    entries = []
    for worker in workers:
        status = worker_training_status(
            worker, lab_level=site.containment, regime=regime, as_of=started_on
        )
        courses = [
            r
            for r in worker.records.all()
            if r.kind == TrainingRecord.Kind.COURSE and r.passed and since < r.on <= started_on
        ]
        entries.append(
            StaffEntry(
                username=worker.user.username,
                name=_name(worker.user),
                role=", ".join(roles.get(worker.user_id, [])),
                worker=str(worker.public_id),
                started_on=worker.started_on,
                hours=sum((r.hours for r in courses), Decimal(0)),
                courses=len(courses),
                compliant=status.compliant,
                reason=status.reason[:300],
                rule=status.rule,
            )
        )
    registered = set(
        LabWorker.objects.filter(organization=organization).values_list("user_id", flat=True)
    )
    for membership in members:
        if membership.role not in LAB_ROLES or membership.user_id in registered:
            continue
        registered.add(membership.user_id)
        entries.append(
            StaffEntry(
                username=membership.user.username,
                name=_name(membership.user),
                role=", ".join(r for r in roles[membership.user_id] if r in LAB_ROLES),
                reason=_("not on the list of lab workers: no training on record"),
                rule="BS-09",
            )
        )
    return since, [entry.model_dump(mode="json") for entry in STAFF.validate_python(entries)]


def staff_entries(inventory: InventoryCheck) -> list[StaffEntry]:
    """The inventory's staff list as read from its JSON column."""
    return STAFF.validate_python(inventory.staff)


def _interval_rule(regime: str) -> str:
    return rules.figure(regime, "inventory", "interval").rule


@implements("BS-11", "HP-02")
@transaction.atomic
def inventory_start(
    *, actor: User | None, site: Site, regime: str, started_on: date | None = None
) -> InventoryCheck:
    """Generate the checklist: every class 1 item held at the site in the regime with its
    recorded quantity, and the staff list with their training hours (``staff_list``)."""
    organization = site.organization
    require_permission(actor, "biosafety.inspect", organization)
    if regime not in Regime.values:
        raise ApplicationError(_("Unknown regime %s.") % regime)
    if InventoryCheck.objects.filter(site=site, regime=regime, status="open").exists():
        raise ApplicationError(_("An inventory of this site is already under way."))
    day = started_on or timezone.localdate()
    since, staff = staff_list(site, regime, day)
    inventory = InventoryCheck.objects.create(
        organization=organization,
        site=site,
        regime=regime,
        started_on=day,
        checker=actor if actor is not None and actor.pk else None,
        staff=staff,
        staff_since=since,
    )
    materials = InfectiousMaterial.objects.filter(
        organization=organization, site=site, regime=regime, material_class=1, status__in=LIVE
    ).order_by("code")
    InventoryLine.objects.bulk_create(
        InventoryLine(inventory=inventory, material=m, expected_quantity=m.quantity, unit=m.unit)
        for m in materials
    )
    audit(actor, organization, inventory, AuditEvent.Action.CREATE)
    return inventory


@transaction.atomic
def inventory_record(
    *, actor: User | None, line: InventoryLine, found_quantity: Decimal, note: str = ""
) -> InventoryLine:
    """The inspector's count of one item."""
    inventory = line.inventory
    require_permission(actor, "biosafety.inspect", inventory.organization)
    if inventory.status != InventoryCheck.Status.OPEN:
        raise ApplicationError(_("The inventory is completed."))
    if found_quantity is None or found_quantity < 0:
        raise ApplicationError(_("A quantity is zero or more."))
    line = InventoryLine.objects.select_for_update().get(pk=line.pk)
    before = snapshot(line)
    line.found_quantity, line.note = found_quantity, note.strip()
    line.save()
    audit(actor, inventory.organization, line, AuditEvent.Action.UPDATE, before)
    return line


@implements("BS-11", "HP-02")
@transaction.atomic
def inventory_complete(
    *, actor: User | None, inventory: InventoryCheck, at: datetime | None = None
) -> list[Anomaly]:
    """Close the count: each difference becomes an anomaly with its clocks; the inventory's
    obligation is met and the next one opens (6 or 3 months on)."""
    require_permission(actor, "biosafety.inspect", inventory.organization)
    inventory = (
        InventoryCheck.objects.select_for_update(of=("self",))
        .select_related("site")
        .get(pk=inventory.pk)
    )
    if inventory.status != InventoryCheck.Status.OPEN:
        raise ApplicationError(_("The inventory is completed."))
    lines = list(inventory.lines.select_related("material__agent"))
    if any(line.found_quantity is None for line in lines):
        raise ApplicationError(_("Record the quantity found for every item first."), rule="BS-11")
    moment = at or timezone.now()
    before = snapshot(inventory)
    inventory.status = InventoryCheck.Status.COMPLETED
    inventory.completed_at = moment
    done_on = timezone.localtime(moment).date()
    due = rules.inventory_due(done_on, regime=inventory.regime)  # type: ignore[arg-type]
    inventory.next_due = due.due
    inventory.save()
    audit(actor, inventory.organization, inventory, AuditEvent.Action.TRANSITION, before)
    anomalies = []
    for line in lines:
        assert line.found_quantity is not None
        if line.found_quantity == line.expected_quantity:
            continue
        missing = line.found_quantity == 0
        anomalies.append(
            anomaly_open(
                actor=actor,
                material=line.material,
                kind=Anomaly.Kind.ITEM if missing else Anomaly.Kind.QUANTITY,
                description=_("expected %(e)s %(u)s, found %(f)s %(u)s")
                % {
                    "e": line.expected_quantity.normalize(),
                    "f": line.found_quantity.normalize(),
                    "u": line.unit,
                },
                noticed_at=moment,
                inventory=inventory,
            )
        )
    site = inventory.site
    rule_id = _interval_rule(inventory.regime)
    for obligation in Obligation.objects.filter(
        subject_type="core.site", subject_id=str(site.pk), rule_id=rule_id, state="open"
    ):
        core_services.obligation_close(
            actor=None, obligation=obligation, evidence=_("inventory of %s") % done_on
        )
    core_services.obligation_open(
        organization=inventory.organization,
        rule_id=rule_id,
        title=_("Inventory of class 1 material at %(site)s (%(regime)s)")
        % {"site": site.code, "regime": inventory.get_regime_display()},
        due_at=end_of_day(due.due),
        subject=site,
        responsible_role=Role.BIOSAFETY_OFFICER,
        actor=actor,
    )
    return anomalies


@implements("BS-11")
@transaction.atomic
def inventory_report(
    *, actor: User | None, inventory: InventoryCheck, reported_on: date
) -> InventoryCheck:
    """The inventory's results go to the committee (BS-11)."""
    require_permission(actor, "biosafety.inspect", inventory.organization)
    if inventory.status != InventoryCheck.Status.COMPLETED:
        raise ApplicationError(_("Complete the inventory first."), rule="BS-11")
    before = snapshot(inventory)
    inventory.status, inventory.reported_on = InventoryCheck.Status.REPORTED, reported_on
    inventory.save()
    audit(actor, inventory.organization, inventory, AuditEvent.Action.TRANSITION, before)
    return inventory


def _titles() -> dict[str, str]:
    return {
        "authority_notice": _("Notify the local and central authorities of the anomaly"),
        "committee_investigation": _("Committee investigation of the anomaly"),
        "authority_report": _("Send the investigation report to the authorities"),
    }


def _open_clock(actor: User | None, anomaly: Anomaly, deadline: rules.Deadline) -> Obligation:
    title = _titles().get(deadline.key, deadline.reason)
    obligation = core_services.obligation_open(
        organization=anomaly.organization,
        rule_id=deadline.rule,
        title=f"{title}: {anomaly.material.code}",
        due_at=as_moment(deadline.due),
        subject=anomaly,
        responsible_role=Role.BIOSAFETY_OFFICER,
        actor=actor,
    )
    anomaly.clocks = CLOCKS.validate_python({**anomaly.clocks, deadline.key: obligation.pk})
    return obligation


def clock(anomaly: Anomaly, key: str) -> Obligation | None:
    pk = anomaly.clocks.get(key)
    return Obligation.objects.filter(pk=pk).first() if pk else None


def _meet(anomaly: Anomaly, key: str, evidence: str) -> None:
    obligation = clock(anomaly, key)
    if obligation is not None and obligation.state == Obligation.State.OPEN:
        core_services.obligation_close(actor=None, obligation=obligation, evidence=evidence)


@implements("BS-11", "HP-03")
@transaction.atomic
def anomaly_open(
    *,
    actor: User | None,
    material: InfectiousMaterial,
    kind: str,
    description: str,
    noticed_at: datetime,
    major: bool = False,
    inventory: InventoryCheck | None = None,
) -> Anomaly:
    """Record an anomaly and open its clocks: the committee's investigation (animal 7 days
    from the day after notice), the authorities' notice (24 hours for risk group ≥3 class 1
    or a major anomaly; human: 3 days for risk group 3-4) and the investigation report."""
    require_permission(actor, "biosafety.inspect", material.organization)
    if kind not in Anomaly.Kind.values or not description.strip():
        raise ApplicationError(_("Say what kind of anomaly it is and what was found."))
    anomaly = Anomaly.objects.create(
        organization=material.organization,
        inventory=inventory,
        material=material,
        kind=kind,
        description=description.strip(),
        major=major,
        regime=material.regime,
        noticed_at=noticed_at,
    )
    deadlines = rules.anomaly_deadlines(
        noticed_at,
        regime=material.regime,  # type: ignore[arg-type]
        risk_group=material.agent.risk_group,
        material_class=material.material_class,
        major=major,
    )
    for deadline in deadlines:
        _open_clock(actor, anomaly, deadline)
    if not deadlines:
        anomaly.status = Anomaly.Status.CLOSED
    anomaly.save()
    audit(actor, anomaly.organization, anomaly, AuditEvent.Action.CREATE)
    return anomaly


def _locked(anomaly: Anomaly) -> Anomaly:
    return (
        Anomaly.objects.select_for_update(of=("self",))
        .select_related("organization", "material__agent")
        .get(pk=anomaly.pk)
    )


@implements("BS-11", "HP-03")
@transaction.atomic
def anomaly_authorities_notified(
    *, actor: User | None, anomaly: Anomaly, at: datetime, reference: str
) -> Anomaly:
    """The local and central authorities were told (24 hours animal, 3 days human)."""
    require_permission(actor, "biosafety.manage", anomaly.organization)
    anomaly = _locked(anomaly)
    if not reference.strip():
        raise ApplicationError(_("Give the reference of the notice."))
    before = snapshot(anomaly)
    anomaly.authority_notified_at = at
    anomaly.save()
    audit(actor, anomaly.organization, anomaly, AuditEvent.Action.UPDATE, before)
    _meet(anomaly, "authority_notice", f"{timezone.localtime(at):%Y-%m-%d %H:%M} {reference}")
    return anomaly


@implements("BS-11", "HP-03")
@transaction.atomic
def anomaly_investigation_complete(
    *, actor: User | None, anomaly: Anomaly, completed_on: date, findings: str
) -> Anomaly:
    """The committee's investigation is done: its clock is met and the report's clock is
    counted again from the real completion day (BS-11: 3 days; HP-03: 7 days)."""
    require_permission(actor, "biosafety.manage", anomaly.organization)
    anomaly = _locked(anomaly)
    if anomaly.status != Anomaly.Status.OPEN:
        raise ApplicationError(_("The investigation is already complete."))
    if not findings.strip():
        raise ApplicationError(_("Record the findings."), rule="BS-11")
    if completed_on < timezone.localtime(anomaly.noticed_at).date():
        raise ApplicationError(_("The investigation cannot end before the anomaly was noticed."))
    before = snapshot(anomaly)
    anomaly.investigation_completed_on, anomaly.findings = completed_on, findings.strip()
    anomaly.status = Anomaly.Status.INVESTIGATED
    _meet(anomaly, "committee_investigation", f"{completed_on} {findings.strip()[:100]}")
    provisional = clock(anomaly, "authority_report")
    if provisional is not None:
        if provisional.state == Obligation.State.OPEN:
            core_services.obligation_waive(
                actor=None,
                obligation=provisional,
                reason=_("counted again from the investigation's completion"),
            )
        report = rules.investigation_report_due(completed_on, regime=anomaly.regime)  # type: ignore[arg-type]
        _open_clock(actor, anomaly, report)
    else:
        anomaly.status = Anomaly.Status.CLOSED
    anomaly.save()
    audit(actor, anomaly.organization, anomaly, AuditEvent.Action.TRANSITION, before)
    return anomaly


@implements("BS-11", "HP-03")
@transaction.atomic
def anomaly_report_sent(
    *, actor: User | None, anomaly: Anomaly, reported_on: date, reference: str
) -> Anomaly:
    """The investigation report went to the local and central authorities."""
    require_permission(actor, "biosafety.manage", anomaly.organization)
    anomaly = _locked(anomaly)
    if anomaly.status != Anomaly.Status.INVESTIGATED or clock(anomaly, "authority_report") is None:
        raise ApplicationError(_("No investigation report is waiting."), rule="BS-11")
    if not reference.strip():
        raise ApplicationError(_("Give the reference of the report."))
    before = snapshot(anomaly)
    anomaly.authority_reported_on, anomaly.authority_reference = reported_on, reference.strip()
    anomaly.status = Anomaly.Status.CLOSED
    anomaly.save()
    audit(actor, anomaly.organization, anomaly, AuditEvent.Action.TRANSITION, before)
    _meet(anomaly, "authority_report", f"{reported_on} {reference.strip()}")
    return anomaly
