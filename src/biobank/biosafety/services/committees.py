"""The committee or the person serving instead (BS-06, HP-01): forming it, its members, and
the report of its formation or change to the central authority within one month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from biobank.biosafety import rules
from biobank.biosafety.models import (
    Committee,
    CommitteeDecision,
    CommitteeMember,
    InfectiousMaterial,
    Regime,
)
from biobank.biosafety.services.common import audit, check, end_of_day
from biobank.core import services as core_services
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation, Organization, User
from biobank.core.roles import Role
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

LIVE = ("held", "suspended", "sealed")


def highest_risk_group(organization: Organization, regime: str) -> int | None:
    found = InfectiousMaterial.objects.filter(
        organization=organization, regime=regime, status__in=LIVE
    ).aggregate(top=Max("agent__risk_group"))["top"]
    return int(found) if found is not None else None


def active_committee(organization: Organization, regime: str) -> Committee | None:
    return Committee.objects.filter(
        organization=organization, regime=regime, dissolved_on__isnull=True
    ).first()


def _open_report(actor: User | None, committee: Committee, changed_on: date, what: str) -> None:
    """BS-06 §4.5: formation or change reported to the central authority within 1 month."""
    if Obligation.objects.filter(
        subject_type="biosafety.committee",
        subject_id=str(committee.pk),
        rule_id="BS-06",
        state=Obligation.State.OPEN,
    ).exists():
        return
    due = rules.committee_change_report_due(changed_on)
    core_services.obligation_open(
        organization=committee.organization,
        rule_id=due.rule,
        title=_("Report the %(what)s of %(name)s to the central authority")
        % {"what": what, "name": committee.name},
        due_at=end_of_day(due.due),
        subject=committee,
        responsible_role=Role.BIOSAFETY_OFFICER,
        actor=actor,
    )


@implements("BS-06", "HP-01")
@transaction.atomic
def committee_form(
    *,
    actor: User | None,
    organization: Organization,
    kind: str,
    regime: str,
    name: str,
    formed_on: date,
) -> Committee:
    """Form the biosafety committee, or designate the responsible person (animal, fewer than 5
    staff) or biosafety officer (human, fewer than 30 staff and no risk group 3-4 held)."""
    require_permission(actor, "biosafety.manage", organization)
    if kind not in Committee.Kind.values or regime not in Regime.values:
        raise ApplicationError(_("Unknown kind or regime."))
    if not name.strip():
        raise ApplicationError(_("Give the committee a name."))
    if active_committee(organization, regime) is not None:
        raise ApplicationError(
            _("A committee already serves this regime: dissolve it first."), rule="BS-06"
        )
    decision = rules.committee_required(
        organization.staff_count,
        regime=regime,  # type: ignore[arg-type]
        risk_group=highest_risk_group(organization, regime),
    )
    if decision.required and kind != Committee.Kind.COMMITTEE:
        raise ApplicationError(decision.reason, rule=decision.rule)
    if not decision.required and kind not in (Committee.Kind.COMMITTEE, decision.alternative):
        raise ApplicationError(
            _("In this regime a %s may serve instead of a committee.") % decision.alternative,
            rule=decision.rule,
        )
    committee = Committee.objects.create(
        organization=organization, kind=kind, regime=regime, name=name.strip(), formed_on=formed_on
    )
    audit(actor, organization, committee, AuditEvent.Action.CREATE, reason=decision.reason)
    _open_report(actor, committee, formed_on, _("formation"))
    return committee


@implements("BS-06")
@transaction.atomic
def committee_member_add(
    *,
    actor: User | None,
    committee: Committee,
    name: str,
    role: str,
    joined_on: date,
    user: User | None = None,
    years_lab_experience: Decimal = Decimal(0),
    training_hours: Decimal = Decimal(0),
) -> CommitteeMember:
    """Add a member; a responsible person needs ≥3 years of lab work and ≥16 hours of
    training (§4.4). A change after formation is reported within one month (§4.5)."""
    require_permission(actor, "biosafety.manage", committee.organization)
    if role not in CommitteeMember.Role.values or not name.strip():
        raise ApplicationError(_("Give the member's name and a known role."))
    if committee.dissolved_on is not None:
        raise ApplicationError(_("The committee was dissolved."))
    if role == CommitteeMember.Role.RESPONSIBLE_PERSON:
        check(rules.responsible_person_qualified(years_lab_experience, training_hours))
    member = CommitteeMember.objects.create(
        committee=committee,
        name=name.strip(),
        user=user,
        role=role,
        years_lab_experience=years_lab_experience,
        training_hours=training_hours,
        joined_on=joined_on,
    )
    audit(actor, committee.organization, member, AuditEvent.Action.CREATE)
    if joined_on > committee.formed_on:
        _open_report(actor, committee, joined_on, _("change"))
    return member


@transaction.atomic
def committee_member_remove(
    *, actor: User | None, member: CommitteeMember, left_on: date
) -> CommitteeMember:
    committee = member.committee
    require_permission(actor, "biosafety.manage", committee.organization)
    if member.left_on is not None:
        raise ApplicationError(_("The member already left."))
    before = snapshot(member)
    member.left_on = left_on
    member.save()
    audit(actor, committee.organization, member, AuditEvent.Action.UPDATE, before)
    _open_report(actor, committee, left_on, _("change"))
    return member


@implements("BS-06")
@transaction.atomic
def committee_report(
    *, actor: User | None, committee: Committee, reported_on: date, reference: str
) -> Committee:
    """The formation or change was reported to the central authority: closes the obligation."""
    require_permission(actor, "biosafety.manage", committee.organization)
    if not reference.strip():
        raise ApplicationError(_("Give the reference of the report."), rule="BS-06")
    committee = Committee.objects.select_for_update().get(pk=committee.pk)
    before = snapshot(committee)
    committee.reported_on = reported_on
    committee.report_reference = reference.strip()
    committee.save()
    audit(actor, committee.organization, committee, AuditEvent.Action.UPDATE, before)
    for obligation in Obligation.objects.filter(
        subject_type="biosafety.committee",
        subject_id=str(committee.pk),
        rule_id="BS-06",
        state=Obligation.State.OPEN,
    ):
        core_services.obligation_close(
            actor=actor, obligation=obligation, evidence=f"{reported_on} {reference.strip()}"
        )
    return committee


# What a decision decides → the rule it serves and the field naming the record decided.
DECIDES: dict[str, tuple[str, str]] = {
    CommitteeDecision.Decides.APPROVAL: ("BS-10", "approval"),
    CommitteeDecision.Decides.DESTRUCTION: ("BS-15", "material"),
    CommitteeDecision.Decides.RESUMPTION: ("BS-13", "incident"),
    CommitteeDecision.Decides.PLAN: ("BS-12", "plan"),
}
POSITIVE = (CommitteeDecision.Outcome.APPROVED, CommitteeDecision.Outcome.CONFIRMED)


@implements("BS-06")
def decision_basis(
    decision: CommitteeDecision,
    *,
    decides: str,
    organization: Organization,
    regime: str,
    target: models.Model | None = None,
    negative_allowed: bool = False,
) -> tuple[date, str]:
    """The day and reference a record takes from the committee's decision (BS-06 duties):
    a decision of the organization's committee for the record's regime, deciding this kind of
    thing, about this record when it names one, and approving or confirming it (an approval
    may be rejected too)."""
    rule, field = DECIDES[decides]
    committee = decision.meeting.committee
    if decision.organization_id != organization.pk or committee.regime != regime:
        raise ApplicationError(
            _("The decision was taken by another organization's or regime's committee."),
            rule="BS-06",
        )
    if decision.decides != decides:
        raise ApplicationError(
            _("The decision is about %s.") % decision.get_decides_display(), rule=rule
        )
    linked = getattr(decision, f"{field}_id")
    if linked is not None and target is not None and linked != target.pk:
        raise ApplicationError(_("The decision is about another record."), rule=rule)
    allowed = (*POSITIVE, CommitteeDecision.Outcome.REJECTED) if negative_allowed else POSITIVE
    if decision.outcome not in allowed:
        raise ApplicationError(
            _("The committee's decision was: %s.") % decision.get_outcome_display(), rule=rule
        )
    return decision.meeting.held_on, decision.reference


@implements("BS-06")
@transaction.atomic
def committee_dissolve(
    *, actor: User | None, committee: Committee, dissolved_on: date, reason: str
) -> Committee:
    """The committee (or responsible person) stops serving; the change is reported to the
    central authority within one month (§4.5). Its records are kept 3 years from this day."""
    require_permission(actor, "biosafety.manage", committee.organization)
    committee = Committee.objects.select_for_update().get(pk=committee.pk)
    if committee.dissolved_on is not None:
        raise ApplicationError(_("The committee was dissolved."))
    if dissolved_on < committee.formed_on or not reason.strip():
        raise ApplicationError(_("Give a day after its formation and the reason."), rule="BS-06")
    before = snapshot(committee)
    committee.dissolved_on = dissolved_on
    committee.save()
    audit(actor, committee.organization, committee, AuditEvent.Action.TRANSITION, before, reason)
    _open_report(actor, committee, dissolved_on, _("dissolution"))
    return committee
