"""The IRB's own records in the HTTP API, writes included: the roster (add a member, end a
term; HR-02), the SOP register (EC-11, criterion 1.1), declarations (1.5, 1.10), training
(1.11, 1.12), complaints (4.9), and meetings: their agenda, attendance and quorum check
(HR-02). Mounted on the ethics router (``api.py``), tag ``ethics``; a write on a path that
``api.py`` also reads (a meeting created on ``/ethics/irbs/{id}/meetings``) lives there, as
one path is served by one router.

Every record is reached through a selector scoped to the caller's organizations (another
organization's record answers 404); every write goes through a service, which checks the
permission ``irb.manage`` (403) and the rule (400 with its rule ID).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from biobank.core.models import User
from biobank.ethics import selectors, services
from biobank.ethics.api import CheckOut, MeetingDetailOut, MemberOut, _check
from biobank.ethics.models import IRB, Complaint, IRBMember, Meeting, Protocol

router = Router(tags=["ethics"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _member(request: HttpRequest, irb_id: UUID, member_id: int) -> IRBMember:
    irb = selectors.irb_get_for_user(request.user, irb_id)
    member = irb.members.filter(pk=member_id).first()
    if member is None:
        raise Http404("member not found")
    return member


def _protocol(request: HttpRequest, protocol_id: UUID | None) -> Protocol | None:
    return (
        None if protocol_id is None else selectors.protocol_get_for_user(request.user, protocol_id)
    )


# Schemas -------------------------------------------------------------------------------------


class MemberIn(Schema):
    name: str
    gender: str
    external: bool
    role: str = IRBMember.Role.MEMBER
    scientist: bool = True
    legal_expert: bool = False
    term_start: date | None = None
    term_end: date | None = None


class MemberEndIn(Schema):
    term_end: date
    reason: str = ""


class SopIn(Schema):
    topic: int
    document: str
    version: str
    approved_on: date
    reviewed_on: date | None = None


class SopOut(Schema):
    topic: int
    title: str
    document: str | None
    version: str | None
    approved_on: date | None
    reviewed_on: date | None
    stale: bool


class DeclarationIn(Schema):
    kind: str
    signed_on: date
    protocol: UUID | None = None
    conflicted: bool = False
    details: str = ""


class DeclarationOut(Schema):
    id: int
    member: str
    kind: str
    signed_on: date
    protocol: str | None
    conflicted: bool
    details: str


class TrainingIn(Schema):
    course: str
    taken_on: date
    hours: Decimal
    induction: bool = False


class TrainingOut(Schema):
    id: int
    member: str
    course: str
    taken_on: date
    hours: Decimal
    induction: bool


class ComplaintIn(Schema):
    received_on: date
    complainant: str
    summary: str
    protocol: UUID | None = None


class ComplaintOut(Schema):
    id: UUID
    irb: str
    protocol: str | None
    received_on: date
    complainant: str
    summary: str
    investigation: str
    outcome: str
    state: str
    closed_on: date | None


class InvestigationIn(Schema):
    investigation: str


class ClosureIn(Schema):
    outcome: str
    closed_on: date


class AgendaIn(Schema):
    submission: UUID
    discussion: str = ""


class AttendanceIn(Schema):
    present: list[int]
    minutes: str = ""


class QuorumOut(CheckOut):
    meeting: str
    held_on: date
    present: list[str]


def _complaint(complaint: Complaint) -> dict[str, Any]:
    return {
        "id": complaint.public_id,
        "irb": complaint.irb.code,
        "protocol": complaint.protocol.code if complaint.protocol else None,
        "received_on": complaint.received_on,
        "complainant": complaint.complainant,
        "summary": complaint.summary,
        "investigation": complaint.investigation,
        "outcome": complaint.outcome,
        "state": complaint.state,
        "closed_on": complaint.closed_on,
    }


# Roster --------------------------------------------------------------------------------------


@router.post("/ethics/irbs/{irb_id}/members", response={201: MemberOut})
def ethics_member_add(request: HttpRequest, irb_id: UUID, payload: MemberIn) -> Status:
    """Add a member or staff to the roster (HR-02: the composition check counts them)."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    member = services.irb_member_add(actor=_user(request), irb=irb, **payload.dict())
    return Status(201, member)


@router.post("/ethics/irbs/{irb_id}/members/{member_id}/end", response=MemberOut)
def ethics_member_end(
    request: HttpRequest, irb_id: UUID, member_id: int, payload: MemberEndIn
) -> IRBMember:
    """End a member's term; the roster keeps the member (HR-02)."""
    member = _member(request, irb_id, member_id)
    return services.irb_member_end(actor=_user(request), member=member, **payload.dict())


# Records -------------------------------------------------------------------------------------


def _sops(irb: IRB) -> list[dict[str, Any]]:
    return [
        {
            "topic": row.topic.topic,
            "title": row.topic.title_zh,
            "document": row.document.document if row.document else None,
            "version": row.document.version if row.document else None,
            "approved_on": row.document.approved_on if row.document else None,
            "reviewed_on": row.document.reviewed_on if row.document else None,
            "stale": row.stale,
        }
        for row in services.sop_register(irb)
    ]


@router.get("/ethics/irbs/{irb_id}/sops", response=list[SopOut])
def ethics_sop_list(request: HttpRequest, irb_id: UUID) -> list[dict[str, Any]]:
    """The 26 SOP topics with the IRB's document for each, stale ones flagged (EC-11, 1.1)."""
    return _sops(selectors.irb_get_for_user(request.user, irb_id))


