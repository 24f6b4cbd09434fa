"""Pages of the committee (BS-06) and of approvals (BS-10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import (
    ApprovalRequestForm,
    CommitteeForm,
    DecisionForm,
    MemberForm,
    ReportForm,
)
from biobank.biosafety.models import Approval
from biobank.biosafety.views.common import form_error
from biobank.biosafety.views.meetings import MEETING_ACTIONS, meeting_action, meeting_context
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.models import Site
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission


@login_required
def committee_list(request: HttpRequest) -> HttpResponse:
    can_manage = organizations_with_permission(request.user, "biosafety.manage").exists()
    form = CommitteeForm(request.POST or None, initial={"formed_on": timezone.localdate()})
    if request.method == "POST":
        organization = managed_organization(request)
        if form.is_valid():
            try:
                committee = services.committee_form(
                    actor=acting_user(request), organization=organization, **form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("%s formed.") % committee.name)
                return redirect("biosafety:committee-detail", public_id=committee.public_id)
        else:
            form_error(request, form)
    return render(
        request,
        "biosafety/committee_list.html",
        {
            "committees": selectors.committee_list_for_user(request.user),
            "form": form if can_manage else None,
        },
    )


@login_required
def committee_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    committee = selectors.committee_get_for_user(request.user, public_id)
    return render(
        request,
        "biosafety/committee_detail.html",
        {
            "c": committee,
            "members": committee.members.select_related("user"),
            "obligations": selectors.obligations_of(committee),
            "history": audit_history_for_user(request.user, committee),
            "can_manage": has_permission(request.user, "biosafety.manage", committee.organization),
            "member_form": MemberForm(prefix="member", initial={"joined_on": timezone.localdate()}),
            "report_form": ReportForm(
                prefix="report", initial={"reported_on": timezone.localdate()}
            ),
            **meeting_context(request, committee),
        },
    )


@login_required
@require_POST
def committee_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    committee = selectors.committee_get_for_user(request.user, public_id)
    if action in MEETING_ACTIONS:
        return meeting_action(request, committee, action)
    actor = acting_user(request)
    form: Any
    try:
        if action == "member":
            form = MemberForm(request.POST, prefix="member")
            if form.is_valid():
                services.committee_member_add(actor=actor, committee=committee, **form.cleaned_data)
        elif action == "report":
            form = ReportForm(request.POST, prefix="report")
            if form.is_valid():
                services.committee_report(actor=actor, committee=committee, **form.cleaned_data)
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form.is_valid():
            messages.success(request, _("Done."))
        else:
            form_error(request, form)
    return redirect("biosafety:committee-detail", public_id=committee.public_id)


@login_required
@require_POST
def material_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    material = selectors.material_get_for_user(request.user, public_id)
    if action != "approval":
        raise Http404("unknown action")
    form = ApprovalRequestForm(
        request.POST, sites=Site.objects.filter(organization=material.organization)
    )
    if form.is_valid():
        try:
            services.approval_request(
                actor=acting_user(request), material=material, **form.service_arguments()
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Approval requested."))
    else:
        form_error(request, form)
    return redirect("biosafety:material-detail", public_id=material.public_id)


@login_required
@require_POST
def approval_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    approval = selectors.approval_get_for_user(request.user, public_id)
    deciders: dict[str, Callable[..., Approval]] = {
        "committee": services.approval_committee_decide,
        "central": services.approval_central_decide,
    }
    if action not in deciders:
        raise Http404("unknown action")
    form = DecisionForm(request.POST, prefix=action)
    if form.is_valid():
        try:
            deciders[action](actor=acting_user(request), approval=approval, **form.cleaned_data)
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Decision recorded."))
    else:
        form_error(request, form)
    return redirect("biosafety:material-detail", public_id=approval.material.public_id)
