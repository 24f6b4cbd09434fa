"""Pages of inventories and anomalies (BS-11, HP-02, HP-03), and the biosafety dashboard."""

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
from biobank.biosafety.forms import (
    CountForm,
    DayForm,
    FindingsForm,
    InventoryStartForm,
    NoticeForm,
    ReportSentForm,
)
from biobank.biosafety.views.committees import form_error
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.models import Site
from biobank.core.pages import acting_user, refuse
from biobank.core.pdf import table_pdf
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The biosafety dashboard: open clocks, inventory status per site, open anomalies and
    incidents, training compliance per person (BS-09), drills due (BS-12, HP-05) and the
    entrance signs (BS-08)."""
    if not organizations_with_permission(request.user, "biosafety.view").exists():
        raise Http404("no biosafety rights")
    return render(
        request,
        "biosafety/home.html",
        {
            "obligations": selectors.obligations_for_user(request.user)[:100],
            "inventories": selectors.inventory_status_for_user(request.user),
            "anomalies": selectors.anomaly_list_for_user(request.user).exclude(status="closed"),
            "incidents": selectors.incident_list_for_user(request.user).exclude(status="closed"),
            "training": [
                {"worker": worker, "decision": services.worker_compliance(worker)}
                for worker in selectors.worker_list_for_user(request.user)
            ],
            "drills": selectors.drill_obligations_for_user(request.user),
            "sites": selectors.site_list_for_user(request.user).exclude(containment="none"),
            "can_purge": organizations_with_permission(request.user, "biosafety.manage").exists(),
            "now": timezone.now(),
        },
    )


@login_required
def inventory_list(request: HttpRequest) -> HttpResponse:
    inspector = organizations_with_permission(request.user, "biosafety.inspect").first()
    sites = Site.objects.filter(organization=inspector, is_active=True)
    form = InventoryStartForm(request.POST or None, sites=sites)
    if request.method == "POST":
        managed_organization(request, "biosafety.inspect")
        if form.is_valid():
            try:
                inventory = services.inventory_start(
                    actor=acting_user(request), **form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                return redirect("biosafety:inventory-detail", public_id=inventory.public_id)
        else:
            form_error(request, form)
    return render(
        request,
        "biosafety/inventory_list.html",
        {
            "inventories": selectors.inventory_list_for_user(request.user)[:200],
            "form": form if inspector is not None else None,
        },
    )


@login_required
def inventory_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    inventory = selectors.inventory_get_for_user(request.user, public_id)
    return render(
        request,
        "biosafety/inventory_detail.html",
        {
            "inventory": inventory,
            "lines": inventory.lines.select_related("material__agent"),
            "staff": services.staff_entries(inventory),
            "anomalies": inventory.anomalies.select_related("material"),
            "history": audit_history_for_user(request.user, inventory),
            "can_inspect": has_permission(
                request.user, "biosafety.inspect", inventory.organization
            ),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def inventory_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    inventory = selectors.inventory_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any = None
    try:
        if action == "count":
            form = CountForm(request.POST)
            if form.is_valid():
                line = inventory.lines.filter(pk=form.cleaned_data["line"]).first()
                if line is None:
                    raise Http404("line not found")
                services.inventory_record(
                    actor=actor,
                    line=line,
                    found_quantity=form.cleaned_data["found_quantity"],
                    note=form.cleaned_data["note"],
                )
        elif action == "complete":
            found = services.inventory_complete(actor=actor, inventory=inventory)
            if found:
                messages.warning(request, _("%d anomalies recorded.") % len(found))
        elif action == "report":
            form = DayForm(request.POST)
            if form.is_valid():
                services.inventory_report(
                    actor=actor, inventory=inventory, reported_on=form.cleaned_data["on"]
                )
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form is not None and not form.is_valid():
            form_error(request, form)
        else:
            messages.success(request, _("Done."))
    return redirect("biosafety:inventory-detail", public_id=inventory.public_id)


def _staff_status(entry: services.StaffEntry) -> str:
    if entry.compliant:
        return f"✔ ({entry.rule})"
    text = f"✘ {entry.reason}" if entry.reason else "—"
    return f"{text[:90]} ({entry.rule})" if entry.rule else text[:90]


@login_required
def inventory_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The inventory list for the committee and inspections (BS-07, BS-11)."""
    inventory = selectors.inventory_get_for_user(request.user, public_id)
    lines = inventory.lines.select_related("material__agent")
    staff = services.staff_entries(inventory)
    since = inventory.staff_since
    period = f"{since} – {inventory.started_on}" if since else ""
    pdf = table_pdf(
        _("Inventory of class 1 material, %(site)s, %(day)s")
        % {"site": inventory.site.code, "day": inventory.started_on},
        [_("Code"), _("Agent"), _("Risk group"), _("Expected"), _("Found"), _("Note")],
        [
            [
                line.material.code,
                line.material.agent.name,
                line.material.agent.risk_group,
                f"{line.expected_quantity.normalize():f} {line.unit}",
                "" if line.found_quantity is None else f"{line.found_quantity.normalize():f}",
                line.note,
            ]
            for line in lines
        ],
        subtitle=_("Staff list and training hours (BS-11) follow the items."),
        # BS-11: the staff list with their courses and hours in the period
        footer_rows=[
            [
                _("Staff"),
                _("Role"),
                _("Started lab work"),
                _("Courses"),
                _("Hours %(period)s") % {"period": period},
                _("Training"),
            ],
            *[
                [
                    s.name,
                    s.role,
                    s.started_on or "",
                    s.courses,
                    f"{s.hours.normalize():f}",
                    _staff_status(s),
                ]
                for s in staff
            ],
        ],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="inventory-{inventory.started_on}.pdf"'
    return response


@login_required
def anomaly_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    anomaly = selectors.anomaly_get_for_user(request.user, public_id)
    return render(
        request,
        "biosafety/anomaly_detail.html",
        {
            "a": anomaly,
            "obligations": selectors.obligations_of(anomaly),
            "history": audit_history_for_user(request.user, anomaly),
            "can_manage": has_permission(request.user, "biosafety.manage", anomaly.organization),
            "now": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def anomaly_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    anomaly = selectors.anomaly_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any
    try:
        if action == "notified":
            form = NoticeForm(request.POST)
            if form.is_valid():
                services.anomaly_authorities_notified(
                    actor=actor, anomaly=anomaly, **form.cleaned_data
                )
        elif action == "investigated":
            form = FindingsForm(request.POST)
            if form.is_valid():
                services.anomaly_investigation_complete(
                    actor=actor,
                    anomaly=anomaly,
                    completed_on=form.cleaned_data["on"],
                    findings=form.cleaned_data["findings"],
                )
        elif action == "reported":
            form = ReportSentForm(request.POST)
            if form.is_valid():
                services.anomaly_report_sent(
                    actor=actor,
                    anomaly=anomaly,
                    reported_on=form.cleaned_data["on"],
                    reference=form.cleaned_data["reference"],
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
    return redirect("biosafety:anomaly-detail", public_id=anomaly.public_id)
