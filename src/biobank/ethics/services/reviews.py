"""Protocols and their review: submissions, review type, reviewers, meetings, decisions and
their notice (HR-01 … HR-03, EC-09, EC-10; SOPs 7-10, 16, 18-20 of annex 2 item 10)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, object_label, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation, User
from biobank.core.roles import Role
from biobank.core.services import obligation_close, obligation_open, obligations_settle_for_subject
from biobank.core.tenancy import require_permission
from biobank.ethics import rules
from biobank.ethics.models import (
    IRB,
    AgendaItem,
    IRBMember,
    Meeting,
    Protocol,
    ReviewDecision,
    ReviewerAssignment,
    Submission,
)
from biobank.ethics.services.committee import sitting_members

# Kinds that need an approved (or suspended) project to act on.
_ON_RUNNING_PROJECT = {
    Submission.Kind.AMENDMENT,
    Submission.Kind.CONTINUING,
    Submission.Kind.SAE,
    Submission.Kind.DEVIATION,
    Submission.Kind.SUSPENSION,
    Submission.Kind.CLOSURE,
}
_APPROVING = {ReviewDecision.Outcome.APPROVE, ReviewDecision.Outcome.APPROVE_WITH_CHANGES}


def end_of_day(day: date) -> datetime:
    """A deadline day as the last minute of that day in Asia/Taipei."""
    return datetime.combine(day, time(23, 59), tzinfo=timezone.get_default_timezone())


def _open_obligations(subject: models.Model, rule_id: str) -> list[Obligation]:
    return list(
        Obligation.objects.filter(
            subject_type=object_label(subject),
            subject_id=str(subject.pk),
            rule_id=rule_id,
            state=Obligation.State.OPEN,
        )
    )


def _obligations_done(
    *, actor: User | None, subject: models.Model, rule_id: str, evidence: str
) -> None:
    for obligation in _open_obligations(subject, rule_id):
        obligation_close(actor=actor, obligation=obligation, evidence=evidence)


def _audit(
    actor: User | None,
    action: str,
    irb: IRB,
    instance: models.Model,
    before: dict[str, object] | None = None,
    reason: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=irb.organization,
        instance=instance,
        before=before,
        after=snapshot(instance),
        reason=reason,
    )


# Protocols and submissions -------------------------------------------------------------------


@transaction.atomic
def protocol_create(
    *,
    actor: User | None,
    irb: IRB,
    code: str,
    title: str,
    principal_investigator: str,
    risk: str,
    received_on: date,
    pi_email: str = "",
    sponsor: str = "",
    summary: str = "",
) -> Protocol:
    """Register a new protocol with its first submission (kind ``new``; SOP 7, 9)."""
    require_permission(actor, "irb.manage", irb.organization)
    if risk not in Protocol.Risk.values:
        raise ApplicationError(_("Unknown risk level."), rule="HR-01")
    if not (code.strip() and title.strip() and principal_investigator.strip()):
        raise ApplicationError(_("A protocol has a code, a title and an investigator."))
    if Protocol.objects.filter(irb=irb, code=code.strip()).exists():
        raise ApplicationError(_("Protocol %s already exists.") % code.strip())
    protocol = Protocol.objects.create(
        irb=irb,
        code=code.strip(),
        title=title.strip(),
        principal_investigator=principal_investigator.strip(),
        pi_email=pi_email.strip(),
        sponsor=sponsor.strip(),
        risk=risk,
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, protocol)
    submission = Submission.objects.create(
        protocol=protocol, kind=Submission.Kind.NEW, received_on=received_on, summary=summary
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, submission)
    return protocol


@transaction.atomic
def submission_create(
    *,
    actor: User | None,
    protocol: Protocol,
    kind: str,
    received_on: date,
    summary: str = "",
    terminate: bool = False,
    ended_on: date | None = None,
) -> Submission:
    """A later submission on a protocol: amendment (approved before it applies, HR-01),
    continuing review (HR-03), SAE, deviation, suspension or termination, closure."""
    irb = protocol.irb
    require_permission(actor, "irb.manage", irb.organization)
    if kind not in Submission.Kind.values or kind == Submission.Kind.NEW:
        raise ApplicationError(_("Choose the kind of submission; a new protocol is registered."))
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    if kind in _ON_RUNNING_PROJECT and protocol.state not in {
        Protocol.State.APPROVED,
        Protocol.State.SUSPENDED,
    }:
        raise ApplicationError(
            _("Protocol %(code)s is %(state)s: only an approved or suspended project takes this.")
            % {"code": protocol.code, "state": protocol.get_state_display()}
        )
    submission = Submission.objects.create(
        protocol=protocol,
        kind=kind,
        received_on=received_on,
        summary=summary.strip(),
        terminate=terminate and kind == Submission.Kind.SUSPENSION,
        ended_on=ended_on if kind == Submission.Kind.CLOSURE else None,
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, submission)
    return submission


@transaction.atomic
def submission_triage(
    *, actor: User | None, submission: Submission, review_type: str, reasons: Sequence[str]
) -> Submission:
    """Set the review type with its reasons (HR-01; criterion 2.6, SOP 8)."""
    irb = submission.protocol.irb
    require_permission(actor, "irb.manage", irb.organization)
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if submission.state not in {Submission.State.RECEIVED, Submission.State.IN_REVIEW}:
        raise ApplicationError(_("This submission is already decided."), rule="HR-01")
    if submission.agenda_items.exists() and review_type != Submission.ReviewType.FULL:
        raise ApplicationError(_("Take the submission off the agenda first."), rule="HR-01")
    check = rules.review_type_check(
        kind=submission.kind,
        review_type=review_type,
        reasons=list(reasons),
        risk=submission.protocol.risk,
    )
    if not check:
        raise ApplicationError(check.reason, rule=check.rule)
    before = snapshot(submission)
    submission.review_type = review_type
    submission.review_reasons = list(reasons)
    submission.state = Submission.State.IN_REVIEW
    submission.save()
    _audit(actor, AuditEvent.Action.TRANSITION, irb, submission, before, check.reason)
    return submission


@transaction.atomic
def reviewer_assign(
    *,
    actor: User | None,
    submission: Submission,
    member: IRBMember | None = None,
    expert_name: str = "",
    kind: str = ReviewerAssignment.Kind.REVIEWER,
) -> ReviewerAssignment:
    """Assign a member or an outside expert to review (criteria 2.4, 2.5). A member who
    declared a conflict of interest on the protocol is refused (criterion 1.10)."""
    irb = submission.protocol.irb
    require_permission(actor, "irb.manage", irb.organization)
    if (member is None) == (not expert_name.strip()):
        raise ApplicationError(_("Name either a member or an outside expert."))
    if member is not None:
        if member.irb_id != irb.pk or not member.voting:
            raise ApplicationError(_("The reviewer must be a voting member of this IRB."))
        if member.declarations.filter(
            kind="conflict", protocol=submission.protocol, conflicted=True
        ).exists():
            raise ApplicationError(
                _("%(name)s declared a conflict of interest on %(code)s.")
                % {"name": member.name, "code": submission.protocol.code},
                rule="EC-02",
            )
        if submission.reviewers.filter(member=member).exists():
            raise ApplicationError(_("%s already reviews this submission.") % member.name)
    if kind not in ReviewerAssignment.Kind.values:
        raise ApplicationError(_("Unknown kind of reviewer."))
    assignment = ReviewerAssignment.objects.create(
        submission=submission, member=member, expert_name=expert_name.strip(), kind=kind
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, assignment)
    return assignment


@transaction.atomic
def reviewer_opinion(
    *, actor: User | None, assignment: ReviewerAssignment, opinion: str, recommendation: str
) -> ReviewerAssignment:
    """A reviewer's written opinion and recommended outcome."""
    irb = assignment.submission.protocol.irb
    require_permission(actor, "irb.review", irb.organization)
    if recommendation not in ReviewDecision.Outcome.values or not opinion.strip():
        raise ApplicationError(_("Give an opinion and a recommended decision."))
    assignment = ReviewerAssignment.objects.select_for_update().get(pk=assignment.pk)
    before = snapshot(assignment)
    assignment.opinion = opinion.strip()
    assignment.recommendation = recommendation
    assignment.reviewed_at = timezone.now()
    assignment.save()
    _audit(actor, AuditEvent.Action.UPDATE, irb, assignment, before)
    return assignment