@router.post("/ethics/irbs/{irb_id}/sops", response={201: SopOut})
def ethics_sop_record(request: HttpRequest, irb_id: UUID, payload: SopIn) -> Status:
    """Record the IRB's SOP for one of the 26 topics: a new version or a review (EC-11)."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    sop = services.sop_record(actor=_user(request), irb=irb, **payload.dict())
    return Status(201, next(row for row in _sops(irb) if row["topic"] == sop.topic))


@router.post(
    "/ethics/irbs/{irb_id}/members/{member_id}/declarations", response={201: DeclarationOut}
)
def ethics_declaration_record(
    request: HttpRequest, irb_id: UUID, member_id: int, payload: DeclarationIn
) -> Status:
    """A confidentiality agreement (1.5) or a conflict-of-interest declaration (1.10)."""
    member = _member(request, irb_id, member_id)
    data = payload.dict()
    protocol = _protocol(request, data.pop("protocol"))
    made = services.declaration_record(
        actor=_user(request), member=member, protocol=protocol, **data
    )
    return Status(
        201,
        {
            "id": made.pk,
            "member": member.name,
            "kind": made.kind,
            "signed_on": made.signed_on,
            "protocol": protocol.code if protocol else None,
            "conflicted": made.conflicted,
            "details": made.details,
        },
    )


@router.post("/ethics/irbs/{irb_id}/members/{member_id}/training", response={201: TrainingOut})
def ethics_training_record(
    request: HttpRequest, irb_id: UUID, member_id: int, payload: TrainingIn
) -> Status:
    """Hours of regulation and ethics training of a member or staff (1.11, 1.12)."""
    member = _member(request, irb_id, member_id)
    made = services.training_record(actor=_user(request), member=member, **payload.dict())
    return Status(
        201,
        {
            "id": made.pk,
            "member": member.name,
            "course": made.course,
            "taken_on": made.taken_on,
            "hours": made.hours,
            "induction": made.induction,
        },
    )


@router.post("/ethics/irbs/{irb_id}/complaints", response={201: ComplaintOut})
def ethics_complaint_receive(request: HttpRequest, irb_id: UUID, payload: ComplaintIn) -> Status:
    """A participant's complaint (criterion 4.9)."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    data = payload.dict()
    protocol = _protocol(request, data.pop("protocol"))
    made = services.complaint_receive(actor=_user(request), irb=irb, protocol=protocol, **data)
    return Status(201, _complaint(made))


@router.get("/ethics/complaints/{complaint_id}", response=ComplaintOut)
def ethics_complaint_detail(request: HttpRequest, complaint_id: UUID) -> dict[str, Any]:
    return _complaint(selectors.complaint_get_for_user(request.user, complaint_id))


@router.post("/ethics/complaints/{complaint_id}/investigation", response=ComplaintOut)
def ethics_complaint_investigate(
    request: HttpRequest, complaint_id: UUID, payload: InvestigationIn
) -> dict[str, Any]:
    complaint = selectors.complaint_get_for_user(request.user, complaint_id)
    done = services.complaint_investigate(
        actor=_user(request), complaint=complaint, investigation=payload.investigation
    )
    return _complaint(done)


@router.post("/ethics/complaints/{complaint_id}/closure", response=ComplaintOut)
def ethics_complaint_close(
    request: HttpRequest, complaint_id: UUID, payload: ClosureIn
) -> dict[str, Any]:
    """Close an investigated complaint with its outcome (criterion 4.9)."""
    complaint = selectors.complaint_get_for_user(request.user, complaint_id)
    done = services.complaint_close(actor=_user(request), complaint=complaint, **payload.dict())
    return _complaint(done)


# Meetings ------------------------------------------------------------------------------------


@router.post("/ethics/meetings/{meeting_id}/agenda", response={201: MeetingDetailOut})
def ethics_meeting_agenda_add(request: HttpRequest, meeting_id: UUID, payload: AgendaIn) -> Status:
    """Put a full-board submission in review on the meeting's agenda (HR-01)."""
    meeting = selectors.meeting_get_for_user(request.user, meeting_id)
    submission = selectors.submission_get_for_user(request.user, payload.submission)
    services.meeting_agenda_add(
        actor=_user(request), meeting=meeting, submission=submission, discussion=payload.discussion
    )
    return Status(201, meeting)


@router.post("/ethics/meetings/{meeting_id}/attendance", response=MeetingDetailOut)
def ethics_meeting_attendance(
    request: HttpRequest, meeting_id: UUID, payload: AttendanceIn
) -> Meeting:
    """Who attended, by member id, and the minutes; the meeting is then held and its quorum
    checked (HR-02)."""
    meeting = selectors.meeting_get_for_user(request.user, meeting_id)
    present = list(meeting.irb.members.filter(pk__in=payload.present))
    if len(present) != len(set(payload.present)):
        raise Http404("member not found")
    return services.meeting_attendance_set(
        actor=_user(request), meeting=meeting, present=present, minutes=payload.minutes
    )


@router.get("/ethics/meetings/{meeting_id}/quorum", response=QuorumOut)
def ethics_meeting_quorum(request: HttpRequest, meeting_id: UUID) -> dict[str, Any]:
    """The quorum check of a meeting (HR-02): 2/3 of the sitting voting members for 5-6, 1/2
    for 7 or more, with an external non-scientist present."""
    meeting = selectors.meeting_get_for_user(request.user, meeting_id)
    return {
        **_check(services.meeting_quorum(meeting)),
        "meeting": meeting.number,
        "held_on": meeting.held_on,
        "present": [m.name for m in meeting.present.all()],
    }
