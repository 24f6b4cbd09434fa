"""Reads for participants and consent, narrowed to the user's organizations."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404

from biobank.core.models import Organization
from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.participants.identity_numbers import validate_national_id
from biobank.participants.models import (
    Consent,
    ConsentForm,
    IdentityRecord,
    Participant,
    ReidentificationRequest,
)
from biobank.participants.vault import get_vault


def participant_list_for_user(user: AnyUser, *, query: str = "") -> QuerySet[Participant]:
    """Participants by code; a query that is a valid national ID also finds by keyed hash."""
    participants = Participant.objects.filter(
        organization__in=organizations_with_permission(user, "participant.view")
    ).select_related("organization")
    query = query.strip()
    if not query:
        return participants
    condition = Q(code__icontains=query)
    try:
        national_id = validate_national_id(query).value
    except ValueError:
        pass
    else:
        lookup = get_vault().lookup_hash(national_id)
        condition |= Q(
            pk__in=IdentityRecord.objects.filter(national_id_hash=lookup).values("participant_id")
        )
    return participants.filter(condition)


def participant_get_for_user(user: AnyUser, public_id: UUID | str) -> Participant:
    participant = participant_list_for_user(user).filter(public_id=public_id).first()
    if participant is None:
        raise Http404("participant not found")
    return participant


def participant_get_by_code_for_user(
    user: AnyUser, organization: Organization, code: str
) -> Participant:
    participant = (
        participant_list_for_user(user).filter(organization=organization, code=code).first()
    )
    if participant is None:
        raise Http404("participant not found")
    return participant


def consent_form_list_for_user(user: AnyUser) -> QuerySet[ConsentForm]:
    return ConsentForm.objects.filter(
        organization__in=organizations_with_permission(user, "participant.view")
    ).prefetch_related("permissions", "modifiers")


def consent_form_get_for_user(user: AnyUser, public_id: UUID | str) -> ConsentForm:
    form = consent_form_list_for_user(user).filter(public_id=public_id).first()
    if form is None:
        raise Http404("consent form not found")
    return form


def consent_list_for_user(
    user: AnyUser, participant: Participant | None = None
) -> QuerySet[Consent]:
    consents = (
        Consent.objects.filter(
            participant__organization__in=organizations_with_permission(user, "participant.view")
        )
        .select_related("participant", "form")
        .prefetch_related("permissions", "modifiers")
    )
    if participant is not None:
        consents = consents.filter(participant=participant)
    return consents


def consent_get_for_user(user: AnyUser, public_id: UUID | str) -> Consent:
    consent = consent_list_for_user(user).filter(public_id=public_id).first()
    if consent is None:
        raise Http404("consent not found")
    return consent


def reidentification_list_for_user(user: AnyUser) -> QuerySet[ReidentificationRequest]:
    """Requests the user made, and those the user may decide."""
    if not user.is_authenticated:
        return ReidentificationRequest.objects.none()
    approvable = organizations_with_permission(user, "identity.approve")
    visible = organizations_with_permission(user, "identity.request")
    return ReidentificationRequest.objects.filter(
        Q(participant__organization__in=approvable)
        | Q(participant__organization__in=visible, requester=user)
    ).select_related("participant", "requester", "decided_by")


def reidentification_get_for_user(user: AnyUser, public_id: UUID | str) -> ReidentificationRequest:
    request = reidentification_list_for_user(user).filter(public_id=public_id).first()
    if request is None:
        raise Http404("request not found")
    return request
