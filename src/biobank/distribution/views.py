"""Pages for distribution: requests, review, pick lists, shipments, receipts, the ledger."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core.errors import ApplicationError
from biobank.core.exports import csv_response, xlsx_response
from biobank.core.pages import acting_user, refuse
from biobank.core.pdf import table_pdf
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import (
    has_permission,
    has_permission_anywhere,
    organizations_with_permission,
)
from biobank.distribution import rules, selectors, services
from biobank.distribution.forms import (
    AgreementForm,
    ApprovalForm,
    ExportEntryAddForm,
    ExportEntryRemoveForm,
    ItemForm,
    ReasonForm,
    ReceiptForm,
    RequestForm,
    ReserveForm,
    ShipmentForm,
    SpillForm,
)
from biobank.distribution.models import DistributionRequest, RequestItem, Shipment
from biobank.specimens.selectors import collection_list_for_user
from biobank.storage.models import StorageUnit

# Once a request is over, its candidates are no longer worth listing.
CLOSED_STATES = {"rejected", "closed", "cancelled"}


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "distribution/request_list.html",
        {
            "requests": selectors.request_list_for_user(request.user)[:200],
            "can_request": organizations_with_permission(
                request.user, "distribution.request"
            ).exists(),
            "can_view": has_permission_anywhere(request.user, "distribution.view"),
        },
    )


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    organizations = organizations_with_permission(request.user, "distribution.request")
    organization = organizations.first()
    if organization is None:
        raise Http404("no organization the user may request from")
    collections = collection_list_for_user(request.user).filter(organization=organization)
    form = RequestForm(request.POST or None, request.FILES or None, collections=collections)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.request_create(
                actor=acting_user(request), organization=organization, **form.service_arguments()
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Request %s saved as a draft.") % made.code)
            return redirect("distribution:request-detail", public_id=made.public_id)
    return render(
        request,
        "distribution/form.html",
        {"form": form, "title": _("Request material or data"), "organization": organization},
    )


def _eligibility_rows(summary: rules.Summary) -> list[dict[str, Any]]:
    return [
        {"label": rules.reason_label(key), "rule": rule, "count": count, "reasons": reasons}
        for key, rule, count, reasons in summary.by_reason
    ]


@login_required
def request_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    distribution = selectors.request_get_for_user(request.user, public_id)
    organization = distribution.organization
    can_review = has_permission(request.user, "distribution.review", organization)
    can_fulfil = has_permission(request.user, "distribution.fulfil", organization)
    is_requester = distribution.requester_id == request.user.pk
    staff = has_permission(request.user, "distribution.view", organization)
    summary = services.eligibility_summary(distribution) if staff else None
    candidates = (
        services.candidate_page(distribution, number=request.GET.get("page"))
        if staff and distribution.status not in CLOSED_STATES
        else None
    )
    return render(
        request,
        "distribution/request_detail.html",
        {
            "r": distribution,
            "summary": summary,
            "reasons": _eligibility_rows(summary) if summary else [],
            "candidates": candidates,
            "approvals": distribution.approvals.select_related("recorded_by"),
            "agreement": getattr(distribution, "agreement", None),
            "readiness": services.approvals_decision(distribution),
            "export": services.export_status(distribution),
            "items": selectors.items_of(distribution),
            "pick_list": selectors.pick_list(distribution) if staff else [],
            "shipments": [
                {
                    "shipment": shipment,
                    "receipt": getattr(shipment, "receipt", None),
                    "receipt_form": ReceiptForm(
                        prefix="receipt", barcodes=selectors.shipment_barcodes(shipment)
                    ),
                }
                for shipment in selectors.shipments_of(distribution)
            ],
            "releases": distribution.releases.all(),
            "notices": selectors.withdrawal_notices(distribution) if staff else [],
            "history": audit_history_for_user(request.user, distribution) if staff else [],
            "can_review": can_review,
            "can_fulfil": can_fulfil,
            "is_requester": is_requester,
            "approval_form": ApprovalForm(
                prefix="approval", initial={"decided_on": timezone.localdate()}
            ),
            "agreement_form": AgreementForm(prefix="mta"),
            "reserve_form": ReserveForm(prefix="reserve"),
            "shipment_form": ShipmentForm(prefix="ship"),
            "register_risk": (
                services.shipment_risk_group_preview(distribution)
                if can_fulfil and distribution.status == DistributionRequest.Status.FULFILLING
                else None
            ),
            "spill_form": SpillForm(prefix="spill", initial={"notified_at": timezone.localtime()}),
            "reason_form": ReasonForm(prefix="reason"),
        },
    )


def _form_error(request: HttpRequest, form: Any) -> None:
    messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))


def _item(distribution: DistributionRequest, item_id: int) -> RequestItem:
    item = distribution.items.filter(pk=item_id).select_related("request").first()
    if item is None:
        raise Http404("item not found")
    return item


def _shipment(distribution: DistributionRequest, request: HttpRequest) -> Shipment:
    shipment = distribution.shipments.filter(public_id=request.POST.get("shipment", "")).first()
    if shipment is None:
        shipment = distribution.shipments.order_by("-shipped_at").first()
    if shipment is None:
        raise ApplicationError(_("Nothing has been shipped yet."))
    return shipment


@login_required
@require_POST
def request_action(request: HttpRequest, public_id: str, action: str) -> HttpResponseBase:
    """The actions on a request's page."""
    distribution = selectors.request_get_for_user(request.user, public_id)
    actor = acting_user(request)
    form: Any = None
    done = _("Done.")
    try:
        if action == "submit":
            services.request_submit(actor=actor, request=distribution)
        elif action == "review":
            services.request_review_start(actor=actor, request=distribution)
        elif action == "approval":
            form = ApprovalForm(request.POST, request.FILES, prefix="approval")
            if form.is_valid():
                data = form.cleaned_data
                services.approval_record(
                    actor=actor, request=distribution, **{**data, "document": data["document"]}
                )
        elif action == "agreement":
            form = AgreementForm(request.POST, request.FILES, prefix="mta")
            if form.is_valid():
                services.agreement_record(actor=actor, request=distribution, **form.cleaned_data)
        elif action == "approve":
            services.request_approve(actor=actor, request=distribution)
        elif action in {"reject", "cancel"}:
            form = ReasonForm(request.POST, prefix="reason")
            if form.is_valid():
                service = services.request_reject if action == "reject" else services.request_cancel
                service(actor=actor, request=distribution, reason=form.cleaned_data["reason"])
        elif action == "close":
            services.request_close(actor=actor, request=distribution)
        elif action == "reserve":
            form = ReserveForm(request.POST, prefix="reserve")
            if form.is_valid():
                items = services.request_reserve(
                    actor=actor, request=distribution, barcodes=form.barcode_list()
                )
                done = _("%d specimens reserved.") % len(items)
        elif action == "ship":
            form = ShipmentForm(request.POST, prefix="ship")
            if form.is_valid():
                services.shipment_create(actor=actor, request=distribution, **form.cleaned_data)
        elif action == "receive":
            shipment = _shipment(distribution, request)
            form = ReceiptForm(
                request.POST, prefix="receipt", barcodes=selectors.shipment_barcodes(shipment)
            )
            if form.is_valid():
                services.shipment_receive(
                    actor=actor, shipment=shipment, **form.service_arguments()
                )
        elif action == "spill":
            form = SpillForm(request.POST, prefix="spill")
            if form.is_valid():
                services.spill_report(
                    actor=actor, shipment=_shipment(distribution, request), **form.cleaned_data
                )
        elif action in {"return", "destroyed"}:
            form = ItemForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                item = _item(distribution, data["item"])
                if action == "return":
                    unit = None
                    if data["unit"]:
                        unit = StorageUnit.objects.filter(
                            organization=distribution.organization, barcode=data["unit"]
                        ).first()
                        if unit is None:
                            raise ApplicationError(_("No such box here."))
                    services.item_return(
                        actor=actor,
                        item=item,
                        condition=data["condition"],
                        unit=unit,
                        position=data["position"],
                    )
                else:
                    services.recipient_destruction_record(
                        actor=actor,
                        item=item,
                        destroyed_on=data["destroyed_on"] or timezone.localdate(),
                        method=data["method"],
                    )
        elif action == "release":
            release = services.data_release(actor=actor, request=distribution)
            rows = [[row.get(name, "") for name in release.header] for row in release.rows]
            name = f"{distribution.code}-data"
            if request.POST.get("format") == "xlsx":
                return xlsx_response(name, release.header, rows, sheet=distribution.code)
            return csv_response(name, release.header, rows)
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form is not None and not form.is_valid():
            _form_error(request, form)
        else:
            messages.success(request, done)
    return redirect("distribution:request-detail", public_id=distribution.public_id)


