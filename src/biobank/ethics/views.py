"""IRB pages: the roster with its composition check, and the audit self-assessment."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission
from biobank.ethics import rules, selectors, services
from biobank.ethics.campaign_views import application_form
from biobank.ethics.models import IRB, AuditCriterion, IRBMember, SelfAssessment

# Where the records behind a criterion's computed evidence are kept.
EVIDENCE_PAGES = {
    "1.1": ("ethics:records", "#sop"),
    "1.4": ("ethics:irb-detail", "#composition"),
    "1.5": ("ethics:records", "#declaration"),
    "1.10": ("ethics:records", "#declaration"),
    "1.11": ("ethics:records", "#training"),
    "1.12": ("ethics:records", "#training"),
    "2.17": ("ethics:protocol-list", "#notices"),
    "3.2": ("ethics:protocol-list", ""),
    "4.9": ("ethics:records", "#complaint"),
    "5.2": ("ethics:protocol-list", "#retention"),
}


def _evidence_link(irb: IRB, number: str) -> str:
    page = EVIDENCE_PAGES.get(number)
    if page is None:
        return ""
    name, anchor = page
    return reverse(name, kwargs={"public_id": irb.public_id}) + anchor


@login_required
def irb_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "ethics/irb_list.html", {"irbs": selectors.irb_list_for_user(request.user)}
    )


@login_required
def irb_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    irb = selectors.irb_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        post = request.POST
        try:
            services.irb_member_add(
                actor=acting_user(request),
                irb=irb,
                name=post.get("name", ""),
                gender=post.get("gender", ""),
                external=bool(post.get("external")),
                role=post.get("role", "member"),
                scientist=not post.get("non_scientist"),
                legal_expert=bool(post.get("legal_expert")),
                term_start=date.fromisoformat(post["term_start"])
                if post.get("term_start")
                else None,
            )
        except (ApplicationError, ValueError) as error:
            refuse(request, error) if isinstance(error, ApplicationError) else messages.error(
                request, _("Check the dates.")
            )
        else:
            messages.success(request, _("Member added."))
            return redirect("ethics:irb-detail", public_id=irb.public_id)
    return render(
        request,
        "ethics/irb_detail.html",
        {
            "irb": irb,
            "members": irb.members.all(),
            "check": services.composition(irb),
            "can_manage": can_manage,
            "roles": IRBMember.Role.choices,
            "genders": IRBMember.Gender.choices,
            "this_year": timezone.localdate().year,
        },
    )


@login_required
def self_assessment(request: HttpRequest, public_id: str, year: int) -> HttpResponse:
    """The 57 criteria with their ratings and the live score (EC-02 … EC-04); criterion 1.4 is
    suggested from the roster's composition check (HR-02)."""
    irb = selectors.irb_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        try:
            services.self_assessment_rate(
                actor=acting_user(request),
                irb=irb,
                year=year,
                number=request.POST.get("number", ""),
                rating=request.POST.get("rating", ""),
                evidence=request.POST.get("evidence", ""),
            )
        except ApplicationError as error:
            refuse(request, error)
        return redirect(f"{request.path}#c{request.POST.get('number', '').replace('.', '-')}")
    assessment = SelfAssessment.objects.filter(irb=irb, year=year).first()
    ratings = assessment.ratings if assessment else {}
    evidence = assessment.evidence if assessment else {}
    check = services.composition(irb)
    computed = services.evidence(irb)
    criteria = list(AuditCriterion.objects.all())
    by_number = {c.number: c for c in rules.load_criteria()}
    rows = [
        {
            "criterion": c,
            "rating": ratings.get(c.number, ""),
            "evidence": evidence.get(c.number, ""),
            "computed": computed.get(c.number, ""),
            "link": _evidence_link(irb, c.number),
            "na_allowed": by_number[c.number].allows_na(previously_passed=irb.previously_passed),
            "suggested": ("compliant" if check else "non_compliant") if c.number == "1.4" else "",
        }
        for c in criteria
    ]
    return render(
        request,
        "ethics/self_assessment.html",
        {
            "irb": irb,
            "year": year,
            "rows": rows,
            "live": services.live_score(irb, assessment),
            "check": check,
            "can_manage": can_manage,
            "ratings": [
                ("excellent", _("excellent")),
                ("compliant", _("compliant")),
                ("non_compliant", _("non-compliant")),
                ("na", _("not applicable")),
            ],
            "this_year": timezone.localdate().year,
        },
    )


@login_required
def irb_application_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The IRB's annex 1 application form, pre-filled from its records (EC-08): institution,
    kind, last result, chair and contact; the rest is filled in by hand."""
    irb = selectors.irb_get_for_user(request.user, public_id)
    return application_form(irb.code, services.application_prefill(irb))
