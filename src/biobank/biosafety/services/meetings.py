"""Meetings of the biosafety committee with their minutes and decisions (BS-06 §4: the duties'
handling is recorded and kept 3 years). A decision that names the approval (BS-10), incident
(BS-13) or emergency plan (BS-12) it decides is applied to it at once, through that area's
service; a destruction's confirmation (BS-15) is cited when the destruction is recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from biobank.biosafety.models import (
    Approval,
    Committee,
    CommitteeDecision,
    CommitteeMember,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
    Meeting,
)
from biobank.biosafety.services.approvals import approval_committee_decide
from biobank.biosafety.services.committees import POSITIVE
from biobank.biosafety.services.common import audit, today
from biobank.biosafety.services.emergency import plan_approve
from biobank.biosafety.services.incidents import incident_committee_confirm
from biobank.core.audit import snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.rule_registry import implements
from biobank.core.tenancy import require_permission

# The minutes as signed: the same kinds of scan the other areas keep (consents, approvals).
DOCUMENT_TYPES = {"pdf", "png", "jpg", "jpeg", "tif", "tiff"}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def _store_minutes(meeting: Meeting, document: File) -> None:
    name = document.name or "minutes"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in DOCUMENT_TYPES:
        raise ApplicationError(_("The minutes must be a PDF, PNG, JPEG or TIFF document."))
    if document.size is not None and document.size > DOCUMENT_MAX_BYTES:
        raise ApplicationError(_("The document is larger than 10 MB."))
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    if not any(head.startswith(magic) for magic in DOCUMENT_SIGNATURES):
        raise ApplicationError(_("The file is not a PDF, PNG, JPEG or TIFF document."))
    digest = hashlib.sha256()
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    meeting.minutes_document_sha256 = digest.hexdigest()
    meeting.minutes_document.save(name, document, save=False)


def members_on(committee: Committee, day: date) -> list[CommitteeMember]:
    """The committee's members on ``day``: joined by then and not yet left."""
    return [
        member
        for member in committee.members.all()
        if member.joined_on <= day and (member.left_on is None or member.left_on >= day)
    ]


@implements("BS-06")
@transaction.atomic
def meeting_record(
    *,
    actor: User | None,
    committee: Committee,
    held_on: date,
    agenda: str,
    attendees: Iterable[CommitteeMember],
    minutes: str = "",
    document: File | None = None,
) -> Meeting:
    """Record a meeting of the committee (or a sitting of the responsible person): who of its
    members were present, the agenda, and the minutes as text and as the signed document."""
    organization = committee.organization
    require_permission(actor, "biosafety.manage", organization)
    if not agenda.strip():
        raise ApplicationError(_("Give the meeting's agenda."), rule="BS-06")
    if held_on < committee.formed_on or (
        committee.dissolved_on is not None and held_on > committee.dissolved_on
    ):
        raise ApplicationError(
            _("The committee did not serve on %s.") % held_on.isoformat(), rule="BS-06"
        )
    if held_on > today():
        raise ApplicationError(_("Record a meeting once it was held."))
    present = list(attendees)
    serving = {member.pk for member in members_on(committee, held_on)}
    if not present:
        raise ApplicationError(_("Name the members present."), rule="BS-06")
    if any(member.pk not in serving for member in present):
        raise ApplicationError(
            _("Only members of the committee on the day of the meeting attend it."), rule="BS-06"
        )
    meeting = Meeting(
        organization=organization,
        committee=committee,
        held_on=held_on,
        agenda=agenda.strip(),
        minutes=minutes.strip(),
        recorded_by=actor if actor is not None and actor.pk else None,
    )
    if document is not None:
        _store_minutes(meeting, document)
    meeting.save()
    meeting.attendees.set(present)
    audit(
        actor,
        organization,
        meeting,
        AuditEvent.Action.CREATE,
        reason=_("present: %s") % ", ".join(sorted(member.name for member in present)),
    )
    return meeting


@implements("BS-06")
@transaction.atomic
def meeting_minutes_record(
    *,
    actor: User | None,
    meeting: Meeting,
    minutes: str = "",
    document: File | None = None,
    reason: str = "",
) -> Meeting:
    """Add or correct the minutes (text, signed document) after the meeting; the audit trail
    keeps what they said before."""
    require_permission(actor, "biosafety.manage", meeting.organization)
    meeting = Meeting.objects.select_for_update().select_related("organization").get(pk=meeting.pk)
    if not minutes.strip() and document is None:
        raise ApplicationError(_("Give the minutes or their document."))
    before = snapshot(meeting)
    if minutes.strip():
        meeting.minutes = minutes.strip()
    if document is not None:
        _store_minutes(meeting, document)
    meeting.save()
    audit(actor, meeting.organization, meeting, AuditEvent.Action.UPDATE, before, reason)
    return meeting


