"""The entrance sign of each site (BS-08): the fields it needs and the printable PDF."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render

from biobank.biosafety import door_sign, selectors


@login_required
def site_sign(request: HttpRequest, public_id: str) -> HttpResponse:
    site = selectors.site_get_for_user(request.user, public_id)
    return render(
        request,
        "biosafety/site_sign.html",
        {"site": site, "fields": door_sign.sign_fields(site), "check": door_sign.sign_check(site)},
    )


@login_required
def site_sign_pdf(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """The A4 sign; refused while a field §6 asks for is missing (BS-08)."""
    site = selectors.site_get_for_user(request.user, public_id)
    check = door_sign.sign_check(site)
    if not check.allowed:
        messages.error(request, f"{check.reason} ({check.rule})")
        return redirect("biosafety:site-sign", public_id=site.public_id)
    response = HttpResponse(door_sign.door_sign_pdf(site), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="sign-{site.code}.pdf"'
    return response
