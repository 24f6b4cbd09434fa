"""Inspection exports (BS-07): lists as XLSX or PDF, each recorded in the audit trail."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from biobank.biosafety.exports import EXPORTS
from biobank.core.audit import audit_record
from biobank.core.exports import xlsx_response
from biobank.core.models import AuditEvent
from biobank.core.pages import acting_user
from biobank.core.pdf import table_pdf
from biobank.core.tenancy import organizations_with_permission


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    if not organizations_with_permission(request.user, "biosafety.view").exists():
        raise Http404("no biosafety rights")
    return render(
        request,
        "biosafety/export_list.html",
        {
            "exports": [
                (
                    export.title,
                    reverse(f"biosafety:export-{key}-xlsx"),
                    reverse(f"biosafety:export-{key}-pdf"),
                )
                for key, export in EXPORTS.items()
            ]
        },
    )


@login_required
def export_file(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    export = EXPORTS.get(kind)
    if export is None or fmt not in ("xlsx", "pdf"):
        raise Http404("unknown export")
    if not organizations_with_permission(request.user, "biosafety.view").exists():
        raise Http404("no biosafety rights")
    audit_record(
        actor=acting_user(request),
        action=AuditEvent.Action.EXPORT,
        object_type="biosafety.export",
        object_id=kind,
        object_repr=f"biosafety {kind} ({fmt})",
        after={"kind": kind, "format": fmt},
    )
    header = [str(name) for name in export.header]
    rows = list(export.rows(request.user))
    name = f"biosafety-{kind}-{timezone.localdate():%Y%m%d}"
    if fmt == "xlsx":
        return xlsx_response(name, header, rows, sheet=kind)
    subtitle = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    response = HttpResponse(
        table_pdf(str(export.title), header, rows, subtitle=subtitle),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response
