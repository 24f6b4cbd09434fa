from biobank.biosafety.models.committees import Approval, Committee, CommitteeMember
from biobank.biosafety.models.inventories import Anomaly, InventoryCheck, InventoryLine
from biobank.biosafety.models.register import Agent, InfectiousMaterial, Regime

__all__ = [
    "Agent",
    "Anomaly",
    "Approval",
    "Committee",
    "CommitteeMember",
    "InfectiousMaterial",
    "InventoryCheck",
    "InventoryLine",
    "Regime",
]
