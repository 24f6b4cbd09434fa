"""The IRB's own records: declarations (criteria 1.5, 1.10), training (1.11, 1.12), the SOP
register (EC-11, 1.1), complaints (4.9), and the evidence these give the self-assessment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.ethics import rules
from biobank.ethics.models import (
    IRB,
    Complaint,
    IRBMember,
    MemberDeclaration,
    Protocol,
    ReviewDecision,
    SopDocument,
    TrainingRecord,
)
from biobank.ethics.services.committee import composition, sitting_members
from biobank.ethics.services.reviews import _audit


@transaction.atomic
def declaration_record(
    *,
    actor: User | None,
    member: IRBMember,
    kind: str,
    signed_on: date,
    protocol: Protocol | None = None,
    conflicted: bool = False,
    details: str = "",
) -> MemberDeclaration:
    """A signed confidentiality agreement (1.5) or a conflict-of-interest declaration (1.10),
    in general or on one protocol; a declared conflict keeps the member off its review."""
    irb = member.irb
    require_permission(actor, "irb.manage", irb.organization)
    if kind not in MemberDeclaration.Kind.values:
        raise ApplicationError(_("Unknown kind of declaration."))
    if protocol is not None and protocol.irb_id != irb.pk:
        raise ApplicationError(_("The protocol belongs to another IRB."))
    if kind == MemberDeclaration.Kind.CONFIDENTIALITY and (protocol or conflicted):
        raise ApplicationError(_("A confidentiality agreement is not about a protocol."))
    if signed_on > timezone.localdate():
        raise ApplicationError(_("The signing date is in the future."))
    declaration = MemberDeclaration.objects.create(
        member=member,
        kind=kind,
        signed_on=signed_on,
        protocol=protocol,
        conflicted=conflicted,
        details=details.strip(),
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, declaration)
    return declaration


@transaction.atomic
def training_record(
    *,
    actor: User | None,
    member: IRBMember,
    course: str,
    taken_on: date,
    hours: Decimal,
    induction: bool = False,
) -> TrainingRecord:
    """Hours of regulation and ethics training of a member or staff (1.11, 1.12)."""
    irb = member.irb
    require_permission(actor, "irb.manage", irb.organization)
    if hours <= 0 or not course.strip():
        raise ApplicationError(_("A training has a course and a positive number of hours."))
    if taken_on > timezone.localdate():
        raise ApplicationError(_("The training date is in the future."))
    record = TrainingRecord.objects.create(
        member=member, course=course.strip(), taken_on=taken_on, hours=hours, induction=induction
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, record)
    return record


@transaction.atomic
def sop_record(
    *,
    actor: User | None,
    irb: IRB,
    topic: int,
    document: str,
    version: str,
    approved_on: date,
    reviewed_on: date | None = None,
) -> SopDocument:
    """Record the IRB's SOP for one of the 26 topics (EC-11): a new version or a review."""
    require_permission(actor, "irb.manage", irb.organization)
    if not 1 <= topic <= rules.SOP_TOPIC_COUNT:
        raise ApplicationError(_("SOP topics are numbered 1 to 26."), rule="EC-11")
    if not (document.strip() and version.strip()):
        raise ApplicationError(_("Give the document and its version."), rule="EC-11")
    if reviewed_on is not None and reviewed_on < approved_on:
        raise ApplicationError(_("A review cannot precede the approval."), rule="EC-11")
    existing = SopDocument.objects.select_for_update().filter(irb=irb, topic=topic).first()
    if existing is None:
        sop = SopDocument.objects.create(
            irb=irb,
            topic=topic,
            document=document.strip(),
            version=version.strip(),
            approved_on=approved_on,
            reviewed_on=reviewed_on,
        )
        _audit(actor, AuditEvent.Action.CREATE, irb, sop)
        return sop
    before = snapshot(existing)
    existing.document = document.strip()
    existing.version = version.strip()
    existing.approved_on = approved_on
    existing.reviewed_on = reviewed_on
    existing.save()
    _audit(actor, AuditEvent.Action.UPDATE, irb, existing, before)
    return existing


@dataclass(frozen=True)
class SopRow:
    topic: rules.SopTopic
    document: SopDocument | None
    stale: bool


def sop_register(irb: IRB, *, today: date | None = None) -> list[SopRow]:
    """The 26 topics with the IRB's document for each, stale ones flagged (criterion 1.1)."""
    day = today or timezone.localdate()
    documents = {sop.topic: sop for sop in irb.sops.all()}
    return [
        SopRow(
            topic,
            documents.get(topic.topic),
            topic.topic in documents
            and rules.sop_stale(
                documents[topic.topic].approved_on, documents[topic.topic].reviewed_on, today=day
            ),
        )
        for topic in rules.sop_topics()
    ]


def training_overview(irb: IRB, *, today: date | None = None) -> list[rules.TrainingStatus]:
    """Each sitting member and staff with their training hours over the last year."""
    day = today or timezone.localdate()
    since = rules.training_window_start(day)
    people = [
        m
        for m in irb.members.prefetch_related("trainings")
        if m.term_start <= day and (m.term_end is None or m.term_end >= day)
    ]
    return [
        rules.training_status(
            m.name,
            [t.hours for t in m.trainings.all() if since <= t.taken_on <= day],
            new_member=m.term_start > since and m.voting,
            had_induction=any(t.induction for t in m.trainings.all()),
        )
        for m in people
    ]


# Complaints ----------------------------------------------------------------------------------


