"""Research ethics in the HTTP API: committees and their roster (HR-02), protocols and
submissions (HR-01, HR-03), decisions (EC-09), meetings (HR-02), the self-assessment with its
live score (EC-02 … EC-04), and the auditing body's campaigns: audits, ratings per auditor,
consolidated result and validity (EC-04, EC-05), passing IRBs and the follow-up draw (EC-06).

Every read goes through a selector scoped to the caller's organizations (another
organization's record answers 404); every write goes through a service, which checks the
permission (403) and the rule (400 with its rule ID).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from biobank.core.errors import ApplicationError
from biobank.core.models import User
from biobank.ethics import rules, selectors, services
from biobank.ethics.models import (
    IRB,
    AuditCampaign,
    AuditCriterion,
    IRBAudit,
    Meeting,
    Protocol,
    ReviewDecision,
    SelfAssessment,
    Submission,
)

router = Router(tags=["ethics"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# Schemas -------------------------------------------------------------------------------------


class CheckOut(Schema):
    allowed: bool
    reasons: list[str]
    rule: str


class MemberOut(Schema):
    id: int
    name: str
    role: str
    external: bool
    gender: str
    scientist: bool
    legal_expert: bool
    term_start: date
    term_end: date | None


class IRBOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    code: str
    name: str
    kind: str
    previously_passed: bool


class IRBDetailOut(IRBOut):
    members: list[MemberOut]
    composition: CheckOut

    @staticmethod
    def resolve_members(obj: IRB) -> list[Any]:
        return list(obj.members.all())

    @staticmethod
    def resolve_composition(obj: IRB) -> dict[str, Any]:
        return _check(services.composition(obj))


class DecisionOut(Schema):
    id: UUID = Field(alias="public_id")
    outcome: str
    decided_on: date
    conditions: str
    meeting: str | None = None
    continuing_review_months: int | None
    notice_due: date
    notified_on: date | None

    @staticmethod
    def resolve_meeting(obj: ReviewDecision) -> str | None:
        return obj.meeting.number if obj.meeting_id and obj.meeting else None


class SubmissionOut(Schema):
    id: UUID = Field(alias="public_id")
    protocol: str = Field(alias="protocol.code")
    kind: str
    received_on: date
    summary: str
    terminate: bool
    ended_on: date | None
    review_type: str
    review_reasons: list[str]
    state: str
    decision: DecisionOut | None = None

    @staticmethod
    def resolve_decision(obj: Submission) -> ReviewDecision | None:
        return getattr(obj, "decision", None)


class ProtocolOut(Schema):
    id: UUID = Field(alias="public_id")
    irb: str = Field(alias="irb.code")
    code: str
    title: str
    principal_investigator: str
    sponsor: str
    risk: str
    state: str
    approved_until: date | None
    ended_on: date | None
    retention_until: date | None


class ProtocolDetailOut(ProtocolOut):
    submissions: list[SubmissionOut]

    @staticmethod
    def resolve_submissions(obj: Protocol) -> list[Submission]:
        return list(obj.submissions.select_related("protocol", "decision", "decision__meeting"))


class SubmissionIn(Schema):
    kind: str
    received_on: date
    summary: str = ""
    terminate: bool = False
    ended_on: date | None = None


class DecisionIn(Schema):
    outcome: str
    decided_on: date
    conditions: str = ""
    meeting: UUID | None = None
    continuing_review_months: int | None = None


class AgendaItemOut(Schema):
    position: int
    submission: UUID
    protocol: str
    kind: str
    discussion: str


class MeetingOut(Schema):
    id: UUID = Field(alias="public_id")
    irb: str = Field(alias="irb.code")
    number: str
    held_on: date
    state: str


class MeetingDetailOut(MeetingOut):
    minutes: str
    present: list[str]
    agenda: list[AgendaItemOut]
    quorum: CheckOut | None

    @staticmethod
    def resolve_present(obj: Meeting) -> list[str]:
        return [m.name for m in obj.present.all()]

    @staticmethod
    def resolve_agenda(obj: Meeting) -> list[dict[str, Any]]:
        return [
            {
                "position": item.position,
                "submission": item.submission.public_id,
                "protocol": item.submission.protocol.code,
                "kind": item.submission.kind,
                "discussion": item.discussion,
            }
            for item in obj.agenda.select_related("submission", "submission__protocol")
        ]

    @staticmethod
    def resolve_quorum(obj: Meeting) -> dict[str, Any] | None:
        """The quorum check once the meeting is held (HR-02)."""
        if obj.state != Meeting.State.HELD:
            return None
        return _check(services.meeting_quorum(obj))


class CriterionOut(Schema):
    number: str
    chapter: int
    kind: str
    text: str
    na_allowed: bool
    rating: str | None
    evidence: str
    computed: str


class ScoreOut(Schema):
    passed: bool
    ratio: float
    rated: int
    passing: int
    failed_mandatory: list[str]
    reasons: list[str]
    rule: str


class LiveScoreOut(Schema):
    rated: int
    total: int
    passing: int
    ratio: float | None
    score: ScoreOut | None
    needed: int | None


class SelfAssessmentOut(Schema):
    irb: str
    year: int
    composition: CheckOut
    live: LiveScoreOut
    criteria: list[CriterionOut]


class RatingIn(Schema):
    number: str
    rating: str
    evidence: str = ""


class CampaignOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    year: int
    window_opens: date
    window_closes: date
    completion_due: date
    announced_on: date | None


class AuditOut(Schema):
    id: UUID = Field(alias="public_id")
    irb: str = Field(alias="irb.code")
    irb_name: str = Field(alias="irb.name")
    audit_type: str
    state: str
    applied_on: date | None
    application_complete: bool
    passed: bool | None
    ratio: float | None
    valid_from: date | None
    valid_until: date | None
    mandatory_followup: bool
    needs_improvement: bool
    improvement_due: date | None


class DrawOut(Schema):
    id: int
    seed: int
    count: int
    candidates: list[str]
    mandatory: list[str]
    drawn: list[str]
    drawn_at: datetime
    replayed: list[str]

    @staticmethod
    def resolve_replayed(obj: Any) -> list[str]:
        """The draw replayed from its recorded seed: equal to ``drawn`` (EC-06)."""
        return list(
            rules.followup_draw(
                obj.candidates, count=obj.count, seed=obj.seed, mandatory=obj.mandatory
            ).drawn
        )


class CampaignDetailOut(CampaignOut):
    audits: list[AuditOut]
    draws: list[DrawOut]

    @staticmethod
    def resolve_audits(obj: AuditCampaign) -> list[IRBAudit]:
        return list(selectors.audit_list_for_campaign(obj))

    @staticmethod
    def resolve_draws(obj: AuditCampaign) -> list[Any]:
        return list(obj.draws.all())


class SheetOut(Schema):
    auditor: str
    submitted_at: datetime | None
    ratings: dict[str, str]


class ConsolidatedOut(Schema):
    audit: UUID
    irb: str
    state: str
    consolidated: dict[str, str]
    non_compliant: list[str]
    score: ScoreOut | None
    problem: str
    passed: bool | None
    valid_from: date | None
    valid_until: date | None


class PassingOut(Schema):
    irb: str
    name: str
    organization: str
    audit_type: str
    ratio: float | None
    valid_from: date | None
    valid_until: date | None


class DrawIn(Schema):
    count: int
    seed: int | None = None
    mandatory: list[str] = []


def _check(check: rules.Check) -> dict[str, Any]:
    return {"allowed": check.allowed, "reasons": list(check.reasons), "rule": check.rule}


def _score(score: rules.AuditScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "passed": score.passed,
        "ratio": score.ratio,
        "rated": score.rated,
        "passing": score.passing,
        "failed_mandatory": list(score.failed_mandatory),
        "reasons": list(score.reasons),
        "rule": score.rule,
    }


# Committees ----------------------------------------------------------------------------------


@router.get("/ethics/irbs", response=list[IRBOut])
def ethics_irb_list(request: HttpRequest) -> list[IRB]:
    return list(selectors.irb_list_for_user(request.user))


@router.get("/ethics/irbs/{irb_id}", response=IRBDetailOut)
def ethics_irb_detail(request: HttpRequest, irb_id: UUID) -> IRB:
    """The roster with terms, roles and backgrounds, and its composition check (HR-02), which
    answers mandatory criterion 1.4."""
    return selectors.irb_get_for_user(request.user, irb_id)


# Protocols, submissions, decisions -----------------------------------------------------------


@router.get("/ethics/irbs/{irb_id}/protocols", response=list[ProtocolOut])
def ethics_protocol_list(request: HttpRequest, irb_id: UUID) -> list[Protocol]:
    irb = selectors.irb_get_for_user(request.user, irb_id)
    return list(selectors.protocol_list_for_user(request.user).filter(irb=irb)[:500])


@router.get("/ethics/protocols/{protocol_id}", response=ProtocolDetailOut)
def ethics_protocol_detail(request: HttpRequest, protocol_id: UUID) -> Protocol:
    return selectors.protocol_get_for_user(request.user, protocol_id)


@router.post("/ethics/protocols/{protocol_id}/submissions", response={201: SubmissionOut})
def ethics_submission_create(
    request: HttpRequest, protocol_id: UUID, payload: SubmissionIn
) -> Status:
    """An amendment, continuing review, SAE, deviation, suspension or termination, or closure
    on an approved protocol (HR-01, HR-03)."""
    protocol = selectors.protocol_get_for_user(request.user, protocol_id)
    made = services.submission_create(actor=_user(request), protocol=protocol, **payload.dict())
    return Status(201, made)


@router.get("/ethics/submissions/{submission_id}", response=SubmissionOut)
def ethics_submission_detail(request: HttpRequest, submission_id: UUID) -> Submission:
    return selectors.submission_get_for_user(request.user, submission_id)


@router.post("/ethics/submissions/{submission_id}/decision", response={201: DecisionOut})
def ethics_decision_record(
    request: HttpRequest, submission_id: UUID, payload: DecisionIn
) -> Status:
    """Record the decision; its notice is due in 14 working days (EC-09). A full-board review
    names the meeting it was decided at (HR-01, HR-02)."""
    submission = selectors.submission_get_for_user(request.user, submission_id)
    data = payload.dict()
    meeting_id = data.pop("meeting")
    meeting: Meeting | None = None
    if meeting_id is not None:
        meeting = selectors.meeting_get_for_user(request.user, meeting_id)
        if meeting.irb_id != submission.protocol.irb_id:
            raise ApplicationError(_("The meeting is of another IRB."), rule="HR-01")
    decision = services.decision_record(
        actor=_user(request), submission=submission, meeting=meeting, **data
    )
    return Status(201, decision)


# Meetings ------------------------------------------------------------------------------------


@router.get("/ethics/irbs/{irb_id}/meetings", response=list[MeetingOut])
def ethics_meeting_list(request: HttpRequest, irb_id: UUID) -> list[Meeting]:
    irb = selectors.irb_get_for_user(request.user, irb_id)
    return list(selectors.meeting_list_for_user(request.user, irb)[:500])


class MeetingIn(Schema):
    number: str
    held_on: date


@router.post("/ethics/irbs/{irb_id}/meetings", response={201: MeetingDetailOut})
def ethics_meeting_create(request: HttpRequest, irb_id: UUID, payload: MeetingIn) -> Status:
    """A full-board meeting of the IRB (its agenda, attendance and quorum follow, HR-02)."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    meeting = services.meeting_create(actor=_user(request), irb=irb, **payload.dict())
    return Status(201, meeting)


