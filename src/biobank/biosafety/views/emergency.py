"""Pages of the emergency plan (BS-12) and its drills (BS-12, HP-05)."""

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
from biobank.biosafety.forms import PART_LABELS, DayReferenceForm, DrillForm, PartsForm, PlanForm
from biobank.biosafety.views.committees import form_error
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.models import Site
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    can_manage = organizations_with_permission(request.user, "biosafety.manage").exists()
    form = PlanForm(request.POST or None)
    if request.method == "POST":
        organization = managed_organization(request)
        if form.is_valid():
            data, parts = form.split()
            try:
                plan = services.plan_create(
                    actor=acting_user(request), organization=organization, parts=parts, **data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                return redirect("biosafety:plan-detail", public_id=plan.public_id)
        else:
            form_error(request, form)
    return render(
        request,
        "biosafety/plan_list.html",
        {
            "plans": selectors.plan_list_for_user(request.user),
            "drills": selectors.drill_list_for_user(request.user)[:100],
            "due": selectors.drill_obligations_for_user(request.user),
            "form": form if can_manage else None,
        },
    )


@login_required
def plan_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    plan = selectors.plan_get_for_user(request.user, public_id)
    sites = Site.objects.filter(organization=plan.organization, is_active=True)
    return render(
        request,
        "biosafety/plan_detail.html",
        {
            "p": plan,
            "parts": [(label, plan.parts.get(key, "")) for key, label in PART_LABELS.items()],
            "complete": rules.emergency_plan_complete(plan.parts),
            "drills": plan.drills.select_related("site"),
            "history": audit_history_for_user(request.user, plan),
            "can_manage": has_permission(request.user, "biosafety.manage", plan.organization),
            "parts_form": PartsForm(initial=plan.parts),
            "drill_form": DrillForm(sites=sites, initial={"held_on": timezone.localdate()}),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def plan_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    plan = selectors.plan_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any
    try:
        if action == "parts":
            form = PartsForm(request.POST)
            if form.is_valid():
                services.plan_update(actor=actor, plan=plan, parts=form.cleaned_data)
        elif action == "approve":
            form = DayReferenceForm(request.POST)
            if form.is_valid():
                services.plan_approve(
                    actor=actor,
                    plan=plan,
                    approved_on=form.cleaned_data["on"],
                    committee_reference=form.cleaned_data["reference"],
                )
        elif action == "drill":
            form = DrillForm(
                request.POST, sites=Site.objects.filter(organization=plan.organization)
            )
            if form.is_valid():
                services.drill_record(actor=actor, plan=plan, **form.cleaned_data)
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form.is_valid():
            messages.success(request, _("Done."))
        else:
            form_error(request, form)
    return redirect("biosafety:plan-detail", public_id=plan.public_id)
