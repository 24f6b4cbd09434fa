"""The auditing body's use cases: campaigns, applications, auditors, ratings, result and
validity, appeals and the follow-up draw (EC-01, EC-04 … EC-08; 作業程序 四 … 十三)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.roles import Role
from biobank.core.services import obligation_open
from biobank.core.tenancy import has_permission, require_permission
from biobank.ethics import rules
from biobank.ethics.models import (
    IRB,
    AuditAppeal,
    AuditCampaign,
    AuditorAssignment,
    FollowUpDraw,
    IRBAudit,
)
from biobank.ethics.selectors import past_audits
from biobank.ethics.services.reviews import _obligations_done, end_of_day


def _audit(
    actor: User | None,
    action: str,
    organization: Organization,
    instance: models.Model,
    before: dict[str, object] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=organization,
        instance=instance,
        before=before,
        after=snapshot(instance),
    )


@transaction.atomic
def campaign_create(
    *,
    actor: User | None,
    organization: Organization,
    year: int,
    window_opens: date,
    window_closes: date,
) -> AuditCampaign:
    """Announce a year's audit with its application window (EC-08); completion of incomplete
    applications is due 5 days after the window closes."""
    require_permission(actor, "irb_audit.manage", organization)
    if window_closes < window_opens:
        raise ApplicationError(_("The window closes after it opens."), rule="EC-08")
    if AuditCampaign.objects.filter(organization=organization, year=year).exists():
        raise ApplicationError(_("The %d campaign already exists.") % year)
    campaign = AuditCampaign.objects.create(
        organization=organization,
        year=year,
        window_opens=window_opens,
        window_closes=window_closes,
        completion_due=rules.application_completion_due(window_closes),
    )
    _audit(actor, AuditEvent.Action.CREATE, organization, campaign)
    obligation_open(
        organization=organization,
        rule_id="EC-08",
        title=_("Applications of the %d IRB audit complete") % year,
        due_at=end_of_day(campaign.completion_due),
        subject=campaign,
        responsible_role=Role.IRB_ADMIN,
        actor=actor,
    )
    return campaign


@transaction.atomic
def audit_invite(
    *, actor: User | None, campaign: AuditCampaign, irb: IRB, audit_type: str
) -> IRBAudit:
    """Put an IRB on the campaign (EC-01: only the four kinds of IRB are audited)."""
    require_permission(actor, "irb_audit.manage", campaign.organization)
    if irb.kind not in rules.IRB_KINDS:
        raise ApplicationError(_("This kind of IRB is not audited."), rule="EC-01")
    if audit_type not in IRBAudit.AuditType.values:
        raise ApplicationError(_("Unknown audit type."), rule="EC-06")
    if IRBAudit.objects.filter(campaign=campaign, irb=irb, audit_type=audit_type).exists():
        raise ApplicationError(_("%s is already on this campaign.") % irb.code)
    audit = IRBAudit.objects.create(campaign=campaign, irb=irb, audit_type=audit_type)
    _audit(actor, AuditEvent.Action.CREATE, campaign.organization, audit)
    return audit


@transaction.atomic
def audit_apply(
    *, actor: User | None, audit: IRBAudit, applied_on: date, application: Mapping[str, str]
) -> IRBAudit:
    """Record the IRB's annex 1 application (EC-08): filed within the window; an incomplete
    form may be completed until 5 days after the deadline, not later."""
    campaign = audit.campaign
    require_permission(actor, "irb_audit.manage", campaign.organization)
    audit = IRBAudit.objects.select_for_update().get(pk=audit.pk)
    if audit.applied_on is None and not (
        campaign.window_opens <= applied_on <= campaign.window_closes
    ):
        raise ApplicationError(_("The application was filed outside the window."), rule="EC-08")
    if audit.applied_on is not None and applied_on > campaign.completion_due:
        raise ApplicationError(
            _("Completion was due by %s.") % campaign.completion_due.isoformat(), rule="EC-08"
        )
    unknown = set(application) - set(rules.APPLICATION_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    before = snapshot(audit)
    audit.application = {**audit.application, **{k: str(v) for k, v in application.items()}}
    audit.applied_on = audit.applied_on or applied_on
    audit.application_complete = not rules.application_missing(audit.application)
    audit.state = IRBAudit.State.APPLIED
    audit.save()
    _audit(actor, AuditEvent.Action.UPDATE, campaign.organization, audit, before)
    return audit


@transaction.atomic
def auditor_assign(*, actor: User | None, audit: IRBAudit, auditor: User) -> AuditorAssignment:
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    if not has_permission(auditor, "irb_audit.rate", organization):
        raise ApplicationError(_("%s is not an auditor of this body.") % auditor.get_username())
    if audit.auditors.filter(auditor=auditor).exists():
        raise ApplicationError(_("Already assigned."))
    assignment = AuditorAssignment.objects.create(audit=audit, auditor=auditor)
    _audit(actor, AuditEvent.Action.CREATE, organization, assignment)
    return assignment


@transaction.atomic
def auditor_rate(*, actor: User, audit: IRBAudit, ratings: Mapping[str, str]) -> AuditorAssignment:
    """One auditor's ratings of the 57 criteria, checked as ``score_audit`` checks (EC-03)."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.rate", organization)
    assignment = (
        AuditorAssignment.objects.select_for_update().filter(audit=audit, auditor=actor).first()
    )
    if assignment is None:
        raise ApplicationError(_("You are not assigned to this audit."))
    if audit.state == IRBAudit.State.ANNOUNCED:
        raise ApplicationError(_("The result is announced."))
    try:
        rules.score_audit(dict(ratings), previously_passed=audit.irb.previously_passed)
    except ValueError as error:
        raise ApplicationError(str(error), rule="EC-03") from error
    before = snapshot(assignment)
    assignment.ratings = dict(ratings)
    assignment.submitted_at = timezone.now()
    assignment.save()
    _audit(actor, AuditEvent.Action.UPDATE, organization, assignment, before)
    return assignment