@router.get("/ethics/meetings/{meeting_id}", response=MeetingDetailOut)
def ethics_meeting_detail(request: HttpRequest, meeting_id: UUID) -> Meeting:
    """A meeting with its agenda, attendance and quorum check once held (HR-02)."""
    return selectors.meeting_get_for_user(request.user, meeting_id)


# Self-assessment -----------------------------------------------------------------------------


def _self_assessment(irb: IRB, year: int) -> dict[str, Any]:
    assessment = SelfAssessment.objects.filter(irb=irb, year=year).first()
    ratings = assessment.ratings if assessment else {}
    evidence = assessment.evidence if assessment else {}
    computed = services.evidence(irb)
    by_number = {c.number: c for c in rules.load_criteria()}
    live = services.live_score(irb, assessment)
    return {
        "irb": irb.code,
        "year": year,
        "composition": _check(services.composition(irb)),
        "live": {
            "rated": live.rated,
            "total": live.total,
            "passing": live.passing,
            "ratio": live.ratio,
            "score": _score(live.score),
            "needed": live.needed,
        },
        "criteria": [
            {
                "number": c.number,
                "chapter": c.chapter,
                "kind": c.kind,
                "text": c.text,
                "na_allowed": by_number[c.number].allows_na(
                    previously_passed=irb.previously_passed
                ),
                "rating": ratings.get(c.number),
                "evidence": evidence.get(c.number, ""),
                "computed": computed.get(c.number, ""),
            }
            for c in AuditCriterion.objects.all()
        ],
    }


