"""Retention of biosafety records (BS-05, BS-06, BS-07, BS-09, BS-12, BS-15; HP-04): each is
kept at least its regime's period from ``rules.retention_until`` (3 years; 10 years for a
controlled agent's incident and disposal records in the human regime). Purging earlier is
refused with the rule ID; ``biobank retention`` lists what may be purged.

The committee's own records (BS-06 §4.2, "committee_record"; HP-04 in the human regime) are
the committee or responsible person itself, counted from its dissolution; its meetings with
their decisions, from the meeting; the approvals it decided (a §4.1 duty), from when they
stop mattering (rejected, or the material no longer held); and the emergency plans it
approved (a §4.1 duty), from when they were replaced. A record still in force (a serving
committee, an approval of material still held, the approved plan) counts from today, so it
is never purged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.biosafety import rules
from biobank.biosafety.models import (
    Anomaly,
    Approval,
    Committee,
    Destruction,
    Drill,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
    InventoryCheck,
    Meeting,
    TrainingRecord,
)
from biobank.biosafety.services.common import audit, today
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.retention import Purgeable
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission


@dataclass(frozen=True)
class Kind:
    """How one model's records are kept: the regime data's record kind, the day the period
    starts, the regime and whether a controlled agent is involved."""

    record_kind: str
    starts: Callable[[Any], date]
    regime: Callable[[Any], str]
    controlled: Callable[[Any], bool]
    date_field: str


def _local(moment: Any) -> date:
    return timezone.localtime(moment).date()


LIVE = ("held", "suspended", "sealed")


def _approval_ends(approval: Approval) -> date:
    """An approval matters while its material is held under it: a rejected one from its last
    decision, an approved one from the day the material was destroyed or left."""
    decided = [d for d in (approval.committee_decided_on, approval.central_decided_on) if d]
    if approval.status in (Approval.Status.PENDING_COMMITTEE, Approval.Status.PENDING_CENTRAL):
        return today()
    if approval.status == Approval.Status.REJECTED:
        return max(decided, default=_local(approval.updated_at))
    material: InfectiousMaterial = approval.material
    if material.status in LIVE:
        return today()
    gone = material.destructions.aggregate(last=Max("destroyed_on"))["last"]
    return max([*decided, gone or _local(material.updated_at)])


def _plan_ends(plan: EmergencyPlan) -> date:
    """The approved plan is in force; a retired or abandoned one counts from its last change."""
    if plan.status == EmergencyPlan.Status.APPROVED:
        return today()
    return _local(plan.updated_at)


KINDS: dict[type[models.Model], Kind] = {
    Committee: Kind(
        "committee_record",
        lambda r: r.dissolved_on or today(),
        lambda r: r.regime,
        lambda r: False,
        "dissolved_on",
    ),
    Meeting: Kind(
        "committee_record",
        lambda r: r.held_on,
        lambda r: r.committee.regime,
        lambda r: False,
        "held_on",
    ),
    Approval: Kind(
        "committee_record",
        _approval_ends,
        lambda r: r.material.regime,
        lambda r: False,
        "created_at__date",
    ),
    EmergencyPlan: Kind(
        "committee_record", _plan_ends, lambda r: r.regime, lambda r: False, "created_at__date"
    ),
    Incident: Kind(
        "incident_record",
        lambda r: r.closed_on or _local(r.noticed_at),
        lambda r: r.regime,
        lambda r: r.controlled,
        "noticed_at__date",
    ),
    Anomaly: Kind(
        "incident_record",
        lambda r: r.authority_reported_on or r.investigation_completed_on or _local(r.noticed_at),
        lambda r: r.regime,
        lambda r: r.material.agent.controlled,
        "noticed_at__date",
    ),
    Destruction: Kind(
        "destruction_record",
        lambda r: r.destroyed_on,
        lambda r: r.material.regime,
        lambda r: r.controlled,
        "destroyed_on",
    ),
    TrainingRecord: Kind(
        "training_record", lambda r: r.on, lambda r: "animal", lambda r: False, "on"
    ),
    Drill: Kind(
        "drill_record", lambda r: r.held_on, lambda r: r.plan.regime, lambda r: False, "held_on"
    ),
    InventoryCheck: Kind(
        "storage_record",
        lambda r: r.reported_on or r.started_on,
        lambda r: r.regime,
        lambda r: False,
        "started_on",
    ),
}


@implements("BS-05", "BS-06", "BS-07", "BS-09", "BS-12", "BS-15", "HP-04")
def retention_of(record: models.Model) -> tuple[date, str]:
    """The last day ``record`` must be kept and the rule that says so. A controlled agent's
    record follows the human regime's 10 years (HP-04) too; the later date wins."""
    kind = KINDS[type(record)]
    start, regime = kind.starts(record), kind.regime(record)
    controlled = kind.controlled(record)
    found = []
    for name in {regime, "human"} if controlled else {regime}:
        until = rules.retention_until(
            kind.record_kind,
            start,
            regime=name,  # type: ignore[arg-type]
            controlled=controlled,
        )
        special = controlled and kind.record_kind in rules.regime_data(name)["retention_controlled"]
        table = "retention_controlled" if special else "retention"
        found.append((until, rules.figure(name, table, kind.record_kind).rule))
    return max(found)


