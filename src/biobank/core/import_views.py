"""The bulk import pages: upload a file, watch its progress, read the outcome.

Thin: parse, call ``import_jobs``, render. The import itself runs in a background thread; the
job page polls ``progress.json`` (``static/biobank/import-progress.js``).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from biobank.core import import_jobs
from biobank.core.errors import ApplicationError
from biobank.core.importing import MAX_ERRORS_SHOWN, importers
from biobank.core.models import Organization
from biobank.core.pages import acting_user, refuse
from biobank.core.tenancy import organizations_of

RECENT_JOBS = 50


class ImportUploadForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.none()
    )
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or Big5) or Excel .xlsx, with a header row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    dry_run = forms.BooleanField(label=_("Dry run: check the file, write nothing"), required=False)

    def __init__(self, *args: Any, user: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every organization of the user: the service refuses a kind they may not import there.
        organization = self.fields["organization"]
        assert isinstance(organization, forms.ModelChoiceField)
        organization.queryset = organizations = organizations_of(user).order_by("code")
        if len(organizations) == 1:
            organization.initial = organizations[0]
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [(name, name) for name in kinds]


def _description(kind: str) -> SafeString:
    """The importer's docstring (else its module's), which names the columns it expects, as
    paragraphs, without the command line it starts with (``biobank import KIND FILE``: ...)."""
    importer = importers()[kind]
    text = inspect.getdoc(importer) or inspect.getdoc(inspect.getmodule(importer)) or ""
    text = re.sub(r"^``biobank import [^`]*``:\s*", "", text)
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    html = "".join(
        "<p>{}</p>".format(
            re.sub(r"``(.+?)``", r"<code>\1</code>", str(escape(p[:1].upper() + p[1:])))
        )
        for p in paragraphs
    )
    return mark_safe(html)  # escaped above; only <p> and <code> added


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    offered = import_jobs.import_offers_for_user(user)
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, user=user, kinds=[k for k, _o in offered]
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = import_jobs.job_start(
                actor=user,
                organization=data["organization"],
                kind=data["kind"],
                upload=data["file"],
                dry_run=data["dry_run"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            return redirect("core:import-detail", public_id=job.public_id)
    offers = [
        {"kind": kind, "organizations": organizations, "description": _description(kind)}
        for kind, organizations in offered
    ]
    return render(
        request,
        "core/imports/list.html",
        {
            "offers": offers,
            "form": form,
            "jobs": import_jobs.job_list_for_user(user)[:RECENT_JOBS],
        },
    )


@login_required
@require_GET
def import_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    job = import_jobs.job_get_for_user(request.user, public_id)
    progress = import_jobs.job_progress(job)
    return render(
        request,
        "core/imports/detail.html",
        {
            "job": job,
            "progress": progress,
            "shown": min(job.error_count, MAX_ERRORS_SHOWN),
            "problems": job.message.splitlines(),
        },
    )


@login_required
@require_GET
def import_progress(request: HttpRequest, public_id: str) -> JsonResponse:
    job = import_jobs.job_get_for_user(request.user, public_id)
    response = JsonResponse(import_jobs.job_progress(job))
    response["Cache-Control"] = "no-store"
    return response
