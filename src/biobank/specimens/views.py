"""Pages for collections and specimens."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.exports import csv_response, xlsx_response
from biobank.core.models import AuditEvent, Site
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.participants.models import Participant
from biobank.specimens import labels, selectors
from biobank.specimens.forms import (
    AliquotForm,
    CollectionForm,
    DeriveForm,
    EventForm,
    MaterialTypeForm,
    PlanNodeForm,
    ReasonForm,
    ResultForm,
    SearchForm,
    SpecimenForm,
    VisitForm,
)
from biobank.specimens.models import MaterialType, Specimen
from biobank.specimens.services import collections as collection_services
from biobank.specimens.services import data as data_services
from biobank.specimens.services import specimens as specimen_services

# Collections ---------------------------------------------------------------------------------


@login_required
def collection_list(request: HttpRequest) -> HttpResponse:
    organization = organizations_with_permission(request.user, "collection.manage").first()
    type_form = MaterialTypeForm(
        request.POST if "type-code" in request.POST else None, prefix="type"
    )
    if request.method == "POST" and "type-code" in request.POST:
        if organization is None:
            raise Http404("no organization where the user manages collections")
        if type_form.is_valid():
            try:
                collection_services.material_type_add(
                    actor=acting_user(request), organization=organization, **type_form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Material type added."))
                return redirect("specimens:collection-list")
    form = CollectionForm(request.POST if "code" in request.POST else None)
    if request.method == "POST" and "code" in request.POST:
        if organization is None:
            raise Http404("no organization where the user manages collections")
        if form.is_valid():
            try:
                collection = collection_services.collection_create(
                    actor=acting_user(request), organization=organization, **form.cleaned_data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Collection created."))
                return redirect("specimens:collection-detail", public_id=collection.public_id)
    return render(
        request,
        "specimens/collection_list.html",
        {
            "collections": selectors.collection_list_for_user(request.user),
            "form": form if organization else None,
            "type_form": type_form if organization else None,
            "local_types": MaterialType.objects.filter(
                organization__in=organizations_with_permission(request.user, "specimen.view")
            ).select_related("maps_to"),
        },
    )


@login_required
def collection_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    collection = selectors.collection_get_for_user(request.user, public_id)
    organization = collection.organization
    plan_form = PlanNodeForm(collection=collection, prefix="plan")
    visit_form = VisitForm(prefix="visit", initial={"collected_at": timezone.localtime()})
    visit_form.fields["site"].queryset = Site.objects.filter(organization=organization)  # type: ignore[attr-defined]
    if request.method == "POST" and "plan-kind" in request.POST:
        plan_form = PlanNodeForm(request.POST, collection=collection, prefix="plan")
        if plan_form.is_valid():
            data = plan_form.cleaned_data
            try:
                collection_services.collection_plan_add(
                    actor=acting_user(request),
                    collection=collection,
                    label=data["label"],
                    kind=data["kind"],
                    material_type=data["material_type"].code,
                    quantity=data["quantity"],
                    unit=data["unit"],
                    count=data["count"],
                    parent=data["parent"],
                    quantity_taken=data["quantity_taken"],
                    container_type=data["container_type"],
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Planned specimen added."))
                return redirect("specimens:collection-detail", public_id=collection.public_id)
    if request.method == "POST" and "visit-participant_code" in request.POST:
        visit_form = VisitForm(request.POST, prefix="visit")
        visit_form.fields["site"].queryset = Site.objects.filter(organization=organization)  # type: ignore[attr-defined]
        if visit_form.is_valid():
            data = visit_form.cleaned_data
            participant = Participant.objects.filter(
                organization=organization, code=data["participant_code"].strip()
            ).first()
            if participant is None:
                visit_form.add_error("participant_code", _("No such participant here."))
            else:
                try:
                    visit = specimen_services.visit_register(
                        actor=acting_user(request),
                        collection=collection,
                        participant=participant,
                        collected_at=data["collected_at"],
                        collection_site=data["site"],
                    )
                except ApplicationError as error:
                    refuse(request, error)
                else:
                    messages.success(
                        request,
                        _("Visit registered: %(n)d collected, %(m)d expected.")
                        % {"n": len(visit.primaries), "m": len(visit.expected)},
                    )
                    barcodes = ",".join(s.barcode for s in visit.primaries + visit.expected)
                    return redirect(f"{request.path}?{urlencode({'printed': barcodes})}")
    return render(
        request,
        "specimens/collection_detail.html",
        {
            "collection": collection,
            "plan": list(collection.plan.select_related("material_type", "parent")),
            "fields": collection.fields.all(),
            "plan_form": plan_form
            if has_permission(request.user, "collection.manage", organization)
            else None,
            "visit_form": visit_form
            if has_permission(request.user, "specimen.manage", organization)
            else None,
            "printed": request.GET.get("printed", ""),
            "history": audit_history_for_user(request.user, collection),
        },
    )


# Specimens -----------------------------------------------------------------------------------


@login_required
def specimen_search(request: HttpRequest) -> HttpResponseBase:
    form = SearchForm(request.GET or None)
    query = selectors.SpecimenQuery()
    if form.is_valid():
        data = dict(form.cleaned_data)
        band = data.pop("storage_temperature")
        query = selectors.SpecimenQuery(**data, storage_temperature=band.code if band else "")
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        return _export(request, query, export)
    after = request.GET.get("after")
    page = selectors.specimen_search_for_user(
        request.user, query, after=int(after) if after and after.isdigit() else None, limit=51
    )
    has_next = len(page) > 50
    page = page[:50]
    params = request.GET.copy()
    params.pop("after", None)
    return render(
        request,
        "specimens/specimen_search.html",
        {
            "form": form,
            "specimens": page,
            "next_after": page[-1].pk if has_next and page else None,
            "querystring": params.urlencode(),
            "can_register": organizations_with_permission(request.user, "specimen.manage").exists(),
        },
    )


def _export(request: HttpRequest, query: selectors.SpecimenQuery, kind: str) -> HttpResponseBase:
    """The search's matches in the import's columns (round-trips through ``biobank import
    specimens``); recorded in the audit trail with the filters used."""
    audit_record(
        actor=acting_user(request),
        action=AuditEvent.Action.EXPORT,
        object_type="specimens.specimen",
        object_id="search",
        object_repr=f"specimen export ({kind})",
        after={"query": {k: v for k, v in query.__dict__.items() if v}},
    )
    rows = selectors.specimen_export_rows(request.user, query)
    name = f"specimens-{timezone.localdate():%Y%m%d}"
    if kind == "csv":
        return csv_response(name, selectors.EXPORT_COLUMNS, rows)
    return xlsx_response(name, selectors.EXPORT_COLUMNS, rows, sheet="specimens")


@login_required
def specimen_create(request: HttpRequest) -> HttpResponse:
    organization = organizations_with_permission(request.user, "specimen.manage").first()
    if organization is None:
        raise Http404("no organization where the user registers specimens")
    collections = selectors.collection_list_for_user(request.user).filter(organization=organization)
    form = SpecimenForm(
        request.POST or None,
        collections=collections,
        initial={"collected_at": timezone.localtime()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        participant = None
        if data["participant_code"]:
            participant = Participant.objects.filter(
                organization=organization, code=data["participant_code"].strip()
            ).first()
            if participant is None:
                form.add_error("participant_code", _("No such participant here."))
        if not form.errors:
            try:
                specimen = specimen_services.specimen_register(
                    actor=acting_user(request),
                    organization=organization,
                    material_type=data["material_type"].code,
                    quantity=data["quantity"],
                    unit=data["unit"],
                    barcode=data["barcode"],
                    collection=data["collection"],
                    participant=participant,
                    source_organism=data["source_organism"],
                    source_strain=data["source_strain"],
                    source_identifier=data["source_identifier"],
                    collected_at=data["collected_at"],
                    container_type=data["container_type"],
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Specimen %s registered.") % specimen.barcode)
                return redirect("specimens:specimen-detail", barcode=specimen.barcode)
    return render(request, "specimens/form.html", {"form": form, "title": _("Register a specimen")})


@login_required
def specimen_detail(request: HttpRequest, barcode: str) -> HttpResponse:
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    parents, children = selectors.lineage_for(specimen)
    can_manage = has_permission(request.user, "specimen.manage", specimen.organization)
    return render(
        request,
        "specimens/specimen_detail.html",
        {
            "specimen": specimen,
            "use": specimen_services.specimen_use_check(specimen),
            "events": specimen.events.select_related("by", "site"),
            "parents": parents,
            "children": children,
            "data_values": specimen.data.select_related("field"),
            "participant_data": (
                specimen.participant.data.filter(
                    field__collection=specimen.collection_id
                ).select_related("field")
                if specimen.participant
                else []
            ),
            "results": specimen.results.all(),
            "history": audit_history_for_user(request.user, specimen),
            "can_manage": can_manage,
            "can_destroy": has_permission(request.user, "specimen.destroy", specimen.organization),
            # the participant's code is shown to everyone who sees the specimen, the link only
            # to those who may open the participant
            "can_view_participant": has_permission(
                request.user, "participant.view", specimen.organization
            ),
            "aliquot_form": AliquotForm(prefix="aliquot"),
            "derive_form": DeriveForm(prefix="derive"),
            "event_form": EventForm(prefix="event", initial={"at": timezone.localtime()}),
            "reason_form": ReasonForm(prefix="reason"),
            "result_form": ResultForm(
                prefix="result", initial={"performed_on": timezone.localdate()}
            ),
            "data_fields": specimen.collection.fields.all() if specimen.collection else [],
            "stocks": labels.STOCKS,
            "label_printer": bool(settings.LABEL_PRINTER),
        },
    )


@login_required
@require_POST
def specimen_action(request: HttpRequest, barcode: str, action: str) -> HttpResponse:
    """The actions on a specimen's page: aliquot, derive, event, prepare, hold, destroy."""
    specimen = selectors.specimen_get_for_user(request.user, barcode)
    actor = acting_user(request)
    made: list[Specimen] = []
    try:
        if action == "aliquot":
            form: Any = AliquotForm(request.POST, prefix="aliquot")
            if form.is_valid():
                made = specimen_services.specimen_aliquot(
                    actor=actor,
                    parent=specimen,
                    count=form.cleaned_data["count"],
                    quantity_each=form.cleaned_data["quantity_each"],
                    keep_empty=form.cleaned_data["keep_empty"],
                )
        elif action == "derive":
            form = DeriveForm(request.POST, prefix="derive")
            if form.is_valid():
                data = form.cleaned_data
                parameters: dict[str, Any] = {
                    "method": "centrifugation" if data["g"] else "preparation"
                }
                if data["g"] and data["minutes"] and data["temperature_c"] is not None:
                    parameters["centrifugation"] = {
                        "g": data["g"],
                        "minutes": data["minutes"],
                        "temperature_c": data["temperature_c"],
                    }
                made = specimen_services.specimen_derive(
                    actor=actor,
                    parent=specimen,
                    material_type=data["material_type"].code,
                    quantity_taken=data["quantity_taken"],
                    quantities=[data["quantity_each"]] * data["count"],
                    unit=data["unit"],
                    parameters=parameters,
                    concentration=data["concentration"],
                    concentration_unit=data["concentration_unit"] if data["concentration"] else "",
                )
        elif action == "event":
            form = EventForm(request.POST, prefix="event")
            if form.is_valid():
                data = form.cleaned_data
                specimen_services.specimen_event_record(
                    actor=actor,
                    specimen=specimen,
                    activity=data["activity"],
                    at=data["at"],
                    sop=data["sop"],
                    sop_version=data["sop_version"],
                    parameters=form.parameters(),
                    result=data["result"],
                )
        elif action == "data":
            form = None
            field = (
                specimen.collection.fields.filter(key=request.POST.get("field", "")).first()
                if specimen.collection
                else None
            )
            if field is None:
                raise ApplicationError(
                    _("Choose a field of the specimen's collection."), rule="BB-01"
                )
            on_specimen = field.applies_to == "specimen"
            data_services.data_value_set(
                actor=actor,
                field=field,
                value=request.POST.get("value", ""),
                specimen=specimen if on_specimen else None,
                participant=None if on_specimen else specimen.participant,
            )
        elif action == "result":
            form = ResultForm(request.POST, prefix="result")
            if form.is_valid():
                data_services.test_result_record(
                    actor=actor, specimen=specimen, **form.cleaned_data
                )
        elif action == "prepare":
            form = None
            specimen_services.specimen_prepare_planned(actor=actor, specimen=specimen)
        elif action in {"hold", "release", "destroy", "missing"}:
            form = ReasonForm(request.POST, prefix="reason")
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                if action == "destroy":
                    specimen_services.specimen_destroy(
                        actor=actor,
                        specimen=specimen,
                        reason=reason,
                        method=form.cleaned_data["method"] or "autoclave",
                    )
                elif action == "missing":
                    specimen_services.specimen_mark_missing(
                        actor=actor, specimen=specimen, reason=reason
                    )
                else:
                    specimen_services.specimen_set_hold(
                        actor=actor, specimen=specimen, on_hold=action == "hold", reason=reason
                    )
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    else:
        if form is not None and not form.is_valid():
            messages.error(
                request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            )
        else:
            messages.success(
                request, _("Done.") + (f" {', '.join(s.barcode for s in made)}" if made else "")
            )
    return redirect("specimens:specimen-detail", barcode=specimen.barcode)