def _target_regime(target: object) -> str:
    if isinstance(target, Approval):
        return target.material.regime
    if isinstance(target, InfectiousMaterial | Incident | EmergencyPlan):
        return target.regime
    raise TypeError(type(target).__name__)


def _subject(target: object) -> str:
    """What a decision is about, when its subject is not given."""
    if isinstance(target, Approval):
        return f"{target.get_kind_display()} {target.material.code} @ {target.site.code}"
    if isinstance(target, InfectiousMaterial):
        return _("destroy %(code)s (%(agent)s)") % {
            "code": target.code,
            "agent": target.agent.name,
        }
    if isinstance(target, Incident):
        return _("use again after %s") % target.title
    return str(target) if target is not None else ""


@implements("BS-06", "BS-10", "BS-12", "BS-13", "BS-15")
@transaction.atomic
def decision_record(
    *,
    actor: User | None,
    meeting: Meeting,
    decides: str,
    outcome: str,
    subject: str = "",
    conditions: str = "",
    reference: str = "",
    approval: Approval | None = None,
    material: InfectiousMaterial | None = None,
    incident: Incident | None = None,
    plan: EmergencyPlan | None = None,
) -> CommitteeDecision:
    """Record a decision of the meeting. Naming what it decides applies it: an approval is
    decided (BS-10), an incident's material is confirmed safe to use again (BS-13), an
    emergency plan is approved (BS-12, refused while a part is missing); material to destroy
    (BS-15) is destroyed later, citing the decision. Its reference is numbered in the meeting
    unless one is given."""
    organization = meeting.organization
    require_permission(actor, "biosafety.manage", organization)
    if decides not in CommitteeDecision.Decides.values:
        raise ApplicationError(_("Unknown kind of decision %s.") % decides)
    if outcome not in CommitteeDecision.Outcome.values:
        raise ApplicationError(_("Unknown outcome %s.") % outcome)
    links: dict[str, Approval | InfectiousMaterial | Incident | EmergencyPlan | None] = {
        CommitteeDecision.Decides.APPROVAL: approval,
        CommitteeDecision.Decides.DESTRUCTION: material,
        CommitteeDecision.Decides.RESUMPTION: incident,
        CommitteeDecision.Decides.PLAN: plan,
    }
    if any(target is not None for kind, target in links.items() if kind != decides):
        raise ApplicationError(_("A decision names only the kind of record it decides."))
    target = links.get(decides)
    committee = meeting.committee
    if target is not None:
        if target.organization_id != organization.pk:
            raise ApplicationError(_("The record belongs to another organization."))
        if _target_regime(target) != committee.regime:
            raise ApplicationError(
                _("This committee serves the %s regime.") % committee.get_regime_display(),
                rule="BS-06",
            )
    subject = subject.strip() or _subject(target)
    if not subject:
        raise ApplicationError(_("Say what was decided."), rule="BS-06")
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    number = (meeting.decisions.aggregate(top=Max("number"))["top"] or 0) + 1
    reference = (
        reference.strip() or f"{committee.name[:60]} {meeting.held_on.isoformat()} #{number}"
    )
    decision = CommitteeDecision.objects.create(
        organization=organization,
        meeting=meeting,
        number=number,
        reference=reference[:100],
        decides=decides,
        subject=subject[:300],
        outcome=outcome,
        conditions=conditions.strip(),
        approval=approval,
        material=material,
        incident=incident,
        plan=plan,
    )
    audit(actor, organization, decision, AuditEvent.Action.CREATE)
    if approval is not None and outcome in (*POSITIVE, CommitteeDecision.Outcome.REJECTED):
        approval_committee_decide(actor=actor, approval=approval, decision=decision)
    elif incident is not None and outcome in POSITIVE:
        incident_committee_confirm(actor=actor, incident=incident, decision=decision)
    elif plan is not None and outcome in POSITIVE:
        plan_approve(actor=actor, plan=plan, decision=decision)
    return decision
