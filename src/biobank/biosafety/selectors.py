"""Reads for biosafety, narrowed to the organizations where the user holds ``biosafety.view``.
The shared agent catalogue is visible to everyone signed in."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from biobank.biosafety.models import (
    Agent,
    Anomaly,
    Approval,
    Committee,
    CommitteeDecision,
    Destruction,
    Drill,
    EmergencyPlan,
    Incident,
    InfectiousMaterial,
    InventoryCheck,
    LabWorker,
    Meeting,
)
from biobank.core.models import Obligation, Organization, Site
from biobank.core.tenancy import AnyUser, organizations_with_permission

M = TypeVar("M", bound=models.Model)


def organizations_viewing(user: AnyUser) -> QuerySet[Organization]:
    return organizations_with_permission(user, "biosafety.view")


def _one(queryset: QuerySet[M], public_id: Any, what: str) -> M:
    try:
        UUID(str(public_id))
    except ValueError:
        raise Http404(f"{what} not found") from None
    found = queryset.filter(public_id=public_id).first()
    if found is None:
        raise Http404(f"{what} not found")
    return found


def agent_list_for_user(user: AnyUser) -> QuerySet[Agent]:
    if not user.is_authenticated:
        return Agent.objects.none()
    return Agent.objects.filter(
        Q(organization__isnull=True) | Q(organization__in=organizations_viewing(user))
    ).select_related("organization")


def agent_get_for_user(user: AnyUser, public_id: UUID | str) -> Agent:
    return _one(agent_list_for_user(user), public_id, "agent")


def material_list_for_user(user: AnyUser) -> QuerySet[InfectiousMaterial]:
    return InfectiousMaterial.objects.filter(
        organization__in=organizations_viewing(user)
    ).select_related("organization", "agent", "site", "storage_unit", "specimen")


def material_get_for_user(user: AnyUser, public_id: UUID | str) -> InfectiousMaterial:
    return _one(material_list_for_user(user), public_id, "material")


def committee_list_for_user(user: AnyUser) -> QuerySet[Committee]:
    return Committee.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization"
    )


def committee_get_for_user(user: AnyUser, public_id: UUID | str) -> Committee:
    return _one(committee_list_for_user(user), public_id, "committee")


def approval_list_for_user(user: AnyUser) -> QuerySet[Approval]:
    return Approval.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "material__agent", "site"
    )


def approval_get_for_user(user: AnyUser, public_id: UUID | str) -> Approval:
    return _one(approval_list_for_user(user), public_id, "approval")


def obligations_of(subject: models.Model) -> QuerySet[Obligation]:
    return Obligation.objects.filter(
        subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
    ).order_by("due_at", "pk")


def inventory_list_for_user(user: AnyUser) -> QuerySet[InventoryCheck]:
    return InventoryCheck.objects.filter(
        organization__in=organizations_viewing(user)
    ).select_related("organization", "site", "checker")


def inventory_get_for_user(user: AnyUser, public_id: UUID | str) -> InventoryCheck:
    return _one(inventory_list_for_user(user), public_id, "inventory")


def anomaly_list_for_user(user: AnyUser) -> QuerySet[Anomaly]:
    return Anomaly.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "material__agent", "inventory__site"
    )


def anomaly_get_for_user(user: AnyUser, public_id: UUID | str) -> Anomaly:
    return _one(anomaly_list_for_user(user), public_id, "anomaly")


BIOSAFETY_RULE = Q(rule_id__startswith="BS-") | Q(rule_id__startswith="HP-")


def obligations_for_user(user: AnyUser) -> QuerySet[Obligation]:
    """Open biosafety obligations (BS and HP rules), soonest first: the dashboard's clocks."""
    return (
        Obligation.objects.filter(organization__in=organizations_viewing(user), state="open")
        .filter(BIOSAFETY_RULE)
        .select_related("organization")
        .order_by("due_at", "pk")
    )


