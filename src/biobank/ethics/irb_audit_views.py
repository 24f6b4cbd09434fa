"""The audited IRB's view of its own audits by the auditing body (another organization): the
state, the result and validity once announced (EC-04, EC-05), the recommendation report
(作業程序 九), "needs improvement" with its deadline (EC-06, 十三), the follow-up scope to
prepare (EC-07), and appeals (十一), which its IRB administrator files here. The auditors'
individual sheets are never shown here, and nothing of the ratings before the announcement."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission
from biobank.ethics import selectors, services
from biobank.ethics.audit_views import report_context
from biobank.ethics.models import IRBAudit


@login_required
def irb_audits(request: HttpRequest, public_id: str) -> HttpResponse:
    """The IRB's audits, whichever body ran them, newest first."""
    irb = selectors.irb_get_for_user(request.user, public_id)
    audits = list(selectors.irb_audit_list_for_user(request.user, irb))
    return render(request, "ethics/irb_audits.html", {"irb": irb, "audits": audits})


@login_required
def irb_audit(request: HttpRequest, public_id: str, audit_id: str) -> HttpResponse:
    irb = selectors.irb_get_for_user(request.user, public_id)
    audit = selectors.irb_audit_get_for_user(request.user, irb, audit_id)
    can_appeal = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_appeal:
        try:
            services.appeal_request(
                actor=acting_user(request), audit=audit, grounds=request.POST.get("grounds", "")
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Appeal filed."))
        return redirect("ethics:irb-audit", public_id=irb.public_id, audit_id=audit.public_id)
    announced = audit.state == IRBAudit.State.ANNOUNCED
    context: dict[str, object] = {
        "irb": irb,
        "audit": audit,
        "announced": announced,
        "can_appeal": can_appeal
        and announced
        and not audit.appeals.filter(decided_on__isnull=True).exists(),
        "appeals": audit.appeals.all(),
        "is_followup": audit.audit_type == IRBAudit.AuditType.FOLLOWUP,
    }
    if announced:
        # the consolidated result as announced; the auditors' sheets stay with the body
        report = report_context(audit)
        context.update(report)
        findings = report["findings"]
        assert isinstance(findings, list)
        context["improvement_items"] = findings if audit.needs_improvement else []
    elif audit.audit_type == IRBAudit.AuditType.FOLLOWUP:
        # the IRB prepares its short self-assessment of these items (annex 6 note 2)
        scope, common, _last = services.followup_scope_for(audit)
        context.update({"scope": scope, "common": common})
    return render(request, "ethics/irb_audit.html", context)