# Meetings ------------------------------------------------------------------------------------


@transaction.atomic
def meeting_create(*, actor: User | None, irb: IRB, number: str, held_on: date) -> Meeting:
    require_permission(actor, "irb.manage", irb.organization)
    if not number.strip():
        raise ApplicationError(_("A meeting has a number."))
    if Meeting.objects.filter(irb=irb, number=number.strip()).exists():
        raise ApplicationError(_("Meeting %s already exists.") % number.strip())
    meeting = Meeting.objects.create(irb=irb, number=number.strip(), held_on=held_on)
    _audit(actor, AuditEvent.Action.CREATE, irb, meeting)
    return meeting


@transaction.atomic
def meeting_agenda_add(
    *, actor: User | None, meeting: Meeting, submission: Submission, discussion: str = ""
) -> AgendaItem:
    """Put a full-board submission on a meeting's agenda (SOP 5)."""
    require_permission(actor, "irb.manage", meeting.irb.organization)
    submission = Submission.objects.select_related("protocol").get(pk=submission.pk)
    if submission.protocol.irb_id != meeting.irb_id:
        raise ApplicationError(_("The submission belongs to another IRB."))
    if submission.review_type != Submission.ReviewType.FULL:
        raise ApplicationError(_("Only a full-board review goes to a meeting."), rule="HR-01")
    if submission.state != Submission.State.IN_REVIEW:
        raise ApplicationError(_("Only a submission in review goes to a meeting."))
    if meeting.agenda.filter(submission=submission).exists():
        raise ApplicationError(_("The submission is already on this agenda."))
    position = meeting.agenda.count() + 1
    item = AgendaItem.objects.create(
        meeting=meeting, submission=submission, position=position, discussion=discussion
    )
    _audit(actor, AuditEvent.Action.CREATE, meeting.irb, item)
    return item