def inventory_status_for_user(user: AnyUser) -> list[dict[str, Any]]:
    """Per site holding class 1 material: the last inventory and when the next is due."""
    materials = material_list_for_user(user).filter(
        material_class=1, status__in=["held", "suspended", "sealed"]
    )
    pairs = sorted({(m.site, m.regime) for m in materials}, key=lambda p: (p[0].code, p[1]))
    rows = []
    for site, regime in pairs:
        last = (
            InventoryCheck.objects.filter(site=site, regime=regime)
            .order_by("-started_on", "-pk")
            .first()
        )
        rows.append({"site": site, "regime": regime, "last": last})
    return rows


def incident_list_for_user(user: AnyUser) -> QuerySet[Incident]:
    return Incident.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "site"
    )


def incident_get_for_user(user: AnyUser, public_id: UUID | str) -> Incident:
    return _one(incident_list_for_user(user), public_id, "incident")


def worker_list_for_user(user: AnyUser) -> QuerySet[LabWorker]:
    return (
        LabWorker.objects.filter(organization__in=organizations_viewing(user))
        .select_related("organization", "user")
        .prefetch_related("records", "assignments__site")
    )


def worker_get_for_user(user: AnyUser, public_id: UUID | str) -> LabWorker:
    return _one(worker_list_for_user(user), public_id, "worker")


def plan_list_for_user(user: AnyUser) -> QuerySet[EmergencyPlan]:
    return EmergencyPlan.objects.filter(
        organization__in=organizations_viewing(user)
    ).select_related("organization")


def plan_get_for_user(user: AnyUser, public_id: UUID | str) -> EmergencyPlan:
    return _one(plan_list_for_user(user), public_id, "plan")


def drill_list_for_user(user: AnyUser) -> QuerySet[Drill]:
    return Drill.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "plan", "site"
    )


def drill_obligations_for_user(user: AnyUser) -> QuerySet[Obligation]:
    """Open obligations of the drills due (BS-12, HP-05), soonest first."""
    return Obligation.objects.filter(
        organization__in=organizations_viewing(user),
        state="open",
        subject_type="biosafety.drills",
    ).order_by("due_at", "pk")


def destruction_list_for_user(user: AnyUser) -> QuerySet[Destruction]:
    return Destruction.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "material__agent", "incident"
    )


def site_list_for_user(user: AnyUser) -> QuerySet[Site]:
    return Site.objects.filter(organization__in=organizations_viewing(user)).select_related(
        "organization", "person_in_charge"
    )


def site_get_for_user(user: AnyUser, public_id: UUID | str) -> Site:
    return _one(site_list_for_user(user), public_id, "site")


def meeting_list_for_user(user: AnyUser) -> QuerySet[Meeting]:
    decisions = CommitteeDecision.objects.select_related(
        "approval__material", "approval__site", "material", "incident", "plan"
    )
    return (
        Meeting.objects.filter(organization__in=organizations_viewing(user))
        .select_related("organization", "committee")
        .prefetch_related("attendees", Prefetch("decisions", queryset=decisions))
    )


def meeting_get_for_user(user: AnyUser, public_id: UUID | str) -> Meeting:
    return _one(meeting_list_for_user(user), public_id, "meeting")


def decision_list_for_user(user: AnyUser) -> QuerySet[CommitteeDecision]:
    return CommitteeDecision.objects.filter(
        organization__in=organizations_viewing(user)
    ).select_related(
        "organization", "meeting__committee", "approval", "material", "incident", "plan"
    )


def decision_get_for_user(user: AnyUser, public_id: UUID | str) -> CommitteeDecision:
    return _one(decision_list_for_user(user), public_id, "decision")


def purgeable_record_get_for_user(user: AnyUser, kind: str, record_id: str) -> models.Model:
    """A biosafety record kept for a period (``services.retention.KINDS``) of an organization
    where the user may purge (``biosafety.manage``); 404 otherwise."""
    from biobank.biosafety.services.retention import kind_model

    model = kind_model(kind)
    if model is None or not str(record_id).isdigit():
        raise Http404("record not found")
    found = model._default_manager.filter(
        pk=int(record_id),
        organization__in=organizations_with_permission(user, "biosafety.manage"),
    ).first()
    if found is None:
        raise Http404("record not found")
    return found