@router.get("/ethics/irbs/{irb_id}/self-assessment/{year}", response=SelfAssessmentOut)
def ethics_self_assessment(request: HttpRequest, irb_id: UUID, year: int) -> dict[str, Any]:
    """The 57 criteria with rating, evidence and what the records show, and the live score
    with how many items would make it pass (EC-02 … EC-04)."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    return _self_assessment(irb, year)


@router.post("/ethics/irbs/{irb_id}/self-assessment/{year}/ratings", response=SelfAssessmentOut)
def ethics_self_assessment_rate(
    request: HttpRequest, irb_id: UUID, year: int, payload: RatingIn
) -> dict[str, Any]:
    irb = selectors.irb_get_for_user(request.user, irb_id)
    services.self_assessment_rate(actor=_user(request), irb=irb, year=year, **payload.dict())
    return _self_assessment(irb, year)


# The auditing body ---------------------------------------------------------------------------


@router.get("/ethics/campaigns", response=list[CampaignOut])
def ethics_campaign_list(request: HttpRequest) -> list[AuditCampaign]:
    return list(selectors.campaign_list_for_user(request.user))


@router.get("/ethics/campaigns/{campaign_id}", response=CampaignDetailOut)
def ethics_campaign_detail(request: HttpRequest, campaign_id: UUID) -> AuditCampaign:
    return selectors.campaign_get_for_user(request.user, campaign_id)


@router.get("/ethics/campaigns/{campaign_id}/passing", response=list[PassingOut])
def ethics_campaign_passing(request: HttpRequest, campaign_id: UUID) -> list[dict[str, Any]]:
    """The IRBs that passed in this campaign, with their validity (EC-05)."""
    campaign = selectors.campaign_get_for_user(request.user, campaign_id)
    return [
        {
            "irb": a.irb.code,
            "name": a.irb.name,
            "organization": a.irb.organization.code,
            "audit_type": a.audit_type,
            "ratio": a.ratio,
            "valid_from": a.valid_from,
            "valid_until": a.valid_until,
        }
        for a in selectors.audit_list_for_campaign(campaign).filter(passed=True)
    ]


@router.post("/ethics/campaigns/{campaign_id}/draws", response={201: DrawOut})
def ethics_followup_draw(request: HttpRequest, campaign_id: UUID, payload: DrawIn) -> Status:
    """Draw follow-up audits by lot among the valid IRBs, with a recorded seed, plus the
    mandatory ones named by IRB code (EC-06)."""
    campaign = selectors.campaign_get_for_user(request.user, campaign_id)
    mandatory = []
    for code in payload.mandatory:
        # only an IRB this body has audited can be named for a mandatory follow-up
        irb = (
            IRB.objects.filter(audits__campaign__organization=campaign.organization, code=code)
            .distinct()
            .first()
        )
        if irb is None:
            raise ApplicationError(_("Unknown IRB %s.") % code, rule="EC-06")
        mandatory.append(irb)
    draw = services.followup_draw_run(
        actor=_user(request),
        campaign=campaign,
        count=payload.count,
        mandatory=mandatory,
        seed=payload.seed,
    )
    return Status(201, draw)


class IRBAuditOut(Schema):
    """An audit as the audited IRB sees it: the result, validity and findings only once
    announced; never an auditor's sheet (作業程序 九)."""

    id: UUID
    year: int
    body: str
    audit_type: str
    state: str
    passed: bool | None
    ratio: float | None
    valid_from: date | None
    valid_until: date | None
    validity_shortened_from: date | None
    findings: list[str]
    needs_improvement: bool
    improvement_due: date | None