@transaction.atomic
def meeting_attendance_set(
    *, actor: User | None, meeting: Meeting, present: Sequence[IRBMember], minutes: str = ""
) -> Meeting:
    """Record who attended (HR-02) and the minutes; the meeting is then held."""
    require_permission(actor, "irb.manage", meeting.irb.organization)
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if any(m.irb_id != meeting.irb_id for m in present):
        raise ApplicationError(_("Only the IRB's own members attend."))
    before = {"present": sorted(m.pk for m in meeting.present.all()), "state": meeting.state}
    meeting.present.set(present)
    meeting.state = Meeting.State.HELD
    if minutes.strip():
        meeting.minutes = minutes.strip()
    meeting.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=meeting.irb.organization,
        instance=meeting,
        before=before,
        after={"present": sorted(m.pk for m in present), "state": meeting.state},
    )
    return meeting


def meeting_quorum(meeting: Meeting) -> rules.Check:
    """Whether the meeting had its quorum (HR-02): the sitting voting members on the day
    against those present."""
    sitting = sitting_members(meeting.irb, on=meeting.held_on)
    sitting_ids = {m.pk for m in sitting}
    here = [m for m in meeting.present.all() if m.pk in sitting_ids]

    def as_rule(m: IRBMember) -> rules.Member:
        return rules.Member(
            m.gender, m.external, legal_expert=m.legal_expert, scientist=m.scientist
        )

    return rules.quorum_check([as_rule(m) for m in sitting], [as_rule(m) for m in here])


# Decisions -----------------------------------------------------------------------------------


