"""The destruction register (BS-15): what was destroyed, how, and the committee's
confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.biosafety import selectors, services
from biobank.biosafety.forms import DestructionForm
from biobank.biosafety.views.committees import form_error
from biobank.biosafety.views.register import managed_organization
from biobank.core.errors import ApplicationError
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import organizations_with_permission


@login_required
def destruction_list(request: HttpRequest) -> HttpResponse:
    organization = organizations_with_permission(request.user, "biosafety.manage").first()
    form = DestructionForm(
        request.POST or None,
        materials=selectors.material_list_for_user(request.user).filter(
            organization=organization, status__in=["held", "suspended", "sealed"]
        ),
        decisions=selectors.decision_list_for_user(request.user).filter(
            organization=organization, decides="destruction", outcome__in=["approved", "confirmed"]
        ),
        initial={"destroyed_on": timezone.localdate()},
    )
    if request.method == "POST":
        managed_organization(request)
        if form.is_valid():
            try:
                services.destruction_record(actor=acting_user(request), **form.cleaned_data)
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Destruction recorded."))
                return redirect("biosafety:destruction-list")
        else:
            form_error(request, form)
    return render(
        request,
        "biosafety/destruction_list.html",
        {
            "destructions": selectors.destruction_list_for_user(request.user)[:500],
            "form": form if organization is not None else None,
        },
    )
