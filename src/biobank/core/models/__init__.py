from biobank.core.models.audit import AuditChainHead, AuditEvent
from biobank.core.models.imports import ImportJob
from biobank.core.models.obligations import Obligation
from biobank.core.models.organizations import Membership, Organization, Site, User
from biobank.core.models.reference import CalendarOverride, Rule
from biobank.core.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "CalendarOverride",
    "ImportJob",
    "Membership",
    "Obligation",
    "Organization",
    "Rule",
    "Site",
    "User",
]
