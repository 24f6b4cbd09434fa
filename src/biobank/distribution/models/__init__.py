from biobank.distribution.models.export_list import ExportListEntry
from biobank.distribution.models.requests import Approval, DistributionRequest, TransferAgreement
from biobank.distribution.models.shipments import (
    DataRelease,
    ItemReturn,
    LedgerEntry,
    Receipt,
    ReceiptLine,
    RecipientDestruction,
    RequestItem,
    Shipment,
    TransitSpill,
)

__all__ = [
    "Approval",
    "DataRelease",
    "DistributionRequest",
    "ExportListEntry",
    "ItemReturn",
    "LedgerEntry",
    "Receipt",
    "ReceiptLine",
    "RecipientDestruction",
    "RequestItem",
    "Shipment",
    "TransferAgreement",
    "TransitSpill",
]
