"""Pages of the IRB's own records: SOP register (EC-11), declarations, training, complaints."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission
from biobank.ethics import selectors, services
from biobank.ethics.models import (
    Complaint,
    IRBMember,
    MemberDeclaration,
    Protocol,
    TrainingRecord,
)
from biobank.ethics.review_views import _date


def _optional_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@login_required
def records(request: HttpRequest, public_id: str) -> HttpResponse:
    """The SOP register, declarations, training and complaints of one IRB."""
    irb = selectors.irb_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", irb.organization)
    if request.method == "POST" and can_manage:
        post, actor = request.POST, acting_user(request)
        action = post.get("action", "")
        try:
            member = None
            if action in {"declaration", "training"}:
                member = IRBMember.objects.filter(irb=irb, pk=post.get("member") or 0).first()
                if member is None or not (post.get("member") or "").isdigit():
                    raise ApplicationError(_("Unknown member."))
            protocol = None
            if post.get("protocol"):
                protocol = Protocol.objects.filter(irb=irb, code=post["protocol"]).first()
                if protocol is None:
                    raise ApplicationError(_("Unknown protocol."))
            if action == "sop":
                services.sop_record(
                    actor=actor,
                    irb=irb,
                    topic=int(post.get("topic", "0")),
                    document=post.get("document", ""),
                    version=post.get("version", ""),
                    approved_on=_date(post, "approved_on"),
                    reviewed_on=_optional_date(post.get("reviewed_on")),
                )
            elif action == "declaration" and member is not None:
                services.declaration_record(
                    actor=actor,
                    member=member,
                    kind=post.get("kind", ""),
                    signed_on=_date(post, "signed_on"),
                    protocol=protocol,
                    conflicted=bool(post.get("conflicted")),
                    details=post.get("details", ""),
                )
            elif action == "training" and member is not None:
                services.training_record(
                    actor=actor,
                    member=member,
                    course=post.get("course", ""),
                    taken_on=_date(post, "taken_on"),
                    hours=Decimal(post.get("hours", "")),
                    induction=bool(post.get("induction")),
                )
            elif action == "complaint":
                services.complaint_receive(
                    actor=actor,
                    irb=irb,
                    received_on=_date(post, "received_on"),
                    complainant=post.get("complainant", ""),
                    summary=post.get("summary", ""),
                    protocol=protocol,
                )
            else:
                raise ApplicationError(_("Unknown action."))
        except ApplicationError as error:
            refuse(request, error)
        except (ValueError, InvalidOperation):
            messages.error(request, _("Check the dates and numbers."))
        else:
            messages.success(request, _("Recorded."))
        return redirect(f"{request.path}#{action}")
    return render(
        request,
        "ethics/records.html",
        {
            "irb": irb,
            "can_manage": can_manage,
            "register": services.sop_register(irb),
            "members": irb.members.all(),
            "declarations": MemberDeclaration.objects.filter(member__irb=irb).select_related(
                "member", "protocol"
            ),
            "declaration_kinds": MemberDeclaration.Kind.choices,
            "training": services.training_overview(irb),
            "courses": TrainingRecord.objects.filter(member__irb=irb).select_related("member")[:50],
            "complaints": Complaint.objects.filter(irb=irb).select_related("protocol"),
            "today": timezone.localdate(),
        },
    )


@login_required
def complaint_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    complaint = selectors.complaint_get_for_user(request.user, public_id)
    can_manage = has_permission(request.user, "irb.manage", complaint.irb.organization)
    if request.method == "POST" and can_manage:
        post, actor = request.POST, acting_user(request)
        try:
            if post.get("action") == "close":
                services.complaint_close(
                    actor=actor,
                    complaint=complaint,
                    outcome=post.get("outcome", ""),
                    closed_on=_date(post, "closed_on"),
                )
            else:
                services.complaint_investigate(
                    actor=actor, complaint=complaint, investigation=post.get("investigation", "")
                )
        except ApplicationError as error:
            refuse(request, error)
        except ValueError:
            messages.error(request, _("Check the dates."))
        else:
            messages.success(request, _("Recorded."))
        return redirect("ethics:complaint-detail", public_id=complaint.public_id)
    return render(
        request,
        "ethics/complaint_detail.html",
        {"complaint": complaint, "can_manage": can_manage, "today": timezone.localdate()},
    )