def _check_decision_venue(submission: Submission, meeting: Meeting | None, day: date) -> None:
    if submission.review_type == Submission.ReviewType.FULL:
        if meeting is None or not meeting.agenda.filter(submission=submission).exists():
            raise ApplicationError(
                _("A full-board review is decided at a meeting with the submission on its agenda."),
                rule="HR-01",
            )
        if meeting.state != Meeting.State.HELD or meeting.held_on != day:
            raise ApplicationError(
                _("Record the meeting's attendance first; the decision date is the meeting's."),
                rule="HR-02",
            )
        quorum = meeting_quorum(meeting)
        if not quorum:
            raise ApplicationError(
                _("The meeting had no quorum: %s") % "; ".join(quorum.reasons), rule="HR-02"
            )
    elif meeting is not None:
        raise ApplicationError(_("Only a full-board review is decided at a meeting."), rule="HR-01")


def _project_ends(actor: User | None, protocol: Protocol, ended_on: date, why: str) -> None:
    """The project is over: continuing reviews are moot; files are kept 3 years (EC-10)."""
    protocol.ended_on = ended_on
    protocol.retention_until = rules.retention_until(ended_on)
    protocol.approved_until = None
    obligations_settle_for_subject(subject=protocol, rule_id="HR-03", reason=why)
    obligation_open(
        organization=protocol.irb.organization,
        rule_id="EC-10",
        title=_("Retention of %(code)s ends: its files may be purged") % {"code": protocol.code},
        due_at=end_of_day(protocol.retention_until),
        subject=protocol,
        responsible_role=Role.IRB_ADMIN,
        actor=actor,
    )


def _apply_decision(actor: User | None, decision: ReviewDecision) -> None:
    submission = decision.submission
    protocol = Protocol.objects.select_for_update().get(pk=submission.protocol_id)
    before = snapshot(protocol)
    kind, approved = submission.kind, decision.outcome in _APPROVING
    organization = protocol.irb.organization
    if kind in {Submission.Kind.NEW, Submission.Kind.CONTINUING} and approved:
        protocol.state = Protocol.State.APPROVED
        _obligations_done(
            actor=actor,
            subject=protocol,
            rule_id="HR-03",
            evidence=_("Continuing review approved on %s") % decision.decided_on.isoformat(),
        )
        if submission.review_type != Submission.ReviewType.EXEMPT:
            protocol.approved_until = rules.continuing_review_due(
                decision.decided_on,
                risk=protocol.risk,
                months=decision.continuing_review_months,
            )
            obligation_open(
                organization=organization,
                rule_id="HR-03",
                title=_("Continuing review of %(code)s") % {"code": protocol.code},
                due_at=end_of_day(protocol.approved_until),
                subject=protocol,
                responsible_role=Role.IRB_ADMIN,
                actor=actor,
            )
    elif kind == Submission.Kind.NEW and decision.outcome == ReviewDecision.Outcome.DISAPPROVE:
        protocol.state = Protocol.State.DISAPPROVED
    elif kind == Submission.Kind.SUSPENSION and approved:
        obligation_open(
            organization=organization,
            rule_id="HR-03",
            title=_("Notify the grounds of the %(what)s of %(code)s")
            % {
                "what": _("termination") if submission.terminate else _("suspension"),
                "code": protocol.code,
            },
            due_at=end_of_day(rules.suspension_notice_due(decision.decided_on)),
            subject=decision,
            responsible_role=Role.IRB_ADMIN,
            actor=actor,
        )
        if submission.terminate:
            protocol.state = Protocol.State.TERMINATED
            _project_ends(actor, protocol, decision.decided_on, _("project terminated"))
        else:
            protocol.state = Protocol.State.SUSPENDED
    elif kind == Submission.Kind.CLOSURE and approved:
        protocol.state = Protocol.State.CLOSED
        _project_ends(
            actor, protocol, submission.ended_on or decision.decided_on, _("project closed")
        )
    if snapshot(protocol) != before:
        protocol.save()
        _audit(actor, AuditEvent.Action.TRANSITION, protocol.irb, protocol, before)


