"""Core pages. Thin: parse the request, call one service or selector, render."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core import calendar, selectors, services
from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.exports import csv_response, xlsx_response
from biobank.core.forms import (
    AuditSearchForm,
    CalendarOverrideForm,
    EvidenceForm,
    MembershipForm,
    OrganizationCreateForm,
    OrganizationForm,
    ReasonForm,
    SiteForm,
    WorkingDayForm,
)
from biobank.core.models import AuditEvent, CalendarOverride, Obligation, User
from biobank.core.pages import acting_user, refuse
from biobank.core.roles import PERMISSION_TABLE, ROLE_ABBREVIATIONS
from biobank.core.tenancy import (
    has_permission,
    has_permission_anywhere,
    organizations_with_permission,
)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    board = selectors.obligation_dashboard(request.user)
    return render(
        request,
        "core/dashboard.html",
        {
            "board": board,
            "organizations": selectors.organization_list_for_user(request.user),
        },
    )


# Organizations, sites, memberships -----------------------------------------------------------


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "core/organization_list.html",
        {
            "organizations": selectors.organization_list_for_user(request.user),
            "can_register": has_permission_anywhere(request.user, "organization.register"),
        },
    )


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    if not has_permission_anywhere(request.user, "organization.register"):
        raise Http404("only platform administrators register organizations")
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                actor=acting_user(request), **form.cleaned_data
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Organization registered."))
            return redirect("core:organization-detail", code=organization.code)
    return render(request, "core/form.html", {"form": form, "title": _("Register an organization")})


@login_required
def organization_detail(request: HttpRequest, code: str) -> HttpResponse:
    organization = selectors.organization_get_for_user(request.user, code)
    memberships = selectors.membership_list_for_user(request.user, organization)
    return render(
        request,
        "core/organization_detail.html",
        {
            "organization": organization,
            "sites": selectors.site_list_for_user(request.user, organization=organization),
            "memberships": memberships,
            "history": selectors.audit_history_for_user(
                request.user, organization, parts=memberships
            ),
            "can_manage": has_permission(request.user, "organization.manage", organization),
            "can_manage_sites": has_permission(request.user, "site.manage", organization),
            "can_manage_members": has_permission(request.user, "membership.manage", organization),
        },
    )


@login_required
def organization_edit(request: HttpRequest, code: str) -> HttpResponse:
    organization = selectors.organization_get_for_user(request.user, code)
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason", "")
        try:
            services.organization_update(
                actor=acting_user(request), organization=organization, reason=reason, **data
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("core:organization-detail", code=organization.code)
        organization.refresh_from_db()
    return render(
        request, "core/form.html", {"form": form, "title": organization, "back": organization}
    )


@login_required
def site_create(request: HttpRequest, code: str) -> HttpResponse:
    organization = selectors.organization_get_for_user(request.user, code)
    form = SiteForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("reason", None)
        try:
            site = services.site_create(
                actor=acting_user(request), organization=organization, **data
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Site registered."))
            return redirect("core:site-detail", public_id=site.public_id)
    return render(
        request, "core/form.html", {"form": form, "title": _("New site"), "back": organization}
    )


@login_required
def site_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    site = selectors.site_get_for_user(request.user, public_id)
    return render(
        request,
        "core/site_detail.html",
        {
            "site": site,
            "history": selectors.audit_history_for_user(request.user, site),
            "can_manage": has_permission(request.user, "site.manage", site.organization),
        },
    )


@login_required
def site_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    site = selectors.site_get_for_user(request.user, public_id)
    form = SiteForm(request.POST or None, instance=site, organization=site.organization)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason", "")
        try:
            services.site_update(actor=acting_user(request), site=site, reason=reason, **data)
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("core:site-detail", public_id=site.public_id)
    return render(request, "core/form.html", {"form": form, "title": site, "back": site})


@login_required
def membership_create(request: HttpRequest, code: str) -> HttpResponse:
    organization = selectors.organization_get_for_user(request.user, code)
    form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["new_user"]:
                services.user_create(
                    actor=acting_user(request),
                    organization=organization,
                    username=data["username"],
                    password=data["password"] or None,
                    role=data["role"],
                    email=data["email"],
                    display_name=data["display_name"],
                )
            else:
                services.membership_add(
                    actor=acting_user(request),
                    organization=organization,
                    user=User.objects.get(username=data["username"]),
                    role=data["role"],
                )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Membership added."))
            return redirect("core:organization-detail", code=organization.code)
    return render(
        request,
        "core/form.html",
        {"form": form, "title": _("Add a member"), "back": organization},
    )


@login_required
@require_POST
def membership_end(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for ending the membership."))
    else:
        try:
            services.membership_end(
                actor=acting_user(request),
                membership=membership,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Membership ended."))
    return redirect("core:organization-detail", code=membership.organization.code)


# Obligations ---------------------------------------------------------------------------------


@login_required
def obligation_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    if state not in {"open", "overdue", "done", "waived", "all"}:
        state = "open"
    obligations = selectors.obligation_list_for_user(
        request.user, state=None if state == "all" else state, rule_id=request.GET.get("rule")
    )
    page = Paginator(obligations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/obligation_list.html",
        {"page": page, "state": state, "rule": request.GET.get("rule", "")},
    )


@login_required
def obligation_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    obligation = selectors.obligation_get_for_user(request.user, public_id)
    can_close = has_permission(request.user, "obligation.close", obligation.organization)
    close_form, waive_form = EvidenceForm(), ReasonForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "close":
                close_form = EvidenceForm(request.POST)
                if close_form.is_valid():
                    services.obligation_close(
                        actor=acting_user(request),
                        obligation=obligation,
                        evidence=close_form.cleaned_data["evidence"],
                    )
                    messages.success(request, _("Obligation closed."))
                    return redirect("core:obligation-detail", public_id=obligation.public_id)
            elif action == "waive":
                waive_form = ReasonForm(request.POST)
                if waive_form.is_valid():
                    services.obligation_waive(
                        actor=acting_user(request),
                        obligation=obligation,
                        reason=waive_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("Obligation waived."))
                    return redirect("core:obligation-detail", public_id=obligation.public_id)
        except ApplicationError as error:
            refuse(request, error)
    return render(
        request,
        "core/obligation_detail.html",
        {
            "obligation": obligation,
            "history": selectors.audit_history_for_user(request.user, obligation),
            "can_close": can_close and obligation.state == Obligation.State.OPEN,
            "close_form": close_form,
            "waive_form": waive_form,
        },
    )


# Rules, roles, calendar ----------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "core/rule_list.html", {"rows": selectors.rule_list_for_user(request.user)}
    )


@login_required
def role_table(request: HttpRequest) -> HttpResponse:
    lines = [line.split() for line in PERMISSION_TABLE.strip().splitlines()]
    roles = [ROLE_ABBREVIATIONS[abbr] for abbr in lines[0][1:]]
    rows = [(line[0], [mark == "x" for mark in line[1:]]) for line in lines[1:]]
    return render(request, "core/role_table.html", {"roles": roles, "rows": rows})


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    organizations = organizations_with_permission(request.user, "calendar.manage")
    form = CalendarOverrideForm(request.POST or None, prefix="override")
    form.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
    if len(organizations) == 1:
        form.fields["organization"].initial = organizations[0]
    if request.method == "POST":
        if not organizations.exists():
            raise Http404("no organization where the user may manage the calendar")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.calendar_override_set(
                    actor=acting_user(request),
                    organization=data["organization"],
                    day=data["day"],
                    is_working_day=data["is_working_day"],
                    reason=data["reason"],
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Calendar updated."))
                return redirect("core:calendar")
    calc = WorkingDayForm(request.GET or None)
    result: dict[str, Any] | None = None
    if calc.is_valid():
        start, days = calc.cleaned_data["start"], calc.cleaned_data["days"]
        result = {
            "days": days,
            "working": calendar.add_working_days(start, days),
            "legal": calendar.legal_deadline(start, days),
        }
    today = timezone.localdate()
    upcoming = [today + timedelta(days=offset) for offset in range(0, 21)]
    return render(
        request,
        "core/calendar.html",
        {
            "form": form if organizations.exists() else None,
            "overrides": CalendarOverride.objects.all()[:100],
            "calc": calc,
            "result": result,
            "days": [(day, calendar.is_working_day(day)) for day in upcoming],
        },
    )


# Audit trail ---------------------------------------------------------------------------------

AUDIT_EXPORT_HEADER = [
    "sequence",
    "at",
    "actor",
    "organization",
    "action",
    "object_type",
    "object_id",
    "object",
    "reason",
    "before",
    "after",
    "hash",
]


def _audit_rows(events: Any) -> Any:
    for event in events.iterator(chunk_size=2000):
        yield [
            event.sequence,
            event.at,
            event.actor_username,
            event.organization.code if event.organization else "",
            event.action,
            event.object_type,
            event.object_id,
            event.object_repr,
            event.reason,
            json.dumps(event.before, ensure_ascii=False) if event.before is not None else "",
            json.dumps(event.after, ensure_ascii=False) if event.after is not None else "",
            event.hash,
        ]


@login_required
def audit_search(request: HttpRequest) -> HttpResponseBase:
    if not has_permission_anywhere(request.user, "audit.view"):
        raise Http404("no audit access")
    form = AuditSearchForm(request.GET or None, object_types=selectors.audit_object_types())
    query = selectors.AuditQuery()
    if form.is_valid():
        query = selectors.AuditQuery(
            actor=form.cleaned_data["actor"],
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            object_type=form.cleaned_data["object_type"],
            action=form.cleaned_data["action"],
        )
    events = selectors.audit_search_for_user(request.user, query)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        if not has_permission_anywhere(request.user, "audit.export"):
            raise Http404("no audit export right")
        audit_record(
            actor=acting_user(request),
            action=AuditEvent.Action.EXPORT,
            object_type="core.auditevent",
            object_id="search",
            object_repr=f"audit export ({export})",
            after={"query": query.__dict__},
        )
        name = f"audit-{date.today():%Y%m%d}"
        if export == "csv":
            return csv_response(name, AUDIT_EXPORT_HEADER, _audit_rows(events))
        return xlsx_response(name, AUDIT_EXPORT_HEADER, _audit_rows(events), sheet="audit")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    return render(
        request,
        "core/audit_search.html",
        {
            "form": form,
            "page": page,
            "querystring": params.urlencode(),
            "can_export": has_permission_anywhere(request.user, "audit.export"),
        },
    )
