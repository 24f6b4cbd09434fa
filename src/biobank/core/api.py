"""Core endpoints of the HTTP API: the acting user, organizations, sites, obligations, audit,
rules and the working-day calendar."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from biobank.core import calendar, selectors, services
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Obligation, Organization, Site, User
from biobank.core.tenancy import has_permission_anywhere

router = Router()


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class MembershipOut(Schema):
    organization: str = Field(alias="organization.code")
    role: str


class MeOut(Schema):
    username: str
    display_name: str
    email: str
    memberships: list[MembershipOut]

    @staticmethod
    def resolve_memberships(obj: User) -> list[object]:
        return list(obj.memberships.filter(ended_at__isnull=True).select_related("organization"))


class OrganizationOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str
    staff_count: int


class SiteOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    code: str
    name: str
    kind: str
    containment: str
    location: str
    person_in_charge: str | None = None
    manager_name: str
    phone: str
    emergency_contact: str
    emergency_measures: str
    access_controlled: bool

    @staticmethod
    def resolve_person_in_charge(obj: Site) -> str | None:
        return str(obj.person_in_charge) if obj.person_in_charge else None


class ObligationOut(Schema):
    id: UUID = Field(alias="public_id")
    organization: str = Field(alias="organization.code")
    rule_id: str
    title: str
    due_at: datetime
    state: str = Field(alias="display_state")
    subject_type: str
    subject_id: str
    subject_repr: str
    responsible_role: str
    closed_at: datetime | None
    evidence: str
    waiver_reason: str


class EvidenceIn(Schema):
    evidence: str


class ReasonIn(Schema):
    reason: str


class AuditEventOut(Schema):
    sequence: int
    at: datetime
    actor: str = Field(alias="actor_username")
    organization: str | None = None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    hash: str

    @staticmethod
    def resolve_organization(obj: AuditEvent) -> str | None:
        return obj.organization.code if obj.organization else None


class AuditFilter(Schema):
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None
    object_type: str = ""
    action: str = ""
    organization: str = ""


class RuleOut(Schema):
    id: str
    title_zh: str
    title_en: str
    source: str
    article: str
    enforced_by: list[str]
    open_obligations: int


class DeadlineOut(Schema):
    start: date
    days: int
    working_days_deadline: date
    legal_deadline: date
    rule: str = "TD-01"


class WorkingDayOut(Schema):
    date: date
    is_working_day: bool
    rule: str = "TD-01"


@router.get("/me", response=MeOut, tags=["core"])
def me(request: HttpRequest) -> User:
    """The user the request is authenticated as, and their active memberships."""
    return _user(request)


@router.get("/organizations", response=list[OrganizationOut], tags=["core"])
def organization_list(request: HttpRequest) -> list[Organization]:
    return list(selectors.organization_list_for_user(request.user))


@router.get("/organizations/{code}", response=OrganizationOut, tags=["core"])
def organization_detail(request: HttpRequest, code: str) -> Organization:
    return selectors.organization_get_for_user(request.user, code)


@router.get("/organizations/{code}/sites", response=list[SiteOut], tags=["core"])
def organization_sites(request: HttpRequest, code: str) -> list[Site]:
    organization = selectors.organization_get_for_user(request.user, code)
    return list(selectors.site_list_for_user(request.user, organization=organization))


@router.get("/sites", response=list[SiteOut], tags=["core"])
@paginate(PageNumberPagination)
def site_list(request: HttpRequest) -> object:
    return selectors.site_list_for_user(request.user)


@router.get("/sites/{site_id}", response=SiteOut, tags=["core"])
def site_detail(request: HttpRequest, site_id: UUID) -> Site:
    return selectors.site_get_for_user(request.user, site_id)


@router.get("/obligations", response=list[ObligationOut], tags=["obligations"])
@paginate(PageNumberPagination)
def obligation_list(
    request: HttpRequest, state: str | None = None, rule_id: str | None = None
) -> object:
    """Obligations of the user's organizations; ``state`` is open, overdue, done or waived."""
    return selectors.obligation_list_for_user(request.user, state=state, rule_id=rule_id)


@router.get("/obligations/{obligation_id}", response=ObligationOut, tags=["obligations"])
def obligation_detail(request: HttpRequest, obligation_id: UUID) -> Obligation:
    return selectors.obligation_get_for_user(request.user, obligation_id)


@router.post("/obligations/{obligation_id}/close", response=ObligationOut, tags=["obligations"])
def obligation_close(request: HttpRequest, obligation_id: UUID, payload: EvidenceIn) -> Obligation:
    obligation = selectors.obligation_get_for_user(request.user, obligation_id)
    return services.obligation_close(
        actor=_user(request), obligation=obligation, evidence=payload.evidence
    )


@router.post("/obligations/{obligation_id}/waive", response=ObligationOut, tags=["obligations"])
def obligation_waive(request: HttpRequest, obligation_id: UUID, payload: ReasonIn) -> Obligation:
    obligation = selectors.obligation_get_for_user(request.user, obligation_id)
    return services.obligation_waive(
        actor=_user(request), obligation=obligation, reason=payload.reason
    )


@router.get("/audit/events", response=list[AuditEventOut], tags=["audit"])
@paginate(PageNumberPagination)
def audit_events(request: HttpRequest, filters: Query[AuditFilter]) -> object:
    """Audit events of the organizations where the user may read the audit trail."""
    if not has_permission_anywhere(request.user, "audit.view"):
        raise Http404("no audit access")
    return selectors.audit_search_for_user(request.user, selectors.AuditQuery(**filters.dict()))


@router.get("/rules", response=list[RuleOut], tags=["rules"])
def rule_list(request: HttpRequest) -> list[dict[str, object]]:
    return [
        {
            "id": row.rule.id,
            "title_zh": row.rule.title_zh,
            "title_en": row.rule.title_en,
            "source": row.rule.source,
            "article": row.rule.article,
            "enforced_by": row.enforced_by,
            "open_obligations": row.open_obligations,
        }
        for row in selectors.rule_list_for_user(request.user)
    ]


@router.get("/calendar/working-day", response=WorkingDayOut, tags=["calendar"])
def working_day(request: HttpRequest, day: date) -> dict[str, object]:
    """Whether a date is a working day on the Taiwan calendar (TD-01)."""
    return {"date": day, "is_working_day": calendar.is_working_day(day)}


@router.get("/calendar/deadline", response=DeadlineOut, tags=["calendar"])
def deadline(request: HttpRequest, start: date, days: int) -> dict[str, object]:
    """The deadline ``days`` after ``start``: counted in working days, and as a legal
    deadline in calendar days moved off days off (TD-01)."""
    if not 0 <= days <= 3650:
        raise ApplicationError("days must be between 0 and 3650", rule="TD-01")
    return {
        "start": start,
        "days": days,
        "working_days_deadline": calendar.add_working_days(start, days),
        "legal_deadline": calendar.legal_deadline(start, days),
    }