def purgeable(
    *, as_of: date | None = None, organization: Organization | None = None
) -> Iterator[tuple[models.Model, date, str]]:
    """Records whose retention ended before ``as_of``: (record, kept until, rule)."""
    day = as_of or today()
    # nothing is kept less than 3 years: only older records can qualify
    horizon = rules.add_months(day, -36)
    for model, kind in KINDS.items():
        queryset = model._default_manager.filter(**{f"{kind.date_field}__lte": horizon})
        if organization is not None:
            queryset = queryset.filter(organization=organization)
        for record in queryset.order_by("pk"):
            until, rule = retention_of(record)
            if until < day:
                yield record, until, rule


def kind_model(label: str) -> type[models.Model] | None:
    """The purged model named ``label`` (``biosafety.incident``), or None."""
    return next((model for model in KINDS if model._meta.label_lower == label), None)


@implements("BS-05", "BS-06", "BS-07", "BS-09", "BS-12", "BS-15", "HP-04")
@transaction.atomic
def record_purge(*, actor: User | None, record: models.Model, reason: str) -> None:
    """Delete a biosafety record whose retention period has ended; refused before then, with
    the rule that sets the period. The audit trail keeps the record's last state."""
    organization = record.organization  # type: ignore[attr-defined]
    require_permission(actor, "biosafety.manage", organization)
    if type(record) not in KINDS:
        raise ApplicationError(_("This record is not purged here."))
    until, rule = retention_of(record)
    if until >= today():
        raise ApplicationError(
            _("Kept until %(until)s: it cannot be deleted before then.") % {"until": until},
            rule=rule,
        )
    if not reason.strip():
        raise ApplicationError(_("Say why the record is purged."))
    if isinstance(record, Incident):
        if record.destructions.exists():
            raise ApplicationError(_("Purge the destructions this incident ordered first."))
        record.steps.all().delete()
        record.materials.clear()
    if isinstance(record, InventoryCheck):
        if record.anomalies.exists():
            raise ApplicationError(_("Purge the anomalies this inventory found first."))
        record.lines.all().delete()
    if isinstance(record, Committee):
        if record.meetings.exists():
            raise ApplicationError(_("Purge the committee's meetings first."))
        for member in record.members.all():
            audit(actor, organization, member, AuditEvent.Action.DELETE, snapshot(member), reason)
            member.delete()
    if isinstance(record, EmergencyPlan) and record.drills.exists():
        raise ApplicationError(_("Purge the drills held under this plan first."))
    if isinstance(record, Meeting):
        # its decisions are part of its minutes and share its period
        for decision in record.decisions.all():
            audit(
                actor, organization, decision, AuditEvent.Action.DELETE, snapshot(decision), reason
            )
            decision.delete()
        record.attendees.clear()
        if record.minutes_document:
            storage, name = record.minutes_document.storage, record.minutes_document.name
            transaction.on_commit(lambda: storage.delete(name))
    audit(actor, organization, record, AuditEvent.Action.DELETE, snapshot(record), reason)
    record.delete()


def retention_rows(as_of: date, organization: Organization | None) -> Iterator[Purgeable]:
    """``purgeable`` as the rows ``biobank retention`` lists (registered in ``apps.py``)."""
    for record, until, rule in purgeable(as_of=as_of, organization=organization):
        yield Purgeable(
            organization=record.organization.code,  # type: ignore[attr-defined]
            kind=record._meta.label_lower,
            id=str(record.pk),
            label=str(record)[:200],
            kept_until=until,
            rule=rule,
        )
