"""Pages of one IRB's audit for the auditing body: application, auditors, each auditor's
ratings and the consolidated rating (EC-03, EC-04), the result and its validity (EC-05),
appeals (re-review without scores, 作業程序 十一), "needs improvement" outcomes of a follow-up
(EC-06) and the individual recommendation report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from biobank.core.errors import ApplicationError
from biobank.core.models import Membership, User
from biobank.core.pages import acting_user, refuse
from biobank.core.roles import role_has
from biobank.core.tenancy import has_permission
from biobank.ethics import rules, selectors, services
from biobank.ethics.campaign_views import APPLICATION_LABELS
from biobank.ethics.models import IRB, AuditAppeal, AuditCriterion, IRBAudit
from biobank.ethics.review_views import _date

RATING_LABELS = {
    rules.EXCELLENT: gettext_lazy("excellent"),
    rules.COMPLIANT: gettext_lazy("compliant"),
    rules.NON_COMPLIANT: gettext_lazy("non-compliant"),
    rules.NA: gettext_lazy("not applicable"),
}


def _auditors_of(audit: IRBAudit) -> list[User]:
    """The body's people who may rate (irb_audit.rate) and are not yet on this audit."""
    memberships = Membership.objects.filter(
        organization=audit.campaign.organization, ended_at__isnull=True
    ).select_related("user")
    taken = set(audit.auditors.values_list("auditor_id", flat=True))
    people = {
        m.user for m in memberships if role_has(m.role, "irb_audit.rate") and m.user_id not in taken
    }
    return sorted(people, key=lambda u: u.get_username())


def _application_inputs(audit: IRBAudit) -> list[dict[str, object]]:
    """The annex 1 fields as form inputs (EC-08), with the choices the form offers."""
    choices: dict[str, list[tuple[str, str]]] = {
        "institution_type": [("醫療機構", "醫療機構"), ("非醫療機構", "非醫療機構")],
        "category": [(str(v), str(label)) for v, label in IRB.Kind.choices],
        "last_result": [
            ("passed", _("passed")),
            ("failed", _("not passed")),
            ("new", pgettext("audit", "never audited")),
        ],
    }
    # only what the body already knows of the IRB: its roster stays with the IRB's organization
    prefill = {
        "institution_name": audit.irb.organization.name_zh,
        "irb_name": audit.irb.name,
        "category": audit.irb.kind,
    }
    return [
        {
            "name": name,
            "label": APPLICATION_LABELS[name],
            "value": audit.application.get(name, prefill.get(name, "")),
            "choices": choices.get(name, []),
        }
        for name in rules.APPLICATION_FIELDS
    ]


def _audit_action(request: HttpRequest, audit: IRBAudit) -> None:
    post, actor = request.POST, acting_user(request)
    action = post.get("action", "")
    if action == "assign":
        auditor = next(
            (u for u in _auditors_of(audit) if u.get_username() == post.get("auditor")), None
        )
        if auditor is None:
            raise ApplicationError(_("Choose an auditor of this body."))
        services.auditor_assign(actor=actor, audit=audit, auditor=auditor)
    elif action == "announce":
        services.audit_announce(
            actor=actor,
            audit=audit,
            announced_on=_date(post, "announced_on"),
            lapsed_over_one_year=bool(post.get("lapsed")),
        )
    elif action == "appeal":
        services.appeal_file(
            actor=actor,
            audit=audit,
            filed_on=_date(post, "filed_on"),
            grounds=post.get("grounds", ""),
        )
    elif action == "decide":
        appeal = AuditAppeal.objects.filter(audit=audit, pk=post.get("appeal") or 0).first()
        if appeal is None or not (post.get("appeal") or "").isdigit():
            raise ApplicationError(_("Unknown appeal."))
        services.appeal_decide(
            actor=actor,
            appeal=appeal,
            upheld=post.get("upheld") == "1",
            outcome=post.get("outcome", ""),
            decided_on=_date(post, "decided_on"),
        )
    elif action == "improvement":
        services.followup_improvement(actor=actor, audit=audit, due=_date(post, "due"))
    elif action == "apply":
        services.audit_apply(
            actor=actor,
            audit=audit,
            applied_on=_date(post, "applied_on"),
            application={
                name: post.get(name, "").strip()
                for name in rules.APPLICATION_FIELDS
                if post.get(name, "").strip()
            },
        )
    elif action == "mandatory":
        services.audit_mandatory_followup_set(
            actor=actor,
            audit=audit,
            mandatory=post.get("mandatory") == "1",
            grounds=post.get("grounds", ""),
        )
    elif action == "sample":
        services.followup_sample_set(
            actor=actor, audit=audit, items=post.get("items", "").replace(",", " ").split()
        )
    elif action == "review":
        services.followup_improvement_review(
            actor=actor,
            audit=audit,
            reviewed_on=_date(post, "reviewed_on"),
            doubts_remain=post.get("doubts") == "1",
            review=post.get("review", ""),
            priority_followup=bool(post.get("priority")),
            shorten_to=_date(post, "shorten_to") if post.get("shorten_to") else None,
        )
    else:
        raise ApplicationError(_("Unknown action."))
    messages.success(request, _("Recorded."))