@transaction.atomic
def audit_announce(
    *, actor: User | None, audit: IRBAudit, announced_on: date, lapsed_over_one_year: bool = False
) -> IRBAudit:
    """Consolidate the auditors' ratings, score them (EC-04) and set the validity (EC-05); a
    newly established IRB that passes is due an on-site audit next year (EC-06)."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    audit = IRBAudit.objects.select_for_update().select_related("irb").get(pk=audit.pk)
    sheets = [a.ratings for a in audit.auditors.all() if a.submitted_at]
    if not sheets:
        raise ApplicationError(_("No auditor has rated yet."), rule="EC-04")
    irb = audit.irb
    consolidated = rules.consolidate_ratings(sheets)
    score = rules.score_audit(consolidated, previously_passed=irb.previously_passed)
    validity = rules.audit_validity(
        announced_on,
        passed=score.passed,
        previously_passed=irb.previously_passed,
        lapsed_over_one_year=lapsed_over_one_year,
    )
    before = snapshot(audit)
    audit.consolidated = consolidated
    audit.passed = score.passed
    audit.ratio = score.ratio
    audit.valid_from, audit.valid_until = validity or (None, None)
    audit.state = IRBAudit.State.ANNOUNCED
    audit.save()
    _audit(actor, AuditEvent.Action.TRANSITION, organization, audit, before)
    if rules.next_audit_type(passed=score.passed, newly_established=not irb.previously_passed):
        obligation_open(
            organization=organization,
            rule_id="EC-06",
            title=_("On-site audit of %s next year (newly established)") % irb.code,
            due_at=end_of_day(date(announced_on.year + 1, 12, 31)),
            subject=audit,
            responsible_role=Role.IRB_ADMIN,
            actor=actor,
        )
    if (
        score.passed
        and not irb.previously_passed
        and audit.audit_type != IRBAudit.AuditType.FOLLOWUP
    ):
        before = snapshot(irb)
        IRB.objects.filter(pk=irb.pk).update(previously_passed=True)
        irb.refresh_from_db()
        _audit(actor, AuditEvent.Action.UPDATE, organization, irb, before)
    return audit


@transaction.atomic
def followup_improvement(*, actor: User | None, audit: IRBAudit, due: date) -> IRBAudit:
    """A follow-up rated "needs improvement": the IRB improves by ``due`` (EC-06, 十三)."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    if audit.audit_type != IRBAudit.AuditType.FOLLOWUP:
        raise ApplicationError(_("Only a follow-up audit needs improvement."), rule="EC-06")
    audit = IRBAudit.objects.select_for_update().get(pk=audit.pk)
    before = snapshot(audit)
    audit.needs_improvement, audit.improvement_due = True, due
    audit.save()
    _audit(actor, AuditEvent.Action.TRANSITION, organization, audit, before)
    obligation_open(
        organization=organization,
        rule_id="EC-06",
        title=_("Improvement of %s after its follow-up audit") % audit.irb.code,
        due_at=end_of_day(due),
        subject=audit,
        responsible_role=Role.IRB_ADMIN,
        actor=actor,
    )
    return audit