@router.get("/ethics/irbs/{irb_id}/audits", response=list[IRBAuditOut])
def ethics_irb_audits(request: HttpRequest, irb_id: UUID) -> list[dict[str, Any]]:
    """The IRB's own audits by any auditing body (EC-04 … EC-06): nothing of the ratings
    before the announcement."""
    irb = selectors.irb_get_for_user(request.user, irb_id)
    rows = []
    for audit in selectors.irb_audit_list_for_user(request.user, irb):
        announced = audit.state == IRBAudit.State.ANNOUNCED
        rows.append(
            {
                "id": audit.public_id,
                "year": audit.campaign.year,
                "body": audit.campaign.organization.code,
                "audit_type": audit.audit_type,
                "state": audit.state,
                "passed": audit.passed if announced else None,
                "ratio": audit.ratio if announced else None,
                "valid_from": audit.valid_from if announced else None,
                "valid_until": audit.valid_until if announced else None,
                "validity_shortened_from": audit.validity_shortened_from,
                "findings": sorted(
                    (n for n, r in audit.consolidated.items() if r == rules.NON_COMPLIANT),
                    key=rules.number_key,
                )
                if announced
                else [],
                "needs_improvement": audit.needs_improvement,
                "improvement_due": audit.improvement_due,
            }
        )
    return rows


