"""Reads for IRBs, narrowed to the user's organizations."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404

from biobank.core.tenancy import AnyUser, organizations_with_permission
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