@transaction.atomic
def appeal_file(
    *, actor: User | None, audit: IRBAudit, filed_on: date, grounds: str
) -> AuditAppeal:
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    if audit.state != IRBAudit.State.ANNOUNCED or not grounds.strip():
        raise ApplicationError(_("An appeal concerns an announced result and gives grounds."))
    appeal = AuditAppeal.objects.create(audit=audit, filed_on=filed_on, grounds=grounds.strip())
    _audit(actor, AuditEvent.Action.CREATE, organization, appeal)
    return appeal


@transaction.atomic
def appeal_decide(
    *, actor: User | None, appeal: AuditAppeal, upheld: bool, outcome: str, decided_on: date
) -> AuditAppeal:
    """The re-review's result: upheld or not, in words; no scores (作業程序 十一)."""
    organization = appeal.audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    appeal = AuditAppeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.decided_on is not None:
        raise ApplicationError(_("The appeal is decided."))
    if not outcome.strip():
        raise ApplicationError(_("Say what the re-review found."))
    before = snapshot(appeal)
    appeal.upheld, appeal.outcome, appeal.decided_on = upheld, outcome.strip(), decided_on
    appeal.save()
    _audit(actor, AuditEvent.Action.TRANSITION, organization, appeal, before)
    return appeal


@transaction.atomic
def appeal_request(
    *, actor: User | None, audit: IRBAudit, grounds: str, filed_on: date | None = None
) -> AuditAppeal:
    """The audited IRB asks for a re-review of its announced result (作業程序 十一), from its
    own side: its IRB administrator files it; the body decides it in words, without scores."""
    require_permission(actor, "irb.manage", audit.irb.organization)
    day = filed_on or timezone.localdate()
    if day > timezone.localdate():
        raise ApplicationError(_("The filing date is in the future."))
    if audit.state != IRBAudit.State.ANNOUNCED or not grounds.strip():
        raise ApplicationError(_("An appeal concerns an announced result and gives grounds."))
    if audit.appeals.filter(decided_on__isnull=True).exists():
        raise ApplicationError(_("An appeal of this result is already under re-review."))
    appeal = AuditAppeal.objects.create(audit=audit, filed_on=day, grounds=grounds.strip())
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=audit.campaign.organization,
        instance=appeal,
        after=snapshot(appeal),
        reason=_("filed by %s") % audit.irb.code,
    )
    return appeal


