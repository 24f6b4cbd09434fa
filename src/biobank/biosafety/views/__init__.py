"""Biosafety pages, one module per area."""

from biobank.biosafety.views.committees import (
    approval_action,
    committee_action,
    committee_detail,
    committee_list,
    material_action,
)
from biobank.biosafety.views.destruction import destruction_list
from biobank.biosafety.views.emergency import plan_action, plan_detail, plan_list
from biobank.biosafety.views.exports import export_file, export_list
from biobank.biosafety.views.incidents import incident_action, incident_detail, incident_list
from biobank.biosafety.views.inventories import (
    anomaly_action,
    anomaly_detail,
    home,
    inventory_action,
    inventory_detail,
    inventory_list,
    inventory_pdf,
)
from biobank.biosafety.views.meetings import meeting_document
from biobank.biosafety.views.register import (
    agent_create,
    agent_detail,
    agent_list,
    material_create,
    material_detail,
    material_list,
)
from biobank.biosafety.views.retention import record_purge, retention_list
from biobank.biosafety.views.sign import site_sign, site_sign_pdf
from biobank.biosafety.views.training import training_list, worker_action, worker_detail

__all__ = [
    "agent_create",
    "agent_detail",
    "agent_list",
    "anomaly_action",
    "anomaly_detail",
    "approval_action",
    "committee_action",
    "committee_detail",
    "committee_list",
    "destruction_list",
    "export_file",
    "export_list",
    "home",
    "incident_action",
    "incident_detail",
    "incident_list",
    "inventory_action",
    "inventory_detail",
    "inventory_list",
    "inventory_pdf",
    "material_action",
    "material_create",
    "material_detail",
    "material_list",
    "meeting_document",
    "plan_action",
    "plan_detail",
    "plan_list",
    "record_purge",
    "retention_list",
    "site_sign",
    "site_sign_pdf",
    "training_list",
    "worker_action",
    "worker_detail",
]
