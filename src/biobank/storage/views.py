"""Storage pages: browse the hierarchy like folders, the box grid, scans, access, temperature."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core.errors import ApplicationError
from biobank.core.exports import xlsx_response
from biobank.core.models import User
from biobank.core.pages import acting_user, refuse
from biobank.core.pdf import table_pdf
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.specimens.selectors import specimen_get_for_user
from biobank.storage import rules, selectors, services
from biobank.storage.models import EQUIPMENT, ContainerType, Kind, StorageUnit


@login_required
def unit_roots(request: HttpRequest) -> HttpResponse:
    units = selectors.unit_list_for_user(request.user)
    roots = list(units.filter(parent__isnull=True).order_by("organization__code", "barcode"))
    equipment = list(units.filter(kind__in=list(EQUIPMENT)).order_by("barcode"))
    usage = services.occupancy(roots + equipment)
    organization = organizations_with_permission(request.user, "storage.manage").first()
    if request.method == "POST":
        if organization is None:
            raise Http404("no organization where the user manages storage")
        try:
            unit = services.unit_create(
                actor=acting_user(request),
                organization=organization,
                barcode=request.POST.get("barcode", ""),
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", ""),
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            return redirect("storage:unit-detail", public_id=unit.public_id)
    return render(
        request,
        "storage/roots.html",
        {
            "roots": [(u, usage.get(u.pk, (0, 0))) for u in roots],
            "equipment": [(u, usage.get(u.pk, (0, 0))) for u in equipment],
            "can_manage": organization is not None,
            "root_kinds": [(Kind.SITE, Kind.SITE.label), (Kind.ROOM, Kind.ROOM.label)],
            "free_by_class": services.free_by_temperature(equipment),
        },
    )


def _restriction_choices(unit: StorageUnit) -> dict[str, Any]:
    from biobank.specimens.models import Collection, MaterialType, StorageTemperature

    return {
        "material_types": MaterialType.objects.filter(
            Q(organization__isnull=True) | Q(organization=unit.organization), is_active=True
        ).order_by("category_id", "code"),
        "collections": Collection.objects.filter(organization=unit.organization),
        "temperatures": StorageTemperature.objects.all(),
        "chosen_types": {t.pk for t in unit.allowed_material_types.all()},
        "chosen_collections": {c.pk for c in unit.allowed_collections.all()},
    }


@login_required
def unit_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    unit = selectors.unit_get_for_user(request.user, public_id)
    children = list(unit.children.order_by("barcode"))
    usage = services.occupancy(children)
    can_manage = has_permission(request.user, "storage.manage", unit.organization)
    can_place = has_permission(request.user, "specimen.manage", unit.organization)
    context: dict[str, Any] = {
        "unit": unit,
        "crumbs": selectors.breadcrumbs(unit),
        "children": [(c, usage.get(c.pk, (0, 0))) for c in children],
        "can_manage": can_manage,
        "can_place": can_place,
        "child_kinds": [(k, k.label) for k in Kind if services._fits_under(k, unit.kind)],
        "container_types": ContainerType.objects.filter(
            Q(organization__isnull=True) | Q(organization=unit.organization)
        ).order_by("kind", "code"),
        "is_equipment": unit.kind in EQUIPMENT,
        "readings": unit.readings.all()[:20] if unit.kind in EQUIPMENT else [],
        "excursions": unit.excursions.all()[:10] if unit.kind in EQUIPMENT else [],
        "accesses": selectors.access_records(unit)[:30],
        "grants": unit.grants.filter(revoked_at__isnull=True).select_related("user"),
        "restriction_choices": _restriction_choices(unit) if can_manage else None,
        "can_grant": has_permission(request.user, "storage.grant", unit.organization),
    }
    if unit.is_holder:
        context["grid"] = selectors.box_grid(unit)
        context["color_by"] = request.GET.get("color", "type")
    return render(request, "storage/unit.html", context)


@login_required
@require_POST
def unit_action(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    unit = selectors.unit_get_for_user(request.user, public_id)
    actor = acting_user(request)
    post = request.POST
    try:
        if action == "child":
            child = services.unit_create(
                actor=actor,
                organization=unit.organization,
                parent=unit,
                barcode=post.get("barcode", ""),
                name=post.get("name", ""),
                kind=post.get("kind", ""),
                container_type=ContainerType.objects.filter(
                    Q(organization__isnull=True) | Q(organization=unit.organization),
                    pk=post.get("container_type") or 0,
                ).first(),
                rows=int(post["rows"]) if post.get("rows") else None,
                columns=int(post["columns"]) if post.get("columns") else None,
                set_point_c=Decimal(post["set_point_c"]) if post.get("set_point_c") else None,
            )
            messages.success(request, _("%s added.") % child.barcode)
        elif action == "place":
            specimen = specimen_get_for_user(request.user, post.get("barcode", "").strip())
            placement = services.specimen_place(
                actor=actor, specimen=specimen, unit=unit, position=post.get("position", "")
            )
            messages.success(
                request,
                _("%(barcode)s placed at %(label)s.")
                % {"barcode": specimen.barcode, "label": services.label_of(placement)},
            )
        elif action == "move":
            specimen = specimen_get_for_user(request.user, post.get("barcode", "").strip())
            placement = services.specimen_move(
                actor=actor, specimen=specimen, unit=unit, position=post.get("position", "")
            )
            messages.success(
                request,
                _("%(barcode)s moved to %(label)s.")
                % {"barcode": specimen.barcode, "label": services.label_of(placement)},
            )
        elif action == "restrict":
            from biobank.specimens.models import Collection, MaterialType, StorageTemperature

            services.unit_restrict(
                actor=actor,
                unit=unit,
                material_types=list(
                    MaterialType.objects.filter(pk__in=post.getlist("material_types"))
                ),
                collections=list(
                    Collection.objects.filter(
                        organization=unit.organization, pk__in=post.getlist("collections")
                    )
                ),
                temperature_class=StorageTemperature.objects.filter(
                    code=post.get("temperature_class", "")
                ).first(),
            )
            messages.success(request, _("Restrictions saved."))
        elif action == "grant":
            person = User.objects.filter(username=post.get("username", "").strip()).first()
            if person is None:
                raise ApplicationError(_("No such user."))
            services.access_grant(actor=actor, unit=unit, user=person)
            messages.success(request, _("%s may now open this unit.") % person)
        elif action == "revoke":
            grant = unit.grants.filter(pk=post.get("grant", 0), revoked_at__isnull=True).first()
            if grant is None:
                raise Http404("no such grant")
            services.access_revoke(actor=actor, grant=grant)
            messages.success(request, _("Access removed."))
        elif action == "temperature":
            at = timezone.now()
            services.temperature_record(
                actor=actor, unit=unit, at=at, value_c=Decimal(post.get("value_c", ""))
            )
            messages.success(request, _("Reading recorded."))
        elif action == "scan":
            upload = request.FILES.get("scan")
            if upload is None:
                raise ApplicationError(_("Choose the rack scanner's CSV file."))
            text = upload.read().decode("utf-8-sig", errors="replace")
            rows = [
                (r[0], r[1] if len(r) > 1 else "")
                for r in csv.reader(io.StringIO(text))
                if r and r[0].strip()
            ]
            if rows and rows[0][0].strip().lower() in {"position", "pos", "well"}:
                rows = rows[1:]
            diff = services.scan_compare(unit, rows)
            request.session[f"scan-{unit.pk}"] = rows
            return render(request, "storage/scan.html", {"unit": unit, "diff": diff})
        elif action == "scan-apply":
            rows = request.session.pop(f"scan-{unit.pk}", None)
            if rows is None:
                raise ApplicationError(_("Upload the scan again."))
            changes = services.scan_apply(
                actor=actor, unit=unit, diff=services.scan_compare(unit, rows)
            )
            messages.success(request, _("%d change(s) applied from the scan.") % changes)
        else:
            raise Http404("unknown action")
    except (ValueError, InvalidOperation):
        messages.error(request, _("Check the numbers you entered."))
    except ApplicationError as error:
        refuse(request, error)
    return redirect("storage:unit-detail", public_id=unit.public_id)


@login_required
def find_places(request: HttpRequest, public_id: str) -> HttpResponse:
    """Suggest positions under this unit for the given barcodes, then place them all."""
    unit = selectors.unit_get_for_user(request.user, public_id)
    barcodes = [b.strip() for b in request.POST.get("barcodes", "").split() if b.strip()]
    keep = bool(request.POST.get("keep_together"))
    places: list[Any] = []
    if request.method == "POST" and barcodes:
        try:
            specimens = [specimen_get_for_user(request.user, b) for b in barcodes]
            places = services.find_places(within=unit, specimens=specimens, keep_together=keep)
            if request.POST.get("confirm") == "yes":
                for specimen, box, row, column in places:
                    services.specimen_place(
                        actor=acting_user(request),
                        specimen=specimen,
                        unit=box,
                        position=(row, column),
                    )
                messages.success(request, _("%d specimens placed.") % len(places))
                return redirect("storage:unit-detail", public_id=unit.public_id)
        except ApplicationError as error:
            refuse(request, error)
    shown = [(s, box, rules.label(services.geometry(box), r, c)) for s, box, r, c in places]
    return render(
        request,
        "storage/find.html",
        {"unit": unit, "places": shown, "barcodes": "\n".join(barcodes), "keep": keep},
    )


@login_required
def inventory_export(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """保存清單 (BS-07): everything stored under the unit, with totals per material type."""
    unit = selectors.unit_get_for_user(request.user, public_id)
    placements = list(selectors.inventory(unit))
    header = [
        "unit",
        "position",
        "barcode",
        "material_type",
        "remaining",
        "unit_of_measure",
        "participant",
        "collection",
        "status",
    ]
    rows = [
        [
            p.unit.barcode,
            services.label_of(p),
            p.specimen.barcode,
            p.specimen.material_type.label,
            p.specimen.remaining,
            p.specimen.unit,
            p.specimen.participant.code if p.specimen.participant else "",
            p.specimen.collection.code if p.specimen.collection else "",
            p.specimen.status,
        ]
        for p in placements
    ]
    totals = Counter(p.specimen.material_type.label for p in placements)
    rows += [
        [],
        ["total"],
        *[["", "", "", label, count] for label, count in sorted(totals.items())],
    ]
    return xlsx_response(
        f"inventory-{unit.barcode}-{date.today():%Y%m%d}", header, rows, sheet="inventory"
    )


@login_required
def inventory_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    """The inventory list (保存清單, BS-07) as a PDF with totals per material type."""
    unit = selectors.unit_get_for_user(request.user, public_id)
    placements = list(selectors.inventory(unit))
    rows = [
        [
            p.unit.barcode,
            services.label_of(p),
            p.specimen.barcode,
            p.specimen.material_type.label,
            f"{p.specimen.remaining.normalize():f} {p.specimen.unit}",
            p.specimen.participant.code if p.specimen.participant else p.specimen.source_organism,
            p.specimen.get_status_display(),
        ]
        for p in placements
    ]
    totals = Counter(p.specimen.material_type.label for p in placements)
    pdf = table_pdf(
        _("Inventory list of %s") % unit,
        [
            _("Unit"),
            _("Position"),
            _("Barcode"),
            _("Material type"),
            _("Remaining"),
            _("Participant"),
            _("Status"),
        ],
        rows,
        subtitle=_("%(count)d specimens, printed %(when)s")
        % {"count": len(placements), "when": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
        footer_rows=[
            ["", "", _("Total"), label, count, "", ""] for label, count in sorted(totals.items())
        ],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="inventory-{unit.barcode}.pdf"'
    return response


@login_required
def access_log(request: HttpRequest, public_id: str) -> HttpResponse:
    unit = selectors.unit_get_for_user(request.user, public_id)
    return render(
        request,
        "storage/access.html",
        {
            "unit": unit,
            "accesses": selectors.access_records(unit)[:1000],
            "crumbs": selectors.breadcrumbs(unit),
        },
    )


@login_required
@require_POST
def checkout_action(request: HttpRequest, barcode: str, action: str) -> HttpResponse:
    specimen = specimen_get_for_user(request.user, barcode)
    try:
        if action == "out":
            services.specimen_check_out(
                actor=acting_user(request), specimen=specimen, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Checked out."))
        elif action == "in":
            services.specimen_check_in(actor=acting_user(request), specimen=specimen)
            messages.success(request, _("Back in storage."))
        else:
            raise Http404("unknown action")
    except ApplicationError as error:
        refuse(request, error)
    return redirect("specimens:specimen-detail", barcode=specimen.barcode)