@transaction.atomic
def audit_mandatory_followup_set(
    *, actor: User | None, audit: IRBAudit, mandatory: bool, grounds: str = ""
) -> IRBAudit:
    """Name an IRB for a mandatory follow-up, or take it off (EC-06, 作業程序 十二): a special
    event, news or complaint judged a violation, or the rating meeting's decision. The next
    follow-up draw of this body takes it as mandatory."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    decision = rules.mandatory_followup_check(mandatory=mandatory, grounds=grounds)
    if not decision:
        raise ApplicationError(_("Give the grounds of the mandatory follow-up."), rule="EC-06")
    audit = IRBAudit.objects.select_for_update().get(pk=audit.pk)
    before = snapshot(audit)
    audit.mandatory_followup = mandatory
    audit.mandatory_followup_grounds = grounds.strip() if mandatory else ""
    audit.save()
    _audit(actor, AuditEvent.Action.UPDATE, organization, audit, before)
    return audit


def mandatory_followups_pending(organization: Organization, *, year: int) -> list[IRB]:
    """IRBs this body named for a mandatory follow-up (EC-06) that have not had one since: a
    periodic audit flagged in year Y waits for a follow-up of year Y or later, a flagged
    follow-up (a priority follow-up, 十三) for one of a later year."""
    audits = list(
        IRBAudit.objects.filter(campaign__organization=organization, campaign__year__lte=year)
        .select_related("irb", "campaign")
        .order_by("irb__code")
    )
    followups: dict[int, list[int]] = {}
    for a in audits:
        if a.audit_type == IRBAudit.AuditType.FOLLOWUP:
            followups.setdefault(a.irb_id, []).append(a.campaign.year)
    pending: dict[int, IRB] = {}
    for a in audits:
        if not a.mandatory_followup:
            continue
        after = a.campaign.year + (1 if a.audit_type == IRBAudit.AuditType.FOLLOWUP else 0)
        if not any(y >= after for y in followups.get(a.irb_id, [])):
            pending[a.irb_id] = a.irb
    return sorted(pending.values(), key=lambda irb: irb.code)


@transaction.atomic
def followup_sample_set(*, actor: User | None, audit: IRBAudit, items: Sequence[str]) -> IRBAudit:
    """The criteria the auditors sample on a follow-up: at most 4 (EC-07, annex 6 note 2 ④)."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    if audit.audit_type != IRBAudit.AuditType.FOLLOWUP:
        raise ApplicationError(_("Only a follow-up audit samples criteria."), rule="EC-07")
    known = {c.number for c in rules.load_criteria()}
    chosen = sorted({i.strip() for i in items if i.strip()}, key=rules.number_key)
    unknown = [i for i in chosen if i not in known]
    if unknown:
        raise ApplicationError(
            _("%s is not an audit criterion.") % ", ".join(unknown), rule="EC-02"
        )
    try:
        rules.followup_scope(last_findings=(), findings_last_4_years={}, sampled=chosen)
    except ValueError as error:
        raise ApplicationError(
            _("At most %d criteria may be sampled.") % rules.FOLLOWUP_MAX_SAMPLED, rule="EC-07"
        ) from error
    audit = IRBAudit.objects.select_for_update().get(pk=audit.pk)
    before = snapshot(audit)
    audit.followup_sampled = chosen
    audit.save()
    _audit(actor, AuditEvent.Action.UPDATE, organization, audit, before)
    return audit


def validity_audit(irb: IRB, organization: Organization, *, on: date) -> IRBAudit | None:
    """The announced, passed periodic audit by this body whose validity covers ``on``."""
    return (
        IRBAudit.objects.filter(
            irb=irb,
            campaign__organization=organization,
            passed=True,
            valid_from__lte=on,
            valid_until__gte=on,
        )
        .exclude(audit_type=IRBAudit.AuditType.FOLLOWUP)
        .order_by("-valid_until")
        .first()
    )