@login_required
def specimen_labels(request: HttpRequest) -> HttpResponse:
    """Labels for the given barcodes: a PDF sheet, or ZPL for a Zebra printer."""
    params = request.POST if request.method == "POST" else request.GET
    barcodes = [b for b in params.get("barcodes", "").replace("\n", ",").split(",") if b.strip()]
    if not barcodes or len(barcodes) > 1000:
        raise Http404("give 1 to 1000 barcodes")
    specimens = list(
        selectors.specimen_base_for_user(request.user)
        .filter(barcode__in=[b.strip() for b in barcodes])
        .select_related("material_type", "participant")
        .order_by("barcode")
    )
    if not specimens:
        raise Http404("no such specimens")
    data = [
        labels.specimen_label(
            s.barcode,
            s.material_type.label,
            timezone.localtime(s.collected_at).date() if s.collected_at else None,
            s.participant.code if s.participant else None,
        )
        for s in specimens
    ]
    code = params.get("code", "datamatrix")
    try:
        if request.method == "POST" and settings.LABEL_PRINTER:  # print, don't download
            host, _sep, port = settings.LABEL_PRINTER.partition(":")
            labels.send_zpl(labels.zpl(data, code=code), host, int(port or 9100))
            messages.success(request, _("%d labels sent to the printer.") % len(data))
            return redirect(request.META.get("HTTP_REFERER") or "specimens:specimen-search")
        if params.get("format") == "zpl":
            response = HttpResponse(
                labels.zpl(data, code=code), content_type="text/plain; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="labels.zpl"'
            return response
        start = int(params.get("start", "0") or 0)
        pdf = labels.pdf_sheet(
            data, stock=params.get("stock", "a4-65"), code=code, start_position=start
        )
    except ApplicationError as error:  # the printer did not answer
        refuse(request, error)
        return redirect(request.META.get("HTTP_REFERER") or "specimens:specimen-search")
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="labels.pdf"'
    return response


@login_required
def specimen_pool(request: HttpRequest) -> HttpResponse:
    """Pool: one line per parent, ``barcode amount``."""
    organization = organizations_with_permission(request.user, "specimen.manage").first()
    if organization is None:
        raise Http404("no organization where the user manages specimens")
    if request.method == "POST":
        try:
            parents = []
            for line in request.POST.get("parents", "").splitlines():
                if not line.strip():
                    continue
                code, amount = line.split()
                parents.append(
                    (selectors.specimen_get_for_user(request.user, code), Decimal(amount))
                )
            pooled = specimen_services.specimen_pool(
                actor=acting_user(request),
                parents=parents,
                quantity=Decimal(request.POST.get("quantity", "0")),
            )
        except (ValueError, ArithmeticError):
            messages.error(request, _("Write one parent per line: barcode, a space, the amount."))
        except ApplicationError as error:
            refuse(request, error)
        else:
            return redirect("specimens:specimen-detail", barcode=pooled.barcode)
    return render(request, "specimens/pool.html", {})
