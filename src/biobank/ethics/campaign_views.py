"""Pages of the auditing body: campaigns, audits, the follow-up draw, the annex 1 application
form (PDF) and the agendas of annexes 4-6 (EC-01, EC-04 … EC-08, EC-12)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.ethics import rules, selectors, services
from biobank.ethics.letters import form_pdf
from biobank.ethics.models import IRBAudit
from biobank.ethics.review_views import _date

APPLICATION_LABELS = {
    "institution_name": "申請審查會所屬機構名稱（全銜）",
    "irb_name": "申請審查會名稱（全銜）",
    "institution_type": "一、審查會所屬機構類型",
    "category": "二、申請類別",
    "last_result": "三、最近一次查核結果",
    "last_audit_year": "查核年度",
    "chair": "主任委員",
    "contact": "聯絡人（職稱）",
    "address": "地址",
    "phone": "電話",
    "fax": "傳真",
    "email": "電子郵件帳號",
}


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    bodies = organizations_with_permission(request.user, "irb_audit.manage")
    if request.method == "POST" and bodies.exists():
        post = request.POST
        organization = bodies.filter(code=post.get("organization", "")).first() or bodies.first()
        try:
            assert organization is not None
            campaign = services.campaign_create(
                actor=acting_user(request),
                organization=organization,
                year=int(post.get("year", "0")),
                window_opens=_date(post, "window_opens"),
                window_closes=_date(post, "window_closes"),
            )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates and the year."))
        else:
            return redirect("ethics:campaign-detail", public_id=campaign.public_id)
    return render(
        request,
        "ethics/campaign_list.html",
        {"campaigns": selectors.campaign_list_for_user(request.user), "bodies": bodies},
    )


@login_required
def campaign_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    campaign = selectors.campaign_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb_audit.manage", campaign.organization)
    if request.method == "POST" and can_manage:
        try:
            seed = request.POST.get("seed")
            draw = services.followup_draw_run(
                actor=acting_user(request),
                campaign=campaign,
                count=int(request.POST.get("count", "0")),
                seed=int(seed) if seed else None,
            )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Give a number of IRBs to draw."))
        else:
            messages.success(request, _("Drawn with seed %d.") % draw.seed)
        return redirect("ethics:campaign-detail", public_id=campaign.public_id)
    audits = campaign.audits.select_related("irb", "irb__organization")
    return render(
        request,
        "ethics/campaign_detail.html",
        {
            "campaign": campaign,
            "audits": audits,
            "passing": [a for a in audits if a.passed],
            "draws": campaign.draws.all(),
            "can_manage": can_manage,
        },
    )


@login_required
def audit_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    audit = selectors.audit_get_for_user(request.user, public_id)
    fields = [
        (APPLICATION_LABELS[f], audit.application.get(f, "")) for f in rules.APPLICATION_FIELDS
    ]
    return render(
        request,
        "ethics/audit_detail.html",
        {
            "audit": audit,
            "fields": fields,
            "missing": rules.application_missing(audit.application),
            "auditors": audit.auditors.select_related("auditor"),
            "appeals": audit.appeals.all(),
            "non_compliant": sorted(
                (n for n, r in audit.consolidated.items() if r == "non_compliant"),
                key=rules.number_key,
            ),
        },
    )


@login_required
def application_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The annex 1 application form, filled in from the recorded application (EC-08)."""
    audit = selectors.audit_get_for_user(request.user, public_id)
    fields = [
        (APPLICATION_LABELS[f], audit.application.get(f, "") or "＿＿＿＿")
        for f in rules.APPLICATION_FIELDS
    ]
    pdf = form_pdf(
        "人體研究倫理審查委員會暨受試者保護查核申請書",
        fields,
        paragraphs=[
            "本審查會同意申請參加本年度貴部辦理之人體研究倫理審查委員會暨受試者保護查核，"
            "瞭解查核申請注意事項並願意主動提供查核所需資料及配合各項查核作業，請 鑒核。",
            "此致 衛生福利部",
            "（請蓋審查會關防或機構關防）　主任委員：＿＿＿＿（請本人親簽或蓋私章）",
        ],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{audit.irb.code}-application.pdf"'
    return response


@login_required
def agenda(request: HttpRequest) -> HttpResponse:
    """The printable schedule of annexes 4-6 for an audit type and number of IRBs (EC-12)."""
    audit_type = request.GET.get("type", rules.PERIODIC)
    if audit_type not in rules.AUDIT_TYPES:
        audit_type = rules.PERIODIC
    try:
        count = max(1, int(request.GET.get("irbs", "1")))
    except ValueError:
        count = 1
    steps, total = rules.agenda(audit_type, count)
    return render(
        request,
        "ethics/agenda.html",
        {
            "steps": steps,
            "total": total,
            "audit_type": audit_type,
            "count": count,
            "types": IRBAudit.AuditType.choices,
        },
    )
