"""Biosafety pages, one module per area."""

from biobank.biosafety.views.committees import (
    approval_action,
    committee_action,
    committee_detail,
    committee_list,
    material_action,
)
from biobank.biosafety.views.inventories import (
    anomaly_action,
    anomaly_detail,
    home,
    inventory_action,
    inventory_detail,
    inventory_list,
    inventory_pdf,
)
from biobank.biosafety.views.register import (
    agent_create,
    agent_detail,
    agent_list,
    material_create,
    material_detail,
    material_list,
)

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
    "home",
    "inventory_action",
    "inventory_detail",
    "inventory_list",
    "inventory_pdf",
    "material_action",
    "material_create",
    "material_detail",
    "material_list",
]
