"""Read queries for pages and the API, always narrowed to what the acting user may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from biobank.core.models import AuditEvent, Membership, Obligation, Organization, Rule, Site
from biobank.core.rule_registry import enforced_by
from biobank.core.tenancy import (
    AnyUser,
    has_permission,
    organizations_of,
    organizations_with_permission,
)


def organization_list_for_user(user: AnyUser) -> QuerySet[Organization]:
    return organizations_of(user).order_by("code")


def organization_get_for_user(user: AnyUser, code: str) -> Organization:
    organization = organizations_of(user).filter(code=code).first()
    if organization is None:
        raise Http404("organization not found")
    return organization


def site_list_for_user(
    user: AnyUser, *, organization: Organization | None = None
) -> QuerySet[Site]:
    sites = Site.objects.filter(organization__in=organizations_of(user)).select_related(
        "organization", "person_in_charge"
    )
    if organization is not None:
        sites = sites.filter(organization=organization)
    return sites


def site_get_for_user(user: AnyUser, public_id: UUID | str) -> Site:
    site = site_list_for_user(user).filter(public_id=public_id).first()
    if site is None:
        raise Http404("site not found")
    return site


def membership_list_for_user(user: AnyUser, organization: Organization) -> QuerySet[Membership]:
    if organization not in organizations_of(user):
        raise Http404("organization not found")
    return Membership.objects.filter(organization=organization).select_related("user")


def membership_get_for_user(user: AnyUser, pk: int) -> Membership:
    membership = (
        Membership.objects.filter(pk=pk, organization__in=organizations_of(user))
        .select_related("user", "organization")
        .first()
    )
    if membership is None:
        raise Http404("membership not found")
    return membership


def obligation_list_for_user(
    user: AnyUser,
    *,
    state: str | None = None,
    rule_id: str | None = None,
    organization: Organization | None = None,
) -> QuerySet[Obligation]:
    obligations = Obligation.objects.filter(
        organization__in=organizations_with_permission(user, "obligation.view")
    ).select_related("organization", "assignee")
    now = timezone.now()
    if state == "overdue":
        obligations = obligations.filter(state=Obligation.State.OPEN, due_at__lt=now)
    elif state:
        obligations = obligations.filter(state=state)
    if rule_id:
        obligations = obligations.filter(rule_id=rule_id)
    if organization is not None:
        obligations = obligations.filter(organization=organization)
    return obligations


def obligation_get_for_user(user: AnyUser, public_id: UUID | str) -> Obligation:
    obligation = obligation_list_for_user(user).filter(public_id=public_id).first()
    if obligation is None:
        raise Http404("obligation not found")
    return obligation


@dataclass(frozen=True)
class Dashboard:
    overdue: list[Obligation]
    due_soon: list[Obligation]


def obligation_dashboard(user: AnyUser, *, days: int = 7) -> Dashboard:
    """Open obligations that are overdue, and those due within ``days``."""
    now = timezone.now()
    open_items = obligation_list_for_user(user, state=Obligation.State.OPEN).filter(
        due_at__lte=now + timedelta(days=days)
    )
    items = list(open_items.order_by("due_at"))
    return Dashboard(
        overdue=[item for item in items if item.due_at < now],
        due_soon=[item for item in items if item.due_at >= now],
    )


def audit_history_for_user(
    user: AnyUser, instance: Any, *, parts: QuerySet[Any] | None = None, limit: int = 200
) -> QuerySet[AuditEvent]:
    """The history of one record, and of ``parts`` shown on its page (an organization's
    memberships). The caller has already checked that the record is visible to ``user``."""
    condition = Q(object_type=instance._meta.label_lower, object_id=str(instance.pk))
    if parts is not None:
        condition |= Q(
            object_type=parts.model._meta.label_lower,
            object_id__in=[str(pk) for pk in parts.values_list("pk", flat=True)],
        )
    return (
        AuditEvent.objects.filter(condition).select_related("actor").order_by("-sequence")[:limit]
    )


@dataclass
class AuditQuery:
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None
    object_type: str = ""
    action: str = ""
    organization: str = ""


def audit_search_for_user(user: AnyUser, query: AuditQuery) -> QuerySet[AuditEvent]:
    """Audit events of the organizations where the user may read the audit trail."""
    events = AuditEvent.objects.filter(
        organization__in=organizations_with_permission(user, "audit.view")
    ).select_related("actor", "organization")
    if query.actor:
        events = events.filter(
            Q(actor_username__iexact=query.actor) | Q(actor__display_name__icontains=query.actor)
        )
    tz = timezone.get_current_timezone()
    if query.date_from:
        events = events.filter(at__gte=datetime.combine(query.date_from, time.min, tzinfo=tz))
    if query.date_to:
        events = events.filter(
            at__lt=datetime.combine(query.date_to + timedelta(days=1), time.min, tzinfo=tz)
        )
    if query.object_type:
        events = events.filter(object_type=query.object_type)
    if query.action:
        events = events.filter(action=query.action)
    if query.organization:
        events = events.filter(organization__code=query.organization)
    return events.order_by("-sequence")


def audit_object_types() -> list[str]:
    return list(
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    enforced_by: list[str]
    open_obligations: int


def rule_list_for_user(user: AnyUser) -> list[RuleRow]:
    """Every rule, where the code enforces it, and the user's organizations' open obligations."""
    counts = dict(
        obligation_list_for_user(user, state=Obligation.State.OPEN)
        .values("rule_id")
        .annotate(n=Count("id"))
        .values_list("rule_id", "n")
    )
    where = enforced_by()
    return [
        RuleRow(
            rule=rule, enforced_by=where.get(rule.id, []), open_obligations=counts.get(rule.id, 0)
        )
        for rule in Rule.objects.all()
    ]


def can(user: AnyUser, permission: str, organization: Organization) -> bool:
    return has_permission(user, permission, organization)
