"""Reads for IRBs, narrowed to the user's organizations."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404

from biobank.core.models import Organization
from biobank.core.retention import Purgeable
from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.ethics import rules
from biobank.ethics.models import (
    IRB,
    AuditCampaign,
    Complaint,
    IRBAudit,
    Meeting,
    Protocol,
    Submission,
)


def irb_list_for_user(user: AnyUser) -> QuerySet[IRB]:
    return IRB.objects.filter(
        organization__in=organizations_with_permission(user, "irb.view")
    ).select_related("organization")


def irb_get_for_user(user: AnyUser, public_id: UUID | str) -> IRB:
    irb = irb_list_for_user(user).filter(public_id=public_id).prefetch_related("members").first()
    if irb is None:
        raise Http404("IRB not found")
    return irb


def protocol_list_for_user(user: AnyUser) -> QuerySet[Protocol]:
    return Protocol.objects.filter(
        irb__organization__in=organizations_with_permission(user, "irb.view")
    ).select_related("irb", "irb__organization")


def protocol_get_for_user(user: AnyUser, public_id: UUID | str) -> Protocol:
    protocol = protocol_list_for_user(user).filter(public_id=public_id).first()
    if protocol is None:
        raise Http404("protocol not found")
    return protocol


def submission_get_for_user(user: AnyUser, public_id: UUID | str) -> Submission:
    submission = (
        Submission.objects.filter(
            public_id=public_id,
            protocol__irb__organization__in=organizations_with_permission(user, "irb.view"),
        )
        .select_related("protocol", "protocol__irb", "protocol__irb__organization")
        .first()
    )
    if submission is None:
        raise Http404("submission not found")
    return submission


def meeting_get_for_user(user: AnyUser, public_id: UUID | str) -> Meeting:
    meeting = (
        Meeting.objects.filter(
            public_id=public_id,
            irb__organization__in=organizations_with_permission(user, "irb.view"),
        )
        .select_related("irb", "irb__organization")
        .first()
    )
    if meeting is None:
        raise Http404("meeting not found")
    return meeting


def complaint_get_for_user(user: AnyUser, public_id: UUID | str) -> Complaint:
    complaint = (
        Complaint.objects.filter(
            public_id=public_id,
            irb__organization__in=organizations_with_permission(user, "irb.view"),
        )
        .select_related("irb", "irb__organization", "protocol")
        .first()
    )
    if complaint is None:
        raise Http404("complaint not found")
    return complaint


def campaign_list_for_user(user: AnyUser) -> QuerySet[AuditCampaign]:
    return AuditCampaign.objects.filter(
        organization__in=organizations_with_permission(user, "irb_audit.view")
    ).select_related("organization")


def campaign_get_for_user(user: AnyUser, public_id: UUID | str) -> AuditCampaign:
    campaign = campaign_list_for_user(user).filter(public_id=public_id).first()
    if campaign is None:
        raise Http404("campaign not found")
    return campaign


def audit_get_for_user(user: AnyUser, public_id: UUID | str) -> IRBAudit:
    audit = (
        IRBAudit.objects.filter(
            public_id=public_id,
            campaign__organization__in=organizations_with_permission(user, "irb_audit.view"),
        )
        .select_related("campaign", "campaign__organization", "irb")
        .first()
    )
    if audit is None:
        raise Http404("audit not found")
    return audit


def irb_audit_list_for_user(user: AnyUser, irb: IRB) -> QuerySet[IRBAudit]:
    """The audits of the user's own IRB (reached through ``irb_get_for_user``), whichever body
    ran them: the IRB sees its own audits across the organizations (作業程序 九)."""
    allowed = irb_list_for_user(user).filter(pk=irb.pk)
    return (
        IRBAudit.objects.filter(irb__in=allowed)
        .select_related("campaign", "campaign__organization", "irb", "irb__organization")
        .order_by("-campaign__year", "audit_type")
    )


def irb_audit_get_for_user(user: AnyUser, irb: IRB, public_id: UUID | str) -> IRBAudit:
    audit = irb_audit_list_for_user(user, irb).filter(public_id=public_id).first()
    if audit is None:
        raise Http404("audit not found")
    return audit


def past_audits(organization: Organization, *, year: int) -> list[rules.PastAudit]:
    """The consolidated ratings of the body's announced audits of the 4 campaign years before
    ``year``, as plain data for ``rules.common_findings_for`` (EC-07)."""
    rows = IRBAudit.objects.filter(
        campaign__organization=organization,
        state=IRBAudit.State.ANNOUNCED,
        campaign__year__gte=year - rules.FOLLOWUP_COMMON_YEARS,
        campaign__year__lt=year,
    ).values_list("campaign__year", "audit_type", "consolidated")
    return [rules.PastAudit(y, kind, dict(ratings or {})) for y, kind, ratings in rows]


def meeting_list_for_user(user: AnyUser, irb: IRB | None = None) -> QuerySet[Meeting]:
    meetings = Meeting.objects.filter(
        irb__organization__in=organizations_with_permission(user, "irb.view")
    ).select_related("irb")
    return meetings if irb is None else meetings.filter(irb=irb)


def audit_list_for_campaign(campaign: AuditCampaign) -> QuerySet[IRBAudit]:
    """The audits of a campaign the caller already reached through ``campaign_get_for_user``."""
    return campaign.audits.select_related("irb", "irb__organization").order_by(
        "irb__code", "audit_type"
    )


def ethics_purgeable(as_of: date, organization: Organization | None = None) -> list[Purgeable]:
    """Protocols whose files were kept until before ``as_of``: the project ended more than 3
    years ago (EC-10, criterion 5.2). Listed by ``biobank retention`` (registered in
    ``apps.py``), which runs as the system, so this is not narrowed to a user; never deleted."""
    protocols = Protocol.objects.filter(retention_until__lt=as_of).select_related(
        "irb", "irb__organization"
    )
    if organization is not None:
        protocols = protocols.filter(irb__organization=organization)
    return [
        Purgeable(
            organization=p.irb.organization.code,
            kind="ethics.protocol",
            id=str(p.public_id),
            label=f"{p.irb.code} {p.code} {p.title}"[:200],
            kept_until=p.retention_until,
            rule="EC-10",
        )
        for p in protocols
        if p.retention_until is not None
    ]