@transaction.atomic
def followup_improvement_review(
    *,
    actor: User | None,
    audit: IRBAudit,
    reviewed_on: date,
    doubts_remain: bool,
    review: str,
    priority_followup: bool = False,
    shorten_to: date | None = None,
) -> IRBAudit:
    """The body reviews the improvement an IRB reports after a follow-up rated "needs
    improvement" (EC-06, 作業程序 十三). If doubts remain, the IRB is named for a priority
    follow-up next year, or its validity (EC-05) is shortened to ``shorten_to``, or both.
    Closes the improvement obligation."""
    organization = audit.campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    audit = IRBAudit.objects.select_for_update().select_related("irb").get(pk=audit.pk)
    if audit.improvement_reviewed_on is not None:
        raise ApplicationError(_("The improvement is already reviewed."), rule="EC-06")
    if not review.strip():
        raise ApplicationError(_("Say what the review of the improvement found."))
    valid = validity_audit(audit.irb, organization, on=reviewed_on)
    decision = rules.improvement_review_check(
        needs_improvement=audit.needs_improvement,
        doubts_remain=doubts_remain,
        priority_followup=priority_followup,
        shorten_to=shorten_to,
        valid_from=valid.valid_from if valid else None,
        valid_until=valid.valid_until if valid else None,
        reviewed_on=reviewed_on,
    )
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)
    before = snapshot(audit)
    audit.improvement_reviewed_on = reviewed_on
    audit.improvement_doubts = doubts_remain
    audit.improvement_review = review.strip()
    if priority_followup:
        audit.mandatory_followup = True
        audit.mandatory_followup_grounds = _(
            "Priority follow-up next year: doubts remain after the improvement review"
        )
    audit.save()
    _audit(actor, AuditEvent.Action.TRANSITION, organization, audit, before)
    if shorten_to is not None and valid is not None:
        valid = IRBAudit.objects.select_for_update().get(pk=valid.pk)
        before = snapshot(valid)
        valid.validity_shortened_from = valid.validity_shortened_from or valid.valid_until
        valid.valid_until = shorten_to
        valid.save()
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            organization=organization,
            instance=valid,
            before=before,
            after=snapshot(valid),
            reason=_("validity shortened after the follow-up of %s (EC-06)") % audit.campaign.year,
        )
    _obligations_done(
        actor=actor, subject=audit, rule_id="EC-06", evidence=audit.improvement_review
    )
    return audit


def followup_scope_for(
    audit: IRBAudit,
) -> tuple[rules.FollowUpScope, rules.CommonFindings, IRBAudit | None]:
    """A follow-up's scope (EC-07): the findings of the IRB's last announced audit by this
    body before it, item 1.4, the top 30 % of common findings of the 4 campaign years before
    (from the body's announced audits), and the criteria the auditors sampled."""
    campaign = audit.campaign
    last = (
        IRBAudit.objects.filter(
            irb_id=audit.irb_id,
            campaign__organization_id=campaign.organization_id,
            state=IRBAudit.State.ANNOUNCED,
            campaign__year__lte=campaign.year,
        )
        .exclude(pk=audit.pk)
        .exclude(campaign__year=campaign.year, audit_type=IRBAudit.AuditType.FOLLOWUP)
        .select_related("campaign")
        .order_by("-campaign__year", "-created_at")
        .first()
    )
    last_findings = (
        [n for n, r in last.consolidated.items() if r == rules.NON_COMPLIANT] if last else []
    )
    common = rules.common_findings_for(
        past_audits(campaign.organization, year=campaign.year), year=campaign.year
    )
    scope = rules.followup_scope(
        last_findings=last_findings,
        findings_last_4_years=common.counts,
        sampled=list(audit.followup_sampled),
    )
    return scope, common, last


def valid_irbs(organization: Organization, *, on: date) -> list[IRB]:
    """IRBs whose latest announced audit by this body is valid on ``on`` (EC-05)."""
    audits = IRBAudit.objects.filter(
        campaign__organization=organization,
        passed=True,
        valid_from__lte=on,
        valid_until__gte=on,
    ).select_related("irb")
    return sorted({a.irb for a in audits}, key=lambda irb: irb.code)