@login_required
def audit_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    audit = selectors.audit_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb_audit.manage", audit.campaign.organization)
    if request.method == "POST" and can_manage:
        try:
            _audit_action(request, audit)
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates."))
        return redirect("ethics:audit-detail", public_id=audit.public_id)
    fields = [
        (APPLICATION_LABELS[f], audit.application.get(f, "")) for f in rules.APPLICATION_FIELDS
    ]
    result = services.audit_consolidation(audit)
    is_followup = audit.audit_type == IRBAudit.AuditType.FOLLOWUP
    scope = services.followup_scope_for(audit) if is_followup else None
    return render(
        request,
        "ethics/audit_detail.html",
        {
            "audit": audit,
            "fields": fields,
            "inputs": _application_inputs(audit) if can_manage else [],
            "scope": scope[0] if scope else None,
            "common": scope[1] if scope else None,
            "last_audit": scope[2] if scope else None,
            "validity": services.validity_audit(
                audit.irb, audit.campaign.organization, on=timezone.localdate()
            )
            if is_followup
            else None,
            "missing": rules.application_missing(audit.application),
            "result": result,
            "appeals": audit.appeals.all(),
            "can_manage": can_manage,
            "candidates": _auditors_of(audit) if can_manage else [],
            "is_followup": is_followup,
            "today": timezone.localdate(),
        },
    )


@login_required
def audit_ratings(request: HttpRequest, public_id: str) -> HttpResponse:
    """Each auditor's rating of the 57 criteria side by side with the consolidated rating
    (the stricter on a tie) and its score (EC-03, EC-04); an assigned auditor rates here."""
    audit = selectors.audit_get_for_user(request.user, public_id)
    user = acting_user(request)
    mine = audit.auditors.filter(auditor=user).first()
    can_rate = (
        mine is not None
        and audit.state != IRBAudit.State.ANNOUNCED
        and has_permission(user, "irb_audit.rate", audit.campaign.organization)
    )
    if request.method == "POST" and can_rate:
        ratings = {c.number: request.POST.get(f"r-{c.number}", "") for c in rules.load_criteria()}
        try:
            services.auditor_rate(
                actor=user, audit=audit, ratings={k: v for k, v in ratings.items() if v}
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Ratings submitted."))
        return redirect("ethics:audit-ratings", public_id=audit.public_id)
    result = services.audit_consolidation(audit)
    sheets = list(result.sheets)
    by_number = {c.number: c for c in rules.load_criteria()}
    rows = [
        {
            "criterion": c,
            "sheets": [RATING_LABELS.get(s.ratings.get(c.number, ""), "—") for s in sheets],
            "raw": [s.ratings.get(c.number, "") for s in sheets],
            "consolidated": result.consolidated.get(c.number, ""),
            "consolidated_label": RATING_LABELS.get(result.consolidated.get(c.number, ""), "—"),
            "mine": mine.ratings.get(c.number, "") if mine else "",
            "na_allowed": by_number[c.number].allows_na(
                previously_passed=audit.irb.previously_passed
            ),
        }
        for c in AuditCriterion.objects.all()
    ]
    return render(
        request,
        "ethics/audit_ratings.html",
        {
            "audit": audit,
            "sheets": sheets,
            "rows": rows,
            "result": result,
            "can_rate": can_rate,
            "ratings": list(RATING_LABELS.items()),
        },
    )


def report_context(audit: IRBAudit) -> dict[str, object]:
    """What the individual recommendation report shows (作業程序 九): the result, each
    chapter's share, the non-compliant items as recommendations, the items rated excellent,
    the scope of a follow-up (EC-07) and the appeals' outcomes in words (十一)."""
    result = services.audit_consolidation(audit)
    criteria = list(AuditCriterion.objects.all())
    chapters: dict[int, dict[str, int]] = {}
    for c in criteria:
        rating = result.consolidated.get(c.number)
        chapter = chapters.setdefault(c.chapter, {"rated": 0, "passing": 0, "na": 0})
        if rating == rules.NA:
            chapter["na"] += 1
        elif rating:
            chapter["rated"] += 1
            chapter["passing"] += rating in rules.PASSING_RATINGS
    if audit.audit_type == IRBAudit.AuditType.FOLLOWUP:
        scope, common, _last = services.followup_scope_for(audit)
    else:
        # the scope of a follow-up after this audit: its findings, and the common findings
        # of the 4 years up to this campaign's
        year = audit.campaign.year + 1
        common = rules.common_findings_for(
            selectors.past_audits(audit.campaign.organization, year=year), year=year
        )
        scope = rules.followup_scope(
            last_findings=result.non_compliant, findings_last_4_years=common.counts
        )
    return {
        "audit": audit,
        "result": result,
        "chapters": sorted(chapters.items()),
        "findings": [c for c in criteria if c.number in result.non_compliant],
        "excellent": [c for c in criteria if result.consolidated.get(c.number) == rules.EXCELLENT],
        "appeals": audit.appeals.all(),
        "scope": scope,
        "common": common,
    }


@login_required
def audit_report(request: HttpRequest, public_id: str) -> HttpResponse:
    """The individual recommendation report (printable): the result, its validity, each
    chapter's share, the non-compliant items as recommendations, and the appeals' outcomes
    in words (a re-review gives no scores)."""
    audit = selectors.audit_get_for_user(request.user, public_id)
    return render(request, "ethics/audit_report.html", report_context(audit))
