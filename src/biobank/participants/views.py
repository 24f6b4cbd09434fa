"""Pages for participants, consent, withdrawal and re-identification."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from biobank.core.audit import audit_record
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent
from biobank.core.pages import acting_user, refuse
from biobank.core.selectors import audit_history_for_user
from biobank.core.tenancy import has_permission, organizations_with_permission
from biobank.participants import selectors, services
from biobank.participants.forms import (
    ConsentEntryForm,
    ConsentFormForm,
    DecisionForm,
    NarrowingForm,
    ParticipantForm,
    ReidentificationForm,
    WithdrawalForm,
)
from biobank.participants.identity_numbers import is_valid_national_id
from biobank.participants.models import Consent, ConsentForm, DuoTerm, IdentityRecord
from biobank.participants.vault import Identity


@login_required
def participant_list(request: HttpRequest) -> HttpResponse:
    # the form posts, so a national ID typed into it stays out of URLs and access logs (HB-01)
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()
    participants = selectors.participant_list_for_user(request.user, query=query)
    page = Paginator(participants, 50).get_page(request.GET.get("page"))
    shareable = query and not is_valid_national_id(query)
    return render(
        request,
        "participants/participant_list.html",
        {
            "page": page,
            "q": query if shareable else "",
            "querystring": urlencode({"q": query}) if shareable else "",
            "can_register": organizations_with_permission(
                request.user, "participant.manage"
            ).exists(),
        },
    )


@login_required
def participant_create(request: HttpRequest) -> HttpResponse:
    organizations = organizations_with_permission(request.user, "participant.manage")
    organization = organizations.first()
    if organization is None:
        raise Http404("no organization where the user registers participants")
    form = ParticipantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        identity = Identity(
            name=data["name"],
            national_id=data["national_id"],
            birth_date=data["birth_date"].isoformat() if data["birth_date"] else "",
            phone=data["phone"],
            email=data["email"],
            address=data["address"],
        )
        try:
            participant = services.participant_register(
                actor=acting_user(request),
                organization=organization,
                code=data["code"],
                sex=data["sex"],
                identity=identity
                if any(
                    [
                        identity.name,
                        identity.national_id,
                        identity.birth_date,
                        identity.phone,
                        identity.email,
                        identity.address,
                    ]
                )
                else None,
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Participant %s registered.") % participant.code)
            return redirect("participants:participant-detail", public_id=participant.public_id)
    return render(
        request,
        "participants/form.html",
        {"form": form, "title": _("Register a participant"), "organization": organization},
    )


@login_required
def participant_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    participant = selectors.participant_get_for_user(request.user, public_id)
    organization = participant.organization
    consents = selectors.consent_list_for_user(request.user, participant)
    requests = participant.reidentification_requests.select_related("requester", "decided_by")
    my_open = [r for r in requests if r.requester_id == request.user.pk and r.is_open]
    return render(
        request,
        "participants/participant_detail.html",
        {
            "participant": participant,
            "consents": consents,
            "has_identity": IdentityRecord.objects.filter(participant=participant).exists(),
            "requests": requests,
            "my_open_request": my_open[0] if my_open else None,
            "history": audit_history_for_user(request.user, participant, parts=consents),
            "specimens": participant.specimens.select_related("material_type").order_by("barcode")[
                :200
            ]
            if has_permission(request.user, "specimen.view", organization)
            else [],
            "can_record": has_permission(request.user, "consent.record", organization),
            "can_withdraw": has_permission(request.user, "consent.withdraw", organization),
            "can_delink": has_permission(request.user, "participant.delink", organization),
            "can_request": has_permission(request.user, "identity.request", organization),
        },
    )


@login_required
def consent_create(request: HttpRequest, public_id: str) -> HttpResponse:
    participant = selectors.participant_get_for_user(request.user, public_id)
    forms_queryset = selectors.consent_form_list_for_user(request.user).filter(
        organization=participant.organization, is_active=True
    )
    form = ConsentEntryForm(
        request.POST or None, request.FILES or None, forms_queryset=forms_queryset
    )
    # offer only the uses some form in use offers; the service checks the chosen form's own
    form.fields["permissions"].queryset = DuoTerm.objects.filter(  # type: ignore[attr-defined]
        pk__in=ConsentForm.permissions.through.objects.filter(
            consentform__in=forms_queryset
        ).values("duoterm_id")
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(
                actor=acting_user(request),
                participant=participant,
                form=data["form"],
                signed_on=data["signed_on"],
                capacity=data["capacity"],
                signed_by=data["signed_by"],
                representative_relation=data["representative_relation"],
                permissions=[t.id for t in data["permissions"]],
                modifiers=[t.id for t in data["modifiers"]],
                diseases=[d for d in data["diseases"].split(",") if d.strip()],
                commercial_use=data["commercial_use"],
                nhi_linkage=data["nhi_linkage"],
                after_death=data["after_death"],
                recontact=data["recontact"],
                document=data["document"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect("participants:participant-detail", public_id=participant.public_id)
    return render(
        request,
        "participants/form.html",
        {
            "form": form,
            "title": _("Record consent of %s") % participant.code,
            "participant": participant,
            "multipart": True,
        },
    )


@login_required
def participant_withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    """The withdrawal flow (HB-03): the effects are shown before the user confirms."""
    participant = selectors.participant_get_for_user(request.user, public_id)
    form = WithdrawalForm(request.POST or None, initial={"on": timezone.localdate()})
    kept = form.kept() if form.is_bound and form.is_valid() else []
    effects = services.withdrawal_preview(participant, kept)
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") == "yes":
        try:
            services.consent_withdraw(
                actor=acting_user(request),
                participant=participant,
                on=form.cleaned_data["on"],
                kept_by_agreement=kept,
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Withdrawal recorded; obligations opened."))
            return redirect("participants:participant-detail", public_id=participant.public_id)
    return render(
        request,
        "participants/withdraw.html",
        {"participant": participant, "form": form, "effects": effects},
    )


@login_required
def participant_delink(request: HttpRequest, public_id: str) -> HttpResponse:
    participant = selectors.participant_get_for_user(request.user, public_id)
    if request.method == "POST":
        try:
            services.participant_delink(
                actor=acting_user(request),
                participant=participant,
                reason=request.POST.get("reason", ""),
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Participant delinked: identity removed for good."))
            return redirect("participants:participant-detail", public_id=participant.public_id)
    return render(request, "participants/delink.html", {"participant": participant})


@login_required
def reidentification_create(request: HttpRequest, public_id: str) -> HttpResponse:
    participant = selectors.participant_get_for_user(request.user, public_id)
    form = ReidentificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reidentification_request(
                actor=acting_user(request),
                participant=participant,
                reason=form.cleaned_data["reason"],
                hours=form.cleaned_data["hours"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Request sent for approval."))
            return redirect("participants:participant-detail", public_id=participant.public_id)
    return render(
        request,
        "participants/form.html",
        {
            "form": form,
            "title": _("Request the identity of %s") % participant.code,
            "participant": participant,
        },
    )


@login_required
def identity_view(request: HttpRequest, public_id: str) -> HttpResponse:
    participant = selectors.participant_get_for_user(request.user, public_id)
    try:
        identity = services.identity_reveal(actor=acting_user(request), participant=participant)
    except ApplicationError as error:
        refuse(request, error)
        return redirect("participants:participant-detail", public_id=participant.public_id)
    response = render(
        request, "participants/identity.html", {"participant": participant, "identity": identity}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def reidentification_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "participants/reidentification_list.html",
        {"requests": selectors.reidentification_list_for_user(request.user)[:200]},
    )


@login_required
@require_POST
def reidentification_decide(request: HttpRequest, public_id: str) -> HttpResponse:
    item = selectors.reidentification_get_for_user(request.user, public_id)
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        services.reidentification_decide(
            actor=acting_user(request),
            request=item,
            approve=request.POST.get("decision") == "approve",
            note=form.cleaned_data.get("note", ""),
        )
    except ApplicationError as error:
        refuse(request, error)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("participants:reidentification-list")


@login_required
def consent_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    consent = selectors.consent_get_for_user(request.user, public_id)
    organization = consent.participant.organization
    can_narrow = has_permission(
        request.user, "consent.withdraw", organization
    ) and consent.state in {Consent.State.ACTIVE, Consent.State.NARROWED}
    form = NarrowingForm(
        request.POST or None,
        consent=consent,
        initial={
            "on": timezone.localdate(),
            "permissions": list(consent.permissions.all()),
            "commercial_use": consent.commercial_use,
            "nhi_linkage": consent.nhi_linkage,
            "after_death": consent.after_death,
        },
    )
    if request.method == "POST" and can_narrow and form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_narrow(
                actor=acting_user(request),
                consent=consent,
                on=data["on"],
                permissions=[t.id for t in data["permissions"]],
                commercial_use=data["commercial_use"],
                nhi_linkage=data["nhi_linkage"],
                after_death=data["after_death"],
                note=data["note"],
            )
        except ApplicationError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Consent narrowed."))
            return redirect("participants:consent-detail", public_id=consent.public_id)
    return render(
        request,
        "participants/consent_detail.html",
        {
            "consent": consent,
            "changes": consent.changes.all(),
            "history": audit_history_for_user(request.user, consent),
            "form": form if can_narrow else None,
        },
    )


@login_required
def consent_document(request: HttpRequest, public_id: str) -> FileResponse:
    consent = selectors.consent_get_for_user(request.user, public_id)
    if not consent.document:
        raise Http404("no document")
    audit_record(
        actor=acting_user(request),
        action=AuditEvent.Action.VIEW,
        organization=consent.participant.organization,
        instance=consent,
        object_repr=f"signed consent document of {consent.participant.code}",
    )
    return FileResponse(consent.document.open("rb"), as_attachment=True)


@login_required
def consent_form_list(request: HttpRequest) -> HttpResponse:
    organizations = organizations_with_permission(request.user, "consent_form.manage")
    form = ConsentFormForm(request.POST or None)
    if request.method == "POST":
        organization = organizations.first()
        if organization is None:
            raise Http404("no organization where the user manages consent forms")
        if form.is_valid():
            data: dict[str, Any] = dict(form.cleaned_data)
            data["permissions"] = [t.id for t in data["permissions"]]
            data["modifiers"] = [t.id for t in data["modifiers"]]
            try:
                services.consent_form_create(
                    actor=acting_user(request), organization=organization, **data
                )
            except ApplicationError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Consent form registered."))
                return redirect("participants:consent-form-list")
    return render(
        request,
        "participants/consent_form_list.html",
        {
            "consent_forms": selectors.consent_form_list_for_user(request.user),
            "form": form if organizations.exists() else None,
        },
    )
