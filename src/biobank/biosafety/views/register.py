"""Pages of the register: the agent catalogue and infectious materials."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import AgentForm, ApprovalRequestForm, DecisionForm, MaterialForm
from biobank.core.errors import ApplicationError
from biobank.core.models import Organization, Site
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.storage.models import StorageUnit


def managed_organization(
    request: HttpRequest, permission: str = "biosafety.manage"
) -> Organization:
    organization = organizations_with_permission(request.user, permission).first()
    if organization is None:
        raise Http404("no organization where the user may do this")
    return organization


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "biosafety/agent_list.html",
        {
            "agents": selectors.agent_list_for_user(request.user),
            "can_manage": organizations_with_permission(request.user, "biosafety.manage").exists(),
        },
    )


@login_required
def agent_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    agent = selectors.agent_get_for_user(request.user, public_id)
    return render(
        request,
        "biosafety/agent_detail.html",
        {
            "agent": agent,
            "levels": services.agent_levels(agent),
            "materials": selectors.material_list_for_user(request.user).filter(agent=agent),
        },
    )


@login_required
def agent_create(request: HttpRequest) -> HttpResponse:
    organization = managed_organization(request)
    form = AgentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agent = services.agent_create(
                actor=acting_user(request), organization=organization, **form.cleaned_data
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Agent %s added.") % agent.name)
            return redirect("biosafety:agent-detail", public_id=agent.public_id)
    return render(
        request,
        "biosafety/form.html",
        {"form": form, "title": _("Add an agent"), "organization": organization},
    )


@login_required
def material_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "biosafety/material_list.html",
        {
            "materials": selectors.material_list_for_user(request.user)[:500],
            "can_manage": organizations_with_permission(request.user, "biosafety.manage").exists(),
        },
    )


@login_required
def material_create(request: HttpRequest) -> HttpResponse:
    organization = managed_organization(request)
    form = MaterialForm(
        request.POST or None,
        agents=services.agents_visible_to(organization).filter(is_active=True),
        sites=Site.objects.filter(organization=organization, is_active=True),
        units=StorageUnit.objects.filter(organization=organization).order_by("path"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            material = services.material_register(
                actor=acting_user(request), organization=organization, **form.cleaned_data
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Material %s recorded.") % material.code)
            return redirect("biosafety:material-detail", public_id=material.public_id)
    return render(
        request,
        "biosafety/form.html",
        {"form": form, "title": _("Record infectious material"), "organization": organization},
    )


@login_required
def material_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    material = selectors.material_get_for_user(request.user, public_id)
    level, sufficient = services.material_level_check(material)
    return render(
        request,
        "biosafety/material_detail.html",
        {
            "m": material,
            "level": level,
            "sufficient": sufficient,
            "history": audit_history_for_user(request.user, material),
            "can_manage": has_permission(request.user, "biosafety.manage", material.organization),
            "approvals": selectors.approval_list_for_user(request.user).filter(material=material),
            "approval_form": ApprovalRequestForm(
                sites=Site.objects.filter(organization=material.organization),
                initial={"site": material.site_id, "propagating": True},
            ),
            "decision_form": DecisionForm(initial={"decided_on": timezone.localdate()}),
        },
    )
