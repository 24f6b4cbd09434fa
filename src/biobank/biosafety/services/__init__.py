"""Biosafety use cases, one module per area; import them from here."""

from biobank.biosafety.services.approvals import (
    ReviewForm,
    approval_central_decide,
    approval_committee_decide,
    approval_request,
    work_allowed,
)
from biobank.biosafety.services.committees import (
    active_committee,
    committee_form,
    committee_member_add,
    committee_member_remove,
    committee_report,
    highest_risk_group,
)
from biobank.biosafety.services.inventories import (
    anomaly_authorities_notified,
    anomaly_investigation_complete,
    anomaly_open,
    anomaly_report_sent,
    clock,
    inventory_complete,
    inventory_record,
    inventory_report,
    inventory_start,
)
from biobank.biosafety.services.register import (
    agent_create,
    agent_levels,
    agent_update,
    agents_visible_to,
    material_level_check,
    material_register,
    material_update,
)

__all__ = [
    "ReviewForm",
    "active_committee",
    "agent_create",
    "agent_levels",
    "agent_update",
    "agents_visible_to",
    "anomaly_authorities_notified",
    "anomaly_investigation_complete",
    "anomaly_open",
    "anomaly_report_sent",
    "approval_central_decide",
    "approval_committee_decide",
    "approval_request",
    "clock",
    "committee_form",
    "committee_member_add",
    "committee_member_remove",
    "committee_report",
    "highest_risk_group",
    "inventory_complete",
    "inventory_record",
    "inventory_report",
    "inventory_start",
    "material_level_check",
    "material_register",
    "material_update",
    "work_allowed",
]