@login_required
def pick_list_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The pick list in storage order, to take to the freezers (PDF)."""
    distribution = selectors.request_get_for_user(request.user, public_id)
    if not has_permission(request.user, "distribution.view", distribution.organization):
        raise Http404("request not found")
    lines = selectors.pick_list(distribution)
    pdf = table_pdf(
        _("Pick list %s") % distribution.code,
        [_("Location"), _("Barcode"), _("Material type"), _("Quantity"), _("Take")],
        [
            [
                line.location,
                line.item.specimen.barcode,
                line.item.specimen.material_type.label,
                f"{line.item.specimen.remaining.normalize():f} {line.item.specimen.unit}",
                f"{line.item.quantity.normalize():f} {line.item.unit}",
            ]
            for line in lines
        ],
        subtitle=f"{distribution.title} — {distribution.destination_institution}",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{distribution.code}-pick-list.pdf"'
    return response


def _manifest_rows(shipment: Shipment) -> list[list[str]]:
    return [
        [
            item.shipped.barcode if item.shipped else item.specimen.barcode,
            item.specimen.material_type.code,
            f"{item.quantity.normalize():f} {item.unit}",
            shipment.packaging_category,
            shipment.get_temperature_display(),
        ]
        for item in shipment.items.select_related("shipped", "specimen__material_type").order_by(
            "pk"
        )
    ]


def _manifest_header() -> list[str]:
    return [_("Barcode"), _("Material type"), _("Quantity"), _("Packaging"), _("Temperature")]


@login_required
def manifest(request: HttpRequest, public_id: str, fmt: str) -> HttpResponseBase:
    """The shipping manifest of a shipment, as PDF or CSV."""
    shipment = selectors.shipment_get_for_user(request.user, public_id)
    distribution = shipment.request
    rows = _manifest_rows(shipment)
    name = f"{distribution.code}-manifest"
    if fmt == "csv":
        return csv_response(name, _manifest_header(), rows)
    if fmt != "pdf":
        raise Http404("unknown format")
    dry_ice = f" · {rules.DRY_ICE_UN} {shipment.dry_ice_kg} kg" if shipment.dry_ice_kg else ""
    risk = (
        f" · RG{shipment.risk_group} ({shipment.get_risk_group_source_display()})"
        if shipment.risk_group
        else ""
    )
    subtitle = (
        f"{distribution.organization.name_zh} → {distribution.destination_institution} "
        f"({distribution.destination_country}) · {shipment.courier} {shipment.tracking_number} · "
        f"{shipment.un_number or shipment.packaging_category} {shipment.shipping_name} "
        f"{shipment.packing_instruction}{dry_ice}{risk}"
    )
    pdf = table_pdf(
        _("Shipping manifest %s") % distribution.code,
        _manifest_header(),
        rows,
        subtitle=subtitle,
        footer_rows=[[_("Items"), str(len(rows)), "", "", ""]],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    """The reciprocity ledger (seed 003): balances per organization and counterpart, and the
    entries each shipment and data release added."""
    return render(
        request,
        "distribution/ledger.html",
        {
            "balances": selectors.ledger_balances_for_user(request.user),
            "entries": selectors.ledger_for_user(request.user)[:500],
        },
    )


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    """The biobank's export list (HB-05): the standard derivatives with its own changes; holders
    of ``distribution.review`` add derivatives or strike types off."""
    code = request.POST.get("organization") or request.GET.get("organization")
    organization = selectors.export_list_organization_for_user(request.user, code)
    if request.method == "POST":
        form: Any = (
            ExportEntryAddForm(request.POST)
            if request.POST.get("action") == "add"
            else ExportEntryRemoveForm(request.POST)
        )
        if not form.is_valid():
            _form_error(request, form)
        else:
            try:
                if isinstance(form, ExportEntryAddForm):
                    services.export_entry_add(
                        actor=acting_user(request), organization=organization, **form.arguments()
                    )
                else:
                    services.export_entry_remove(
                        actor=acting_user(request),
                        organization=organization,
                        **form.cleaned_data,
                    )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Export list saved."))
        return redirect(f"{reverse('distribution:export-list')}?organization={organization.code}")
    return render(
        request,
        "distribution/export_list.html",
        {
            "organization": organization,
            "organizations": selectors.export_list_organizations_for_user(request.user),
            "lines": services.export_list(organization),
            "can_edit": has_permission(request.user, "distribution.review", organization),
            "add_form": ExportEntryAddForm(),
        },
    )