@transaction.atomic
def followup_draw_run(
    *,
    actor: User | None,
    campaign: AuditCampaign,
    count: int,
    mandatory: Sequence[IRB] = (),
    seed: int | None = None,
) -> FollowUpDraw:
    """Draw the follow-up audits by lot among valid IRBs, with a recorded seed so that anyone
    can replay the draw, plus the mandatory ones (EC-06); each gets a follow-up audit."""
    organization = campaign.organization
    require_permission(actor, "irb_audit.manage", organization)
    valid = {irb.code: irb for irb in valid_irbs(organization, on=date(campaign.year, 1, 1))}
    by_code = {**valid, **{irb.code: irb for irb in mandatory}}
    used_seed = secrets.randbits(32) if seed is None else seed
    draw = rules.followup_draw(
        valid, count=count, seed=used_seed, mandatory=[irb.code for irb in mandatory]
    )
    record = FollowUpDraw.objects.create(
        campaign=campaign,
        seed=used_seed,
        count=count,
        candidates=list(draw.candidates),
        mandatory=list(draw.mandatory),
        drawn=list(draw.drawn),
    )
    _audit(actor, AuditEvent.Action.CREATE, organization, record)
    for code in draw.selected:
        if not IRBAudit.objects.filter(
            campaign=campaign, irb=by_code[code], audit_type=IRBAudit.AuditType.FOLLOWUP
        ).exists():
            audit_invite(
                actor=actor,
                campaign=campaign,
                irb=by_code[code],
                audit_type=IRBAudit.AuditType.FOLLOWUP,
            )
    return record


@dataclass(frozen=True)
class Consolidation:
    """An audit's ratings brought together: each auditor's sheet, the consolidated rating per
    item, and its score once every item is rated (EC-03, EC-04; 作業程序 九)."""

    sheets: tuple[AuditorAssignment, ...]
    consolidated: dict[str, str]
    score: rules.AuditScore | None
    problem: str = ""
    non_compliant: tuple[str, ...] = field(default=())


def audit_consolidation(audit: IRBAudit) -> Consolidation:
    """The consolidated ratings of an audit: as announced, or as the submitted sheets stand."""
    sheets = tuple(audit.auditors.select_related("auditor"))
    previously_passed = audit.irb.previously_passed
    if audit.state == IRBAudit.State.ANNOUNCED and audit.consolidated:
        consolidated = dict(audit.consolidated)
        # a pass sets the IRB's previously_passed afterwards; the ratings were valid before it
        previously_passed = False
    else:
        submitted = [a.ratings for a in sheets if a.submitted_at]
        consolidated = rules.consolidate_ratings(submitted) if submitted else {}
    score, problem = None, ""
    if consolidated:
        try:
            score = rules.score_audit(consolidated, previously_passed=previously_passed)
        except ValueError as error:
            problem = str(error)
    non_compliant = tuple(
        sorted(
            (n for n, r in consolidated.items() if r == rules.NON_COMPLIANT), key=rules.number_key
        )
    )
    return Consolidation(sheets, consolidated, score, problem, non_compliant)


def application_prefill(irb: IRB) -> dict[str, str]:
    """The annex 1 application fields the system knows about an IRB (EC-08): its institution,
    kind (EC-01), last audit result and year, chair and staff contact. The rest (address,
    phone, e-mail) is for the IRB to fill in."""
    last = (
        IRBAudit.objects.filter(irb=irb, state=IRBAudit.State.ANNOUNCED)
        .exclude(audit_type=IRBAudit.AuditType.FOLLOWUP)
        .select_related("campaign")
        .order_by("-campaign__year")
        .first()
    )
    if last is not None:
        last_result, last_year = ("passed" if last.passed else "failed"), str(last.campaign.year)
    else:
        last_result, last_year = ("passed" if irb.previously_passed else "new"), ""
    roster = list(irb.members.all())
    chair = next((m.name for m in roster if m.role == "chair"), "")
    staff = next((m.name for m in roster if m.role == "staff"), "")
    return {
        "institution_name": irb.organization.name_zh,
        "irb_name": irb.name,
        "institution_type": "非醫療機構" if irb.kind == IRB.Kind.AGENCY else "醫療機構",
        "category": irb.kind,
        "last_result": last_result,
        "last_audit_year": last_year,
        "chair": chair,
        "contact": staff,
    }
