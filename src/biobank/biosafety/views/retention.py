"""The purge page: what the user's organizations may purge now that its retention period has
ended (every area, from ``biobank.core.retention``), with a purge button per biosafety record
(BS-05 … BS-15, HP-04); a refusal is shown with the rule that keeps the record."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import PurgeForm
from biobank.biosafety.views.common import form_error
from biobank.core import retention
from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import organizations_with_permission


@login_required
def retention_list(request: HttpRequest) -> HttpResponse:
    organizations = organizations_with_permission(request.user, "biosafety.manage")
    if not organizations.exists():
        raise Http404("no biosafety rights")
    today = timezone.localdate()
    rows = [
        (row, services.kind_model(row.kind) is not None)
        for organization in organizations.order_by("code")
        for row in retention.purgeable(today, organization)
    ]
    return render(
        request,
        "biosafety/retention_list.html",
        {"rows": rows, "today": today, "organizations": organizations.order_by("code")},
    )


@login_required
@require_POST
def record_purge(request: HttpRequest, kind: str, record_id: str) -> HttpResponseBase:
    record = selectors.purgeable_record_get_for_user(request.user, kind, record_id)
    label = str(record)[:200]
    form = PurgeForm(request.POST)
    if form.is_valid():
        try:
            services.record_purge(
                actor=acting_user(request), record=record, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("%s purged.") % label)
    else:
        form_error(request, form)
    return redirect("biosafety:retention")