@transaction.atomic
def decision_record(
    *,
    actor: User | None,
    submission: Submission,
    outcome: str,
    decided_on: date,
    conditions: str = "",
    meeting: Meeting | None = None,
    continuing_review_months: int | None = None,
) -> ReviewDecision:
    """Record the decision (approve, approve with changes, defer, disapprove). A full-board
    review is decided at a meeting with its quorum (HR-01, HR-02). Opens the notice to the
    investigator, due in 14 working days (EC-09), and what the decision sets going: the next
    continuing review (HR-03), the notice of a suspension's grounds (HR-03), the retention of a
    project that ended (EC-10)."""
    irb = submission.protocol.irb
    require_permission(actor, "irb.manage", irb.organization)
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if outcome not in ReviewDecision.Outcome.values:
        raise ApplicationError(_("Unknown decision."))
    if submission.state != Submission.State.IN_REVIEW:
        raise ApplicationError(
            _("Set the review type before deciding, and decide only once."), rule="HR-01"
        )
    if decided_on < submission.received_on or decided_on > timezone.localdate():
        raise ApplicationError(_("The decision date is between receipt and today."))
    if outcome in {ReviewDecision.Outcome.DEFER, ReviewDecision.Outcome.DISAPPROVE} and not (
        conditions.strip()
    ):
        raise ApplicationError(_("Give the reasons for deferring or disapproving."))
    if continuing_review_months is not None and not (
        1 <= continuing_review_months <= rules.MAX_CONTINUING_REVIEW_MONTHS
    ):
        raise ApplicationError(_("Continuing review at least once a year."), rule="HR-03")
    if meeting is not None:
        meeting = Meeting.objects.select_related("irb").get(pk=meeting.pk)
    _check_decision_venue(submission, meeting, decided_on)
    decision = ReviewDecision.objects.create(
        submission=submission,
        meeting=meeting,
        outcome=outcome,
        decided_on=decided_on,
        conditions=conditions.strip(),
        continuing_review_months=continuing_review_months,
        notice_due=rules.review_notice_due(decided_on),
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, decision)
    before = snapshot(submission)
    submission.state = Submission.State.DECIDED
    submission.save()
    _audit(actor, AuditEvent.Action.TRANSITION, irb, submission, before)
    obligation_open(
        organization=irb.organization,
        rule_id="EC-09",
        title=_("Notify %(pi)s of the decision on %(submission)s")
        % {"pi": submission.protocol.principal_investigator, "submission": submission},
        due_at=end_of_day(decision.notice_due),
        subject=decision,
        responsible_role=Role.IRB_ADMIN,
        actor=actor,
    )
    _apply_decision(actor, decision)
    return decision


@transaction.atomic
def decision_notify(
    *, actor: User | None, decision: ReviewDecision, notified_on: date
) -> ReviewDecision:
    """The decision letter went to the investigator (EC-09; HR-03 for a suspension's grounds)."""
    irb = decision.submission.protocol.irb
    require_permission(actor, "irb.manage", irb.organization)
    decision = ReviewDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.notified_on is not None:
        raise ApplicationError(_("The investigator was already notified."))
    if notified_on < decision.decided_on or notified_on > timezone.localdate():
        raise ApplicationError(_("The notice date is between the decision and today."))
    before = snapshot(decision)
    decision.notified_on = notified_on
    decision.save()
    _audit(actor, AuditEvent.Action.TRANSITION, irb, decision, before)
    submission = decision.submission
    before = snapshot(submission)
    submission.state = Submission.State.NOTIFIED
    submission.save()
    _audit(actor, AuditEvent.Action.TRANSITION, irb, submission, before)
    evidence = _("Decision letter sent on %s") % notified_on.isoformat()
    for rule_id in ("EC-09", "HR-03"):
        _obligations_done(actor=actor, subject=decision, rule_id=rule_id, evidence=evidence)
    return decision


def purgeable_protocols(irb: IRB, *, today: date | None = None) -> list[Protocol]:
    """Protocols whose files are past their retention (EC-10): listed, never deleted."""
    day = today or timezone.localdate()
    return list(
        Protocol.objects.filter(irb=irb, retention_until__lt=day).order_by("retention_until")
    )
