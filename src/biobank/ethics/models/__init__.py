"""The ethics app's tables: the committee, reviews, records of the IRB, the MOHW audit."""

from biobank.ethics.models.campaigns import (
    AuditAppeal,
    AuditCampaign,
    AuditorAssignment,
    FollowUpDraw,
    IRBAudit,
)
from biobank.ethics.models.committee import IRB, AuditCriterion, IRBMember, SelfAssessment
from biobank.ethics.models.records import (
    Complaint,
    MemberDeclaration,
    SopDocument,
    TrainingRecord,
)
from biobank.ethics.models.reviews import (
    AgendaItem,
    Meeting,
    Protocol,
    ReviewDecision,
    ReviewerAssignment,
    Submission,
)

__all__ = [
    "IRB",
    "AgendaItem",
    "AuditAppeal",
    "AuditCampaign",
    "AuditCriterion",
    "AuditorAssignment",
    "Complaint",
    "FollowUpDraw",
    "IRBAudit",
    "IRBMember",
    "Meeting",
    "MemberDeclaration",
    "Protocol",
    "ReviewDecision",
    "ReviewerAssignment",
    "SelfAssessment",
    "SopDocument",
    "Submission",
    "TrainingRecord",
]