@router.get("/ethics/audits/{audit_id}", response=AuditOut)
def ethics_audit_detail(request: HttpRequest, audit_id: UUID) -> IRBAudit:
    return selectors.audit_get_for_user(request.user, audit_id)


@router.get("/ethics/audits/{audit_id}/ratings", response=list[SheetOut])
def ethics_audit_ratings(request: HttpRequest, audit_id: UUID) -> list[dict[str, Any]]:
    """Each assigned auditor's sheet (EC-03)."""
    audit = selectors.audit_get_for_user(request.user, audit_id)
    return [
        {
            "auditor": sheet.auditor.get_username(),
            "submitted_at": sheet.submitted_at,
            "ratings": sheet.ratings,
        }
        for sheet in services.audit_consolidation(audit).sheets
    ]


@router.get("/ethics/audits/{audit_id}/consolidated", response=ConsolidatedOut)
def ethics_audit_consolidated(request: HttpRequest, audit_id: UUID) -> dict[str, Any]:
    """The consolidated rating per item and its score (EC-04); once announced, the result and
    its validity (EC-05)."""
    audit = selectors.audit_get_for_user(request.user, audit_id)
    result = services.audit_consolidation(audit)
    return {
        "audit": audit.public_id,
        "irb": audit.irb.code,
        "state": audit.state,
        "consolidated": result.consolidated,
        "non_compliant": list(result.non_compliant),
        "score": _score(result.score),
        "problem": result.problem,
        "passed": audit.passed,
        "valid_from": audit.valid_from,
        "valid_until": audit.valid_until,
    }


# The IRB's own records (roster, SOPs, declarations, training, complaints, meetings) ---------
# imported last: ``committee_api`` uses this module's schemas
from biobank.ethics.committee_api import router as committee_router  # noqa: E402

router.add_router("/", committee_router)
