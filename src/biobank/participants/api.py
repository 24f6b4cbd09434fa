"""Participants and consent in the HTTP API. Identity appears only in ``/identity``, and only
through an approved re-identification request (HB-01)."""

from datetime import date, datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from biobank.core.models import User
from biobank.participants import rules, selectors, services
from biobank.participants.models import Consent, Participant

router = Router(tags=["participants"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ParticipantOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    code: str
    sex: str
    birth_year: int | None
    status: str


class ParticipantIn(Schema):
    organization: str
    code: str = ""
    sex: str = "U"
    birth_year: int | None = None


class ConsentOut(Schema):
    id: UUID = Field(alias="public_id")
    participant: str = Field(alias="participant.code")
    form: str
    signed_on: date
    capacity: str
    signed_by: str
    permissions: list[str]
    modifiers: list[str]
    diseases: list[str]
    commercial_use: bool
    nhi_linkage: bool
    after_death: bool
    recontact: bool
    valid_until: date
    state: str
    document_sha256: str

    @staticmethod
    def resolve_form(obj: Consent) -> str:
        return f"{obj.form.code} v{obj.form.version}"

    @staticmethod
    def resolve_permissions(obj: Consent) -> list[str]:
        return sorted(t.id for t in obj.permissions.all())

    @staticmethod
    def resolve_modifiers(obj: Consent) -> list[str]:
        return sorted(t.id for t in obj.modifiers.all())


class UseIn(Schema):
    purposes: list[str]
    on: date
    diseases: list[str] = []
    commercial: bool = False
    nhi_linkage: bool = False
    irb_approved: bool = True
    genetic_study: bool = False


class DecisionOut(Schema):
    allowed: bool
    reason: str
    rule: str
    conditions: list[str]


class ReidentificationIn(Schema):
    reason: str
    hours: int = 24


class ReidentificationOut(Schema):
    id: UUID = Field(alias="public_id")
    participant: str = Field(alias="participant.code")
    requester: str = Field(alias="requester.username")
    reason: str
    hours: int
    state: str = Field(alias="display_state")
    expires_at: datetime | None


class IdentityOut(Schema):
    name: str
    national_id: str
    birth_date: str
    phone: str
    email: str
    address: str


@router.get("/participants", response=list[ParticipantOut])
@paginate(PageNumberPagination)
def participant_list(request: HttpRequest, q: str = "") -> object:
    """Participants by code; ``q`` matches a code, or finds a national ID by keyed hash."""
    return selectors.participant_list_for_user(request.user, query=q)


@router.post("/participants", response={201: ParticipantOut})
def participant_create(request: HttpRequest, payload: ParticipantIn) -> Status:
    from biobank.core.selectors import organization_get_for_user

    organization = organization_get_for_user(request.user, payload.organization)
    participant = services.participant_register(
        actor=_user(request),
        organization=organization,
        code=payload.code,
        sex=payload.sex,
        birth_year=payload.birth_year,
    )
    return Status(201, participant)


@router.get("/participants/{participant_id}", response=ParticipantOut)
def participant_detail(request: HttpRequest, participant_id: UUID) -> Participant:
    return selectors.participant_get_for_user(request.user, participant_id)


@router.get("/participants/{participant_id}/consents", response=list[ConsentOut])
def participant_consents(request: HttpRequest, participant_id: UUID) -> list[Consent]:
    participant = selectors.participant_get_for_user(request.user, participant_id)
    return list(selectors.consent_list_for_user(request.user, participant))


@router.post("/participants/{participant_id}/use-check", response=DecisionOut)
def participant_use_check(
    request: HttpRequest, participant_id: UUID, payload: UseIn
) -> dict[str, object]:
    """Whether the participant's current consent permits a proposed use (HB-04)."""
    participant = selectors.participant_get_for_user(request.user, participant_id)
    decision = services.consent_check_use(
        participant,
        rules.ProposedUse(
            purposes=frozenset(payload.purposes),
            on=payload.on,
            diseases=frozenset(payload.diseases),
            commercial=payload.commercial,
            nhi_linkage=payload.nhi_linkage,
            participant_deceased=participant.status == Participant.Status.DECEASED,
            irb_approved=payload.irb_approved,
            genetic_study=payload.genetic_study,
        ),
    )
    return {
        "allowed": decision.allowed,
        "reason": decision.reason,
        "rule": decision.rule,
        "conditions": list(decision.conditions),
    }


@router.post("/participants/{participant_id}/reidentification", response={201: ReidentificationOut})
def reidentification_create(
    request: HttpRequest, participant_id: UUID, payload: ReidentificationIn
) -> Status:
    participant = selectors.participant_get_for_user(request.user, participant_id)
    item = services.reidentification_request(
        actor=_user(request), participant=participant, reason=payload.reason, hours=payload.hours
    )
    return Status(201, item)


@router.get("/participants/{participant_id}/identity", response=IdentityOut)
def identity(request: HttpRequest, participant_id: UUID) -> object:
    """The identity, only for the holder of an approved, unexpired request (audited)."""
    participant = selectors.participant_get_for_user(request.user, participant_id)
    return services.identity_reveal(actor=_user(request), participant=participant)


@router.get("/consents/{consent_id}", response=ConsentOut)
def consent_detail(request: HttpRequest, consent_id: UUID) -> Consent:
    return selectors.consent_get_for_user(request.user, consent_id)
