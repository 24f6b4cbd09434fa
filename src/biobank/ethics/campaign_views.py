"""Pages of the auditing body: campaigns, audits, the follow-up draw, the annex 1 application
form (PDF) and the agendas of annexes 4-6 (EC-01, EC-04 … EC-08, EC-12)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.ethics import rules, selectors, services
from biobank.ethics.letters import form_pdf
from biobank.ethics.models import IRB, AuditCampaign, IRBAudit
from biobank.ethics.review_views import _date, _uuid

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


def _campaign_action(request: HttpRequest, campaign: AuditCampaign) -> None:
    """Invite an IRB (EC-01) or draw the follow-up audits by lot (EC-06)."""
    post, actor = request.POST, acting_user(request)
    if post.get("action") == "invite":
        irb = IRB.objects.filter(public_id=_uuid(post.get("irb"))).first()
        if irb is None:
            raise ApplicationError(_("Unknown IRB."))
        services.audit_invite(
            actor=actor, campaign=campaign, irb=irb, audit_type=post.get("audit_type", "")
        )
        messages.success(request, _("%s invited.") % irb.code)
        return
    seed = post.get("seed")
    mandatory = list(
        IRB.objects.filter(
            audits__campaign__organization=campaign.organization,
            code__in=post.getlist("mandatory"),
        ).distinct()
    )
    draw = services.followup_draw_run(
        actor=actor,
        campaign=campaign,
        count=int(post.get("count", "0")),
        mandatory=mandatory,
        seed=int(seed) if seed else None,
    )
    messages.success(request, _("Drawn with seed %d.") % draw.seed)


@login_required
def campaign_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """A campaign's IRBs with state, result and validity; invitations; the follow-up draws,
    each replayed from its recorded seed (EC-06); "needs improvement" outcomes."""
    campaign = selectors.campaign_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb_audit.manage", campaign.organization)
    if request.method == "POST" and can_manage:
        try:
            _campaign_action(request, campaign)
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Give a number of IRBs to draw."))
        return redirect("ethics:campaign-detail", public_id=campaign.public_id)
    audits = list(
        selectors.audit_list_for_campaign(campaign).annotate(
            auditor_count=Count("auditors", distinct=True),
            rated_count=Count("auditors", filter=Q(auditors__submitted_at__isnull=False)),
        )
    )
    draws = [
        {
            "draw": d,
            "replayed": list(
                rules.followup_draw(
                    d.candidates, count=d.count, seed=d.seed, mandatory=d.mandatory
                ).drawn
            ),
        }
        for d in campaign.draws.all()
    ]
    on_campaign = {a.irb_id for a in audits}
    pending = [
        irb.code
        for irb in services.mandatory_followups_pending(campaign.organization, year=campaign.year)
    ]
    return render(
        request,
        "ethics/campaign_detail.html",
        {
            "campaign": campaign,
            "audits": audits,
            "passing": [a for a in audits if a.passed],
            "improving": [a for a in audits if a.needs_improvement],
            "draws": draws,
            "can_manage": can_manage,
            "audit_types": IRBAudit.AuditType.choices,
            "invitable": IRB.objects.filter(kind__in=rules.IRB_KINDS)
            .exclude(pk__in=on_campaign)
            .order_by("code")
            if can_manage
            else [],
            "audited": sorted({a.irb.code for a in audits} | set(pending)),
            "pending_mandatory": pending,
        },
    )


@login_required
def campaign_passing(request: HttpRequest, public_id: str) -> HttpResponse:
    """The list of passing IRBs of a campaign with their validity (EC-05), and those of this
    body valid today (the candidates of the next follow-up draw, EC-06)."""
    campaign = selectors.campaign_get_for_user(request.user, public_id)
    today = timezone.localdate()
    return render(
        request,
        "ethics/campaign_passing.html",
        {
            "campaign": campaign,
            "passing": selectors.audit_list_for_campaign(campaign).filter(passed=True),
            "failed": selectors.audit_list_for_campaign(campaign).filter(passed=False),
            "valid_today": services.valid_irbs(campaign.organization, on=today),
            "today": today,
        },
    )


def application_form(code: str, application: dict[str, str]) -> HttpResponse:
    """The annex 1 application form as a PDF, filled in from ``application`` (EC-08)."""
    fields = [
        (APPLICATION_LABELS[f], application.get(f, "") or "＿＿＿＿")
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
    response["Content-Disposition"] = f'inline; filename="{code}-application.pdf"'
    return response


@login_required
def application_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The annex 1 application form, filled in from the recorded application (EC-08)."""
    audit = selectors.audit_get_for_user(request.user, public_id)
    return application_form(audit.irb.code, audit.application)


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
