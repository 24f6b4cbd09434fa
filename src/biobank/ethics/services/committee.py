"""IRB use cases: the committee roster and the self-assessment of the MOHW audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.tenancy import require_permission
from biobank.ethics import rules
from biobank.ethics.models import IRB, IRBMember, SelfAssessment


@transaction.atomic
def irb_create(
    *,
    actor: User | None,
    organization: Organization,
    code: str,
    name: str,
    kind: str,
    previously_passed: bool = False,
) -> IRB:
    require_permission(actor, "irb.manage", organization)
    if kind not in IRB.Kind.values:
        raise ApplicationError(_("Unknown kind of IRB."), rule="EC-01")
    if IRB.objects.filter(organization=organization, code=code).exists():
        raise ApplicationError(_("IRB %s already exists.") % code)
    irb = IRB.objects.create(
        organization=organization,
        code=code.strip(),
        name=name.strip(),
        kind=kind,
        previously_passed=previously_passed,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=irb,
        after=snapshot(irb),
    )
    return irb


@transaction.atomic
def irb_member_add(
    *,
    actor: User | None,
    irb: IRB,
    name: str,
    gender: str,
    external: bool,
    role: str = IRBMember.Role.MEMBER,
    scientist: bool = True,
    legal_expert: bool = False,
    term_start: date | None = None,
    term_end: date | None = None,
) -> IRBMember:
    require_permission(actor, "irb.manage", irb.organization)
    if not name.strip():
        raise ApplicationError(_("A member has a name."))
    if gender not in IRBMember.Gender.values or role not in IRBMember.Role.values:
        raise ApplicationError(_("Unknown gender or role."))
    member = IRBMember.objects.create(
        irb=irb,
        name=name.strip(),
        gender=gender,
        external=external,
        role=role,
        scientist=scientist,
        legal_expert=legal_expert,
        term_start=term_start or timezone.localdate(),
        term_end=term_end,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=irb.organization,
        instance=member,
        after=snapshot(member),
    )
    return member


@transaction.atomic
def irb_member_end(
    *, actor: User | None, member: IRBMember, term_end: date, reason: str = ""
) -> IRBMember:
    """End a member's term (the roster keeps the member, HR-02); the composition check from the
    next day on no longer counts them."""
    irb = member.irb
    require_permission(actor, "irb.manage", irb.organization)
    member = IRBMember.objects.select_for_update().get(pk=member.pk)
    if member.term_end is not None and member.term_end <= term_end:
        raise ApplicationError(_("This term has already ended."))
    if term_end < member.term_start:
        raise ApplicationError(_("A term cannot end before it starts."))
    before = snapshot(member)
    member.term_end = term_end
    member.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=irb.organization,
        instance=member,
        before=before,
        after=snapshot(member),
        reason=reason.strip(),
    )
    return member


def sitting_members(irb: IRB, *, on: date | None = None) -> list[IRBMember]:
    """Voting members whose term covers ``on`` (today by default)."""
    day = on or timezone.localdate()
    return [
        m
        for m in irb.members.all()
        if m.voting and m.term_start <= day and (m.term_end is None or m.term_end >= day)
    ]


def composition(irb: IRB) -> rules.Check:
    """The roster against 人體研究法 §7 (HR-02): the answer to mandatory criterion 1.4."""
    return rules.composition_check(
        [
            rules.Member(m.gender, m.external, legal_expert=m.legal_expert, scientist=m.scientist)
            for m in sitting_members(irb)
        ]
    )


@transaction.atomic
def self_assessment_rate(
    *, actor: User, irb: IRB, year: int, number: str, rating: str, evidence: str = ""
) -> SelfAssessment:
    """Rate one criterion of the self-assessment; NA only where the criterion allows (EC-03)."""
    require_permission(actor, "irb.manage", irb.organization)
    criteria = {c.number: c for c in rules.load_criteria()}
    criterion = criteria.get(number)
    if criterion is None:
        raise ApplicationError(_("%s is not an audit criterion.") % number, rule="EC-02")
    if rating not in rules.RATINGS:
        raise ApplicationError(_("Unknown rating %s.") % rating, rule="EC-03")
    if rating == rules.NA and not criterion.allows_na(previously_passed=irb.previously_passed):
        raise ApplicationError(
            _("Criterion %s cannot be rated not applicable.") % number, rule="EC-03"
        )
    assessment, _created = SelfAssessment.objects.select_for_update().get_or_create(
        irb=irb, year=year
    )
    before = {
        "rating": assessment.ratings.get(number),
        "evidence": assessment.evidence.get(number, ""),
    }
    assessment.ratings[number] = rating
    if evidence.strip():
        assessment.evidence[number] = evidence.strip()
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=irb.organization,
        instance=assessment,
        before=before,
        after={"item": number, "rating": rating, "evidence": evidence.strip()},
    )
    return assessment


@dataclass(frozen=True)
class LiveScore:
    rated: int
    total: int
    passing: int
    ratio: float | None
    score: rules.AuditScore | None  # once every criterion is rated
    needed: int | None


def live_score(irb: IRB, assessment: SelfAssessment | None) -> LiveScore:
    """Where the self-assessment stands: the provisional ratio, and the score with what would
    make it pass once every criterion is rated (EC-04)."""
    ratings = dict(assessment.ratings) if assessment else {}
    criteria = rules.load_criteria()
    counted = [r for r in ratings.values() if r != rules.NA]
    passing = sum(r in rules.PASSING_RATINGS for r in counted)
    ratio = passing / len(counted) if counted else None
    if len(ratings) < len(criteria):
        return LiveScore(len(ratings), len(criteria), passing, ratio, None, None)
    score = rules.score_audit(ratings, previously_passed=irb.previously_passed)
    needed = rules.what_would_pass(ratings, previously_passed=irb.previously_passed)
    return LiveScore(len(ratings), len(criteria), passing, score.ratio, score, needed)
