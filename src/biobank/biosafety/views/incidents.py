"""Pages of incidents (BS-13) and spills in transport (BS-14)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.biosafety import rules, selectors, services
from biobank.biosafety.forms import (
    AssessForm,
    DayForm,
    DayReferenceForm,
    FindingsForm,
    IncidentForm,
    IncidentNoticeForm,
    MeasureForm,
    StepForm,
)
from biobank.biosafety.views.committees import form_error
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.models import Site
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission


def _incident_form(request: HttpRequest) -> IncidentForm:
    organization = organizations_with_permission(request.user, "biosafety.inspect").first()
    return IncidentForm(
        request.POST or None,
        sites=Site.objects.filter(organization=organization, is_active=True),
        materials=selectors.material_list_for_user(request.user).filter(
            organization=organization, status__in=["held", "suspended", "sealed"]
        ),
        initial={"occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
    )


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    can_report = organizations_with_permission(request.user, "biosafety.inspect").exists()
    form = _incident_form(request)
    if request.method == "POST":
        organization = managed_organization(request, "biosafety.inspect")
        if form.is_valid():
            try:
                incident = services.incident_report(
                    actor=acting_user(request), organization=organization, **form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                return redirect("biosafety:incident-detail", public_id=incident.public_id)
        else:
            form_error(request, form)
    return render(
        request,
        "biosafety/incident_list.html",
        {
            "incidents": selectors.incident_list_for_user(request.user)[:200],
            "form": form if can_report else None,
            "levels": sorted(rules.INCIDENT_LEVELS.items()),
        },
    )


@login_required
def incident_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    incident = selectors.incident_get_for_user(request.user, public_id)
    materials = selectors.material_list_for_user(request.user).filter(
        organization=incident.organization, status__in=["held", "suspended", "sealed"]
    )
    return render(
        request,
        "biosafety/incident_detail.html",
        {
            "i": incident,
            "materials": incident.materials.select_related("agent"),
            "steps": incident.steps.select_related("material", "recorded_by"),
            "suspended": services.suspended_materials(incident),
            "obligations": selectors.obligations_of(incident),
            "history": audit_history_for_user(request.user, incident),
            "can_manage": has_permission(request.user, "biosafety.manage", incident.organization),
            "can_report": has_permission(request.user, "biosafety.inspect", incident.organization),
            "level_label": rules.INCIDENT_LEVELS.get(incident.level, ""),
            "measure_form": MeasureForm(materials=materials),
            "now": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def incident_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    incident = selectors.incident_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any
    try:
        if action == "step":
            form = StepForm(request.POST)
            if form.is_valid():
                services.incident_step_add(actor=actor, incident=incident, **form.cleaned_data)
        elif action == "assess":
            form = AssessForm(request.POST)
            if form.is_valid():
                services.incident_assess(actor=actor, incident=incident, **form.cleaned_data)
        elif action == "notice":
            form = IncidentNoticeForm(request.POST)
            if form.is_valid():
                services.incident_notice_sent(actor=actor, incident=incident, **form.cleaned_data)
        elif action == "investigated":
            form = FindingsForm(request.POST)
            if form.is_valid():
                services.incident_investigation_complete(
                    actor=actor,
                    incident=incident,
                    completed_on=form.cleaned_data["on"],
                    findings=form.cleaned_data["findings"],
                )
        elif action == "measure":
            form = MeasureForm(
                request.POST,
                materials=selectors.material_list_for_user(request.user).filter(
                    organization=incident.organization
                ),
            )
            if form.is_valid():
                services.incident_material_measure(
                    actor=actor, incident=incident, **form.cleaned_data
                )
        elif action in ("confirm", "consent"):
            form = DayReferenceForm(request.POST)
            if form.is_valid():
                day, reference = form.cleaned_data["on"], form.cleaned_data["reference"]
                if action == "confirm":
                    services.incident_committee_confirm(
                        actor=actor, incident=incident, confirmed_on=day, reference=reference
                    )
                else:
                    services.incident_authority_consent(
                        actor=actor, incident=incident, consented_on=day, reference=reference
                    )
        elif action in ("resume", "close"):
            form = DayForm(request.POST)
            if form.is_valid():
                if action == "resume":
                    services.incident_resume(
                        actor=actor, incident=incident, resumed_on=form.cleaned_data["on"]
                    )
                else:
                    services.incident_close(
                        actor=actor, incident=incident, closed_on=form.cleaned_data["on"]
                    )
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form.is_valid():
            messages.success(request, _("Done."))
        else:
            form_error(request, form)
    return redirect("biosafety:incident-detail", public_id=incident.public_id)