@transaction.atomic
def complaint_receive(
    *,
    actor: User | None,
    irb: IRB,
    received_on: date,
    complainant: str,
    summary: str,
    protocol: Protocol | None = None,
) -> Complaint:
    """A participant's complaint (criterion 4.9; SOP 24)."""
    require_permission(actor, "irb.manage", irb.organization)
    if not (complainant.strip() and summary.strip()):
        raise ApplicationError(_("Say who complains and about what."))
    if protocol is not None and protocol.irb_id != irb.pk:
        raise ApplicationError(_("The protocol belongs to another IRB."))
    complaint = Complaint.objects.create(
        irb=irb,
        protocol=protocol,
        received_on=received_on,
        complainant=complainant.strip(),
        summary=summary.strip(),
    )
    _audit(actor, AuditEvent.Action.CREATE, irb, complaint)
    return complaint


@transaction.atomic
def complaint_investigate(
    *, actor: User | None, complaint: Complaint, investigation: str
) -> Complaint:
    require_permission(actor, "irb.manage", complaint.irb.organization)
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.state == Complaint.State.CLOSED:
        raise ApplicationError(_("This complaint is closed."))
    if not investigation.strip():
        raise ApplicationError(_("Describe the investigation."))
    before = snapshot(complaint)
    complaint.investigation = investigation.strip()
    complaint.state = Complaint.State.INVESTIGATING
    complaint.save()
    _audit(actor, AuditEvent.Action.TRANSITION, complaint.irb, complaint, before)
    return complaint


@transaction.atomic
def complaint_close(
    *, actor: User | None, complaint: Complaint, outcome: str, closed_on: date
) -> Complaint:
    require_permission(actor, "irb.manage", complaint.irb.organization)
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.state != Complaint.State.INVESTIGATING:
        raise ApplicationError(_("Investigate the complaint before closing it."))
    if not outcome.strip() or closed_on < complaint.received_on:
        raise ApplicationError(_("Give the outcome and a closing date after receipt."))
    before = snapshot(complaint)
    complaint.outcome = outcome.strip()
    complaint.closed_on = closed_on
    complaint.state = Complaint.State.CLOSED
    complaint.save()
    _audit(actor, AuditEvent.Action.TRANSITION, complaint.irb, complaint, before)
    return complaint


# Evidence for the self-assessment ------------------------------------------------------------


def evidence(irb: IRB, *, today: date | None = None) -> dict[str, str]:
    """What the records show for the criteria they answer, computed from the data."""
    day = today or timezone.localdate()
    shown: dict[str, str] = {}
    register = sop_register(irb, today=day)
    missing = [str(r.topic.topic) for r in register if r.document is None]
    stale = [str(r.topic.topic) for r in register if r.stale]
    shown["1.1"] = _(
        "SOP register (EC-11): %(have)d of 26 topics; missing: %(missing)s; stale: %(stale)s"
    ) % {
        "have": 26 - len(missing),
        "missing": ", ".join(missing) or "—",
        "stale": ", ".join(stale) or "—",
    }
    check = composition(irb)
    shown["1.4"] = _("Composition check (HR-02): %s") % "; ".join(check.reasons)
    members = [m for m in irb.members.all() if m.term_start <= day]
    signed = {
        d.member_id
        for d in MemberDeclaration.objects.filter(
            member__irb=irb, kind=MemberDeclaration.Kind.CONFIDENTIALITY
        )
    }
    shown["1.5"] = _(
        "%(signed)d of %(all)d members and staff signed a confidentiality agreement"
    ) % {
        "signed": sum(m.pk in signed for m in members),
        "all": len(members),
    }
    declarations = MemberDeclaration.objects.filter(
        member__irb=irb, kind=MemberDeclaration.Kind.CONFLICT
    )
    shown["1.10"] = _(
        "%(count)d conflict-of-interest declarations, %(conflicted)d declaring a conflict"
    ) % {"count": declarations.count(), "conflicted": declarations.filter(conflicted=True).count()}
    training = training_overview(irb, today=day)
    voting = {m.name for m in sitting_members(irb, on=day)}
    untrained_members = [t.name for t in training if t.name in voting and not t.trained]
    untrained_staff = [t.name for t in training if t.name not in voting and not t.trained]
    shown["1.11"] = _("Members without training in the last year or induction: %s") % (
        ", ".join(untrained_members) or "—"
    )
    shown["1.12"] = _("Staff without training in the last year: %s") % (
        ", ".join(untrained_staff) or "—"
    )
    share = rules.notice_share(
        ReviewDecision.objects.filter(submission__protocol__irb=irb).values_list(
            "notice_due", "notified_on"
        ),
        today=day,
    )
    ratio = "—" if share.ratio is None else f"{share.ratio:.0%}"
    shown["2.17"] = _(
        "Decisions notified within 14 working days (EC-09): %(on_time)d of %(done)d (%(ratio)s); "
        "%(pending)d pending"
    ) % {
        "on_time": share.on_time,
        "done": share.on_time + share.late,
        "ratio": ratio,
        "pending": share.pending,
    }
    overdue = Protocol.objects.filter(
        irb=irb, state=Protocol.State.APPROVED, approved_until__lt=day
    ).count()
    shown["3.2"] = _("Approved protocols past their continuing review (HR-03): %d") % overdue
    complaints = Complaint.objects.filter(irb=irb)
    shown["4.9"] = _("Complaints: %(all)d received, %(closed)d closed with an outcome") % {
        "all": complaints.count(),
        "closed": complaints.filter(state=Complaint.State.CLOSED).count(),
    }
    ended = Protocol.objects.filter(irb=irb, ended_on__isnull=False)
    shown["5.2"] = _(
        "%(ended)d ended projects with a retention date (EC-10); %(purgeable)d past it"
    ) % {
        "ended": ended.count(),
        "purgeable": ended.filter(retention_until__lt=day).count(),
    }
    return shown
