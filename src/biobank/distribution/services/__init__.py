"""Distribution use cases: requests, review and approvals, MTA, reservation, retrieval,
shipment, receipt, spills, returns, recipients' destruction, data release, the ledger.

Rules: BB-02 (distribution as a lifecycle event), HB-01 (coded data), HB-03 (withdrawal reach),
HB-04 (use within consent, approvals first), HB-05 (export), HR-04 (consent period),
BS-02 (packaging), BS-14 (spill in transport). Every change writes an audit event; every step
sends an e-mail to the people who act next.

One module per concept; this package re-exports the public names so that callers write
``from biobank.distribution import services`` and ``services.request_create(...)``.
"""

from biobank.distribution.services.common import (
    DOCUMENT_MAX_BYTES,
    DOCUMENT_SIGNATURES,
    REQUEST_FIELDS,
    Status,
    approvals_decision,
)
from biobank.distribution.services.export_list import (
    ExportListLine,
    export_entry_add,
    export_entry_remove,
    export_list,
    export_list_codes,
)
from biobank.distribution.services.fulfilment import item_retrieve, request_reserve
from biobank.distribution.services.receipts import (
    item_return,
    recipient_destruction_record,
    shipment_receive,
)
from biobank.distribution.services.releases import Release, data_release
from biobank.distribution.services.requests import (
    request_cancel,
    request_close,
    request_create,
    request_next_code,
    request_submit,
)
from biobank.distribution.services.review import (
    ExportStatus,
    agreement_record,
    approval_record,
    export_status,
    export_types_decision,
    request_approve,
    request_reject,
    request_review_start,
)
from biobank.distribution.services.selection import (
    CandidatePage,
    Eligibility,
    candidate_page,
    candidates,
    eligibility,
    eligibility_summary,
    request_facts,
    specimen_facts,
)
from biobank.distribution.services.shipments import (
    recorded_agents,
    shipment_create,
    shipment_risk_group_preview,
    spill_report,
)

__all__ = [
    "DOCUMENT_MAX_BYTES",
    "DOCUMENT_SIGNATURES",
    "REQUEST_FIELDS",
    "CandidatePage",
    "Eligibility",
    "ExportListLine",
    "ExportStatus",
    "Release",
    "Status",
    "agreement_record",
    "approval_record",
    "approvals_decision",
    "candidate_page",
    "candidates",
    "data_release",
    "eligibility",
    "eligibility_summary",
    "export_entry_add",
    "export_entry_remove",
    "export_list",
    "export_list_codes",
    "export_status",
    "export_types_decision",
    "item_retrieve",
    "item_return",
    "recipient_destruction_record",
    "recorded_agents",
    "request_approve",
    "request_cancel",
    "request_close",
    "request_create",
    "request_facts",
    "request_next_code",
    "request_reject",
    "request_reserve",
    "request_review_start",
    "request_submit",
    "shipment_create",
    "shipment_receive",
    "shipment_risk_group_preview",
    "specimen_facts",
    "spill_report",
]
