from biobank.distribution.models.requests import Approval, DistributionRequest, TransferAgreement
from biobank.distribution.models.shipments import (
    DataRelease,
    ItemReturn,
    LedgerEntry,
    Receipt,
    RecipientDestruction,
    RequestItem,
    Shipment,
    TransitSpill,
)

__all__ = [
    "Approval",
    "DataRelease",
    "DistributionRequest",
    "ItemReturn",
    "LedgerEntry",
    "Receipt",
    "RecipientDestruction",
    "RequestItem",
    "Shipment",
    "TransferAgreement",
    "TransitSpill",
]
