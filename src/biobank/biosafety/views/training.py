"""Pages of training records, operating tests and site assignments (BS-09, HP-05)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import AssignForm, DayForm, TrainingRecordForm, WorkerForm
from biobank.biosafety.views.committees import form_error
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.models import Organization, Site, User
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission


def _members(organization: Organization | None) -> Any:
    return User.objects.filter(
        memberships__organization=organization, memberships__ended_at__isnull=True
    ).distinct()


@login_required
def training_list(request: HttpRequest) -> HttpResponse:
    organization = organizations_with_permission(request.user, "biosafety.manage").first()
    form = WorkerForm(
        request.POST or None,
        users=_members(organization),
        initial={"started_on": timezone.localdate()},
    )
    if request.method == "POST":
        organization = managed_organization(request)
        if form.is_valid():
            try:
                worker = services.worker_register(
                    actor=acting_user(request), organization=organization, **form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                return redirect("biosafety:worker-detail", public_id=worker.public_id)
        else:
            form_error(request, form)
    rows = [
        {"worker": w, "decision": services.worker_compliance(w)}
        for w in selectors.worker_list_for_user(request.user)
    ]
    return render(
        request,
        "biosafety/training_list.html",
        {"rows": rows, "form": form if organization is not None else None},
    )


@login_required
def worker_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    worker = selectors.worker_get_for_user(request.user, public_id)
    sites = Site.objects.filter(organization=worker.organization, is_active=True)
    checks = [(site, services.assignment_check(worker, site)) for site in sites]
    return render(
        request,
        "biosafety/worker_detail.html",
        {
            "w": worker,
            "records": worker.records.all(),
            "assignments": worker.assignments.select_related("site"),
            "checks": checks,
            "obligations": selectors.obligations_of(worker),
            "history": audit_history_for_user(request.user, worker),
            "can_manage": has_permission(request.user, "biosafety.manage", worker.organization),
            "record_form": TrainingRecordForm(initial={"on": timezone.localdate()}),
            "assign_form": AssignForm(sites=sites, initial={"assigned_on": timezone.localdate()}),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def worker_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    worker = selectors.worker_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any
    try:
        if action == "record":
            form = TrainingRecordForm(request.POST)
            if form.is_valid():
                services.training_record_add(actor=actor, worker=worker, **form.cleaned_data)
        elif action == "assign":
            form = AssignForm(
                request.POST, sites=Site.objects.filter(organization=worker.organization)
            )
            if form.is_valid():
                services.assignment_create(actor=actor, worker=worker, **form.cleaned_data)
        elif action == "end":
            form = DayForm(request.POST)
            assignment = worker.assignments.filter(pk=request.POST.get("assignment") or 0).first()
            if assignment is None:
                raise Http404("assignment not found")
            if form.is_valid():
                services.assignment_end(
                    actor=actor, assignment=assignment, ended_on=form.cleaned_data["on"]
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
    return redirect("biosafety:worker-detail", public_id=worker.public_id)
