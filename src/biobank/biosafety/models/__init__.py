from biobank.biosafety.models.committees import Approval, Committee, CommitteeMember
from biobank.biosafety.models.destruction import Destruction
from biobank.biosafety.models.emergency import Drill, EmergencyPlan
from biobank.biosafety.models.incidents import Incident, IncidentStep
from biobank.biosafety.models.inventories import Anomaly, InventoryCheck, InventoryLine
from biobank.biosafety.models.meetings import CommitteeDecision, Meeting
from biobank.biosafety.models.register import Agent, InfectiousMaterial, Regime
from biobank.biosafety.models.training import LabWorker, SiteAssignment, TrainingRecord

__all__ = [
    "Agent",
    "Anomaly",
    "Approval",
    "Committee",
    "CommitteeDecision",
    "CommitteeMember",
    "Destruction",
    "Drill",
    "EmergencyPlan",
    "Incident",
    "IncidentStep",
    "InfectiousMaterial",
    "InventoryCheck",
    "InventoryLine",
    "LabWorker",
    "Meeting",
    "Regime",
    "SiteAssignment",
    "TrainingRecord",
]
