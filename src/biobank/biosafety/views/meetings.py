"""The committee's meetings with their minutes and decisions, on the committee's page (BS-06),
and the download of the signed minutes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import CommitteeDecisionForm, MeetingForm, MinutesForm
from biobank.biosafety.models import (
    Approval,
    Committee,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
)
from biobank.biosafety.views.common import form_error
from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import has_permission

MEETING_ACTIONS = ("meeting", "minutes", "decision")
LIVE = ("held", "suspended", "sealed")


def _decision_form(committee: Committee, data: Any = None) -> CommitteeDecisionForm:
    """What a decision of this committee may decide: its regime's approvals waiting for it,
    material held, incidents not yet confirmed, draft plans."""
    organization, regime = committee.organization, committee.regime
    return CommitteeDecisionForm(
        data,
        prefix="decision",
        meetings=committee.meetings.all(),
        approvals=Approval.objects.filter(
            organization=organization,
            material__regime=regime,
            status=Approval.Status.PENDING_COMMITTEE,
        ).select_related("material", "site"),
        materials=InfectiousMaterial.objects.filter(
            organization=organization, regime=regime, status__in=LIVE
        ),
        incidents=Incident.objects.filter(
            organization=organization, regime=regime, committee_confirmed_on__isnull=True
        ).exclude(status=Incident.Status.CLOSED),
        plans=EmergencyPlan.objects.filter(
            organization=organization, regime=regime, status=EmergencyPlan.Status.DRAFT
        ),
    )


def meeting_context(request: HttpRequest, committee: Committee) -> dict[str, Any]:
    """The meetings shown on the committee's page, and the forms for those who manage."""
    context: dict[str, Any] = {
        "meetings": selectors.meeting_list_for_user(request.user).filter(committee=committee)
    }
    if has_permission(request.user, "biosafety.manage", committee.organization):
        context["meeting_form"] = MeetingForm(
            prefix="meeting",
            members=committee.members.all(),
            initial={"held_on": timezone.localdate()},
        )
        context["minutes_form"] = MinutesForm(prefix="minutes", meetings=committee.meetings.all())
        context["decision_form"] = _decision_form(committee)
    return context


def meeting_action(request: HttpRequest, committee: Committee, action: str) -> HttpResponseBase:
    """Record a meeting, its minutes or one of its decisions (POST to the committee's actions)."""
    actor = acting_user(request)
    form: Any
    try:
        if action == "meeting":
            form = MeetingForm(
                request.POST, request.FILES, prefix="meeting", members=committee.members.all()
            )
            if form.is_valid():
                services.meeting_record(actor=actor, committee=committee, **form.cleaned_data)
        elif action == "minutes":
            form = MinutesForm(
                request.POST, request.FILES, prefix="minutes", meetings=committee.meetings.all()
            )
            if form.is_valid():
                services.meeting_minutes_record(actor=actor, **form.cleaned_data)
        else:
            form = _decision_form(committee, request.POST)
            if form.is_valid():
                services.decision_record(actor=actor, **form.cleaned_data)
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form.is_valid():
            messages.success(request, _("Done."))
        else:
            form_error(request, form)
    return redirect("biosafety:committee-detail", public_id=committee.public_id)


@login_required
def meeting_document(request: HttpRequest, public_id: str) -> FileResponse:
    """The signed minutes; each download is a ``view`` audit event."""
    meeting = selectors.meeting_get_for_user(request.user, public_id)
    if not meeting.minutes_document:
        raise Http404("no document")
    audit_record(
        actor=acting_user(request),
        action=AuditEvent.Action.VIEW,
        organization=meeting.organization,
        instance=meeting,
        object_repr=f"minutes of {meeting}"[:200],
    )
    return FileResponse(meeting.minutes_document.open("rb"), as_attachment=True)
