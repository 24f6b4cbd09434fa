"""Distribution in the HTTP API: requests, eligibility, review, reservation, pick list,
shipments, receipts, returns, recipients' destruction, the reciprocity ledger and the export
list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from biobank.core.models import User
from biobank.core.selectors import organization_get_for_user
from biobank.core.tenancy import has_permission
from biobank.distribution import rules, selectors, services
from biobank.distribution.models import (
    Approval,
    DistributionRequest,
    ItemReturn,
    LedgerEntry,
    Receipt,
    ReceiptLine,
    RecipientDestruction,
    RequestItem,
    Shipment,
)
from biobank.storage.models import StorageUnit

router = Router(tags=["distribution"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


class RequestOut(Schema):
    id: UUID = Field(alias="public_id")
    code: str
    organization: str = Field(alias="organization.code")
    requester: str = Field(alias="requester.username")
    requester_institution: str
    title: str
    purpose: str
    purposes: list[str]
    commercial: bool
    irb_reference: str
    irb_committee: str
    irb_valid_from: date
    irb_valid_until: date
    material_types: list[str]
    quantity_per_specimen: Decimal | None
    unit: str
    participants_wanted: int
    destination_institution: str
    destination_country: str
    data_fields: list[str]
    status: str

    @staticmethod
    def resolve_purposes(obj: DistributionRequest) -> list[str]:
        return sorted(t.pk for t in obj.purposes.all())

    @staticmethod
    def resolve_material_types(obj: DistributionRequest) -> list[str]:
        return sorted(t.code for t in obj.material_types.all())


class RequestIn(Schema):
    organization: str
    title: str
    purpose: str
    purposes: list[str]
    requester_institution: str
    irb_reference: str
    irb_committee: str
    irb_valid_from: date
    irb_valid_until: date
    destination_institution: str
    destination_country: str = "TW"
    diseases: list[str] = []
    commercial: bool = False
    genetic_study: bool = False
    nhi_linkage: bool = False
    material_types: list[str] = []
    diagnosis: str = ""
    quantity_per_specimen: Decimal | None = None
    unit: str = ""
    participants_wanted: int = 0
    data_fields: list[str] = []
    planned_on: date | None = None


class ReasonOut(Schema):
    key: str
    label: str
    rule: str
    count: int
    reasons: list[str]


class EligibilityOut(Schema):
    eligible: int
    excluded: int
    by_reason: list[ReasonOut]


class CandidateOut(Schema):
    barcode: str
    material_type: str
    remaining: Decimal
    unit: str
    eligible: bool
    reason: str
    rule: str


class CandidatePageOut(Schema):
    count: int
    page: int
    pages: int
    results: list[CandidateOut]


class ApprovalIn(Schema):
    body: str
    decision: str
    decided_on: date
    reference: str
    conditions: str = ""


class ApprovalOut(Schema):
    body: str
    decision: str
    decided_on: date
    reference: str
    conditions: str


class AgreementIn(Schema):
    terms: str
    signed_on: date
    recipient_signatory: str
    study_ends_on: date | None = None


class ReserveIn(Schema):
    barcodes: list[str] = []


class ItemOut(Schema):
    id: int
    specimen: str = Field(alias="specimen.barcode")
    shipped: str | None = None
    quantity: Decimal
    unit: str
    state: str
    location: str = ""

    @staticmethod
    def resolve_shipped(obj: RequestItem) -> str | None:
        return obj.shipped.barcode if obj.shipped else None


class ShipmentIn(Schema):
    temperature: str
    courier: str
    tracking_number: str
    containers: int = 1
    dry_ice_kg: Decimal | None = None
    risk_group: int | None = None
    category_a_pathogen: bool = False
    affects_humans: bool = True
    shipped_at: datetime | None = None


class ShipmentOut(Schema):
    id: UUID = Field(alias="public_id")
    request: str = Field(alias="request.code")
    risk_group: int | None
    risk_group_source: str
    risk_group_basis: str
    packaging_category: str
    un_number: str
    shipping_name: str
    packing_instruction: str
    temperature: str
    dry_ice_kg: Decimal | None
    courier: str
    tracking_number: str
    shipped_at: datetime
    containers: int


class ReceiptIn(Schema):
    """``damaged`` and ``missing`` name items by the barcode that left; the rest arrived."""

    condition: str
    items_received: int | None = None
    damaged: list[str] = []
    missing: list[str] = []
    received_at: datetime | None = None
    note: str = ""


class ReceiptLineOut(Schema):
    barcode: str
    outcome: str

    @staticmethod
    def resolve_barcode(obj: ReceiptLine) -> str:
        item = obj.item
        return item.shipped.barcode if item.shipped is not None else item.specimen.barcode


class ReceiptOut(Schema):
    condition: str
    items_received: int
    received_at: datetime
    note: str
    lines: list[ReceiptLineOut]

    @staticmethod
    def resolve_lines(obj: Receipt) -> list[ReceiptLine]:
        return list(obj.lines.all())


class ShipmentDetailOut(ShipmentOut):
    barcodes: list[str]
    receipt: ReceiptOut | None

    @staticmethod
    def resolve_barcodes(obj: Shipment) -> list[str]:
        return selectors.shipment_barcodes(obj)

    @staticmethod
    def resolve_receipt(obj: Shipment) -> Receipt | None:
        return getattr(obj, "receipt", None)


@router.get("/distribution/requests", response=list[RequestOut])
def distribution_request_list(request: HttpRequest) -> list[DistributionRequest]:
    return list(
        selectors.request_list_for_user(request.user).prefetch_related(
            "purposes", "material_types"
        )[:500]
    )


@router.post("/distribution/requests", response={201: RequestOut})
def distribution_request_create(request: HttpRequest, payload: RequestIn) -> Status:
    data = payload.dict()
    organization = organization_get_for_user(request.user, data.pop("organization"))
    made = services.request_create(actor=_user(request), organization=organization, **data)
    return Status(201, made)


@router.get("/distribution/requests/{request_id}", response=RequestOut)
def distribution_request_detail(request: HttpRequest, request_id: UUID) -> DistributionRequest:
    return selectors.request_get_for_user(request.user, request_id)


@router.get("/distribution/requests/{request_id}/eligibility", response=EligibilityOut)
def distribution_request_eligibility(request: HttpRequest, request_id: UUID) -> dict[str, Any]:
    """How many specimens match, how many are excluded and why (grouped by reason)."""
    distribution = selectors.request_get_for_user(request.user, request_id)
    summary = services.eligibility_summary(distribution)
    return {
        "eligible": summary.eligible,
        "excluded": summary.excluded,
        "by_reason": [
            {
                "key": key,
                "label": rules.reason_label(key),
                "rule": rule,
                "count": count,
                "reasons": list(reasons),
            }
            for key, rule, count, reasons in summary.by_reason
        ],
    }


@router.get("/distribution/requests/{request_id}/candidates", response=CandidatePageOut)
def distribution_request_candidates(
    request: HttpRequest, request_id: UUID, page: int = 1, size: int = 50
) -> dict[str, Any]:
    """The candidates a page at a time (barcode order), each with its decision and rule."""
    distribution = selectors.request_get_for_user(request.user, request_id)
    if not has_permission(request.user, "distribution.view", distribution.organization):
        raise Http404("request not found")
    found = services.candidate_page(distribution, number=page, size=max(1, min(size, 200)))
    return {
        "count": found.page.paginator.count,
        "page": found.page.number,
        "pages": found.page.paginator.num_pages,
        "results": [
            {
                "barcode": specimen.barcode,
                "material_type": specimen.material_type.code,
                "remaining": specimen.remaining,
                "unit": specimen.unit,
                "eligible": decision.allowed,
                "reason": decision.reason,
                "rule": decision.rule,
            }
            for specimen, decision in found.decisions
        ],
    }


@router.post("/distribution/requests/{request_id}/submit", response=RequestOut)
def distribution_request_submit(request: HttpRequest, request_id: UUID) -> DistributionRequest:
    distribution = selectors.request_get_for_user(request.user, request_id)
    return services.request_submit(actor=_user(request), request=distribution)


@router.post("/distribution/requests/{request_id}/approvals", response={201: ApprovalOut})
def distribution_request_approval(
    request: HttpRequest, request_id: UUID, payload: ApprovalIn
) -> Status:
    distribution = selectors.request_get_for_user(request.user, request_id)
    approval: Approval = services.approval_record(
        actor=_user(request), request=distribution, **payload.dict()
    )
    return Status(201, approval)


@router.post("/distribution/requests/{request_id}/agreement", response={201: dict[str, Any]})
def distribution_request_agreement(
    request: HttpRequest, request_id: UUID, payload: AgreementIn
) -> Status:
    distribution = selectors.request_get_for_user(request.user, request_id)
    agreement = services.agreement_record(
        actor=_user(request), request=distribution, **payload.dict()
    )
    return Status(201, {"signed_on": agreement.signed_on.isoformat()})


@router.post("/distribution/requests/{request_id}/approve", response=RequestOut)
def distribution_request_approve(request: HttpRequest, request_id: UUID) -> DistributionRequest:
    distribution = selectors.request_get_for_user(request.user, request_id)
    return services.request_approve(actor=_user(request), request=distribution)


@router.post("/distribution/requests/{request_id}/reserve", response={201: list[ItemOut]})
def distribution_request_reserve(
    request: HttpRequest, request_id: UUID, payload: ReserveIn
) -> Status:
    distribution = selectors.request_get_for_user(request.user, request_id)
    items = services.request_reserve(
        actor=_user(request), request=distribution, barcodes=payload.barcodes
    )
    return Status(201, items)


@router.get("/distribution/requests/{request_id}/pick-list", response=list[ItemOut])
def distribution_request_pick_list(request: HttpRequest, request_id: UUID) -> list[dict[str, Any]]:
    """Reserved specimens in storage order (withdrawn participants' never appear, HB-03)."""
    distribution = selectors.request_get_for_user(request.user, request_id)
    return [
        {
            "id": line.item.pk,
            "specimen": line.item.specimen.barcode,
            "shipped": None,
            "quantity": line.item.quantity,
            "unit": line.item.unit,
            "state": line.item.state,
            "location": line.location,
        }
        for line in selectors.pick_list(distribution)
    ]


@router.post("/distribution/requests/{request_id}/shipments", response={201: ShipmentOut})
def distribution_request_ship(
    request: HttpRequest, request_id: UUID, payload: ShipmentIn
) -> Status:
    distribution = selectors.request_get_for_user(request.user, request_id)
    data = payload.dict()
    data["shipped_at"] = _aware(data["shipped_at"])
    shipment: Shipment = services.shipment_create(
        actor=_user(request), request=distribution, **data
    )
    return Status(201, shipment)


@router.get("/distribution/shipments/{shipment_id}", response=ShipmentDetailOut)
def distribution_shipment_detail(request: HttpRequest, shipment_id: UUID) -> Shipment:
    """A shipment with what left in it and, once recorded, its receipt item by item."""
    found = selectors.shipment_get_for_user(request.user, shipment_id)
    return selectors.shipments_of(found.request).get(pk=found.pk)


@router.post("/distribution/shipments/{shipment_id}/receipt", response={201: ReceiptOut})
def distribution_shipment_receipt(
    request: HttpRequest, shipment_id: UUID, payload: ReceiptIn
) -> Status:
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    data = payload.dict()
    data["received_at"] = _aware(data["received_at"])
    receipt = services.shipment_receive(actor=_user(request), shipment=shipment, **data)
    return Status(201, receipt)


def _item_barcode(item: RequestItem) -> str:
    return item.shipped.barcode if item.shipped is not None else item.specimen.barcode


class ReturnIn(Schema):
    """An item of the shipment comes back: named by the barcode that left; stored again in the
    box ``unit`` (its barcode) at ``position`` when given."""

    barcode: str
    condition: str
    returned_at: datetime | None = None
    unit: str = ""
    position: str = ""


class ReturnOut(Schema):
    barcode: str
    returned_at: datetime
    condition: str
    location: str

    @staticmethod
    def resolve_barcode(obj: ItemReturn) -> str:
        return _item_barcode(obj.item)


class DestructionIn(Schema):
    """The recipient destroyed an item of the shipment (HB-03, HR-04)."""

    barcode: str
    destroyed_on: date
    method: str
    certificate: str = ""


class DestructionOut(Schema):
    barcode: str
    destroyed_on: date
    method: str
    certificate: str

    @staticmethod
    def resolve_barcode(obj: RecipientDestruction) -> str:
        return _item_barcode(obj.item)


@router.get("/distribution/shipments/{shipment_id}/returns", response=list[ReturnOut])
def distribution_shipment_returns(request: HttpRequest, shipment_id: UUID) -> list[ItemReturn]:
    """Items of the shipment that came back and were stored again (BB-02)."""
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    return list(
        ItemReturn.objects.filter(item__shipment=shipment)
        .select_related("item__shipped", "item__specimen")
        .order_by("returned_at", "pk")
    )


@router.post("/distribution/shipments/{shipment_id}/returns", response={201: ReturnOut})
def distribution_shipment_return(
    request: HttpRequest, shipment_id: UUID, payload: ReturnIn
) -> Status:
    """Record an item's return: available again, a return event, stored (BB-02)."""
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    item = selectors.shipment_item_for_user(shipment, payload.barcode)
    unit = None
    if payload.unit.strip():
        unit = StorageUnit.objects.filter(
            organization=shipment.request.organization, barcode=payload.unit.strip()
        ).first()
        if unit is None:
            raise Http404("storage unit not found")
    record = services.item_return(
        actor=_user(request),
        item=item,
        condition=payload.condition,
        returned_at=_aware(payload.returned_at),
        unit=unit,
        position=payload.position,
    )
    return Status(201, record)


@router.get("/distribution/shipments/{shipment_id}/destructions", response=list[DestructionOut])
def distribution_shipment_destructions(
    request: HttpRequest, shipment_id: UUID
) -> list[RecipientDestruction]:
    """Items of the shipment the recipient destroyed (HB-03, HR-04)."""
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    return list(
        RecipientDestruction.objects.filter(item__shipment=shipment)
        .select_related("item__shipped", "item__specimen")
        .order_by("destroyed_on", "pk")
    )


@router.post("/distribution/shipments/{shipment_id}/destructions", response={201: DestructionOut})
def distribution_shipment_destruction(
    request: HttpRequest, shipment_id: UUID, payload: DestructionIn
) -> Status:
    """Record the recipient's destruction of an item (HB-03 after a withdrawal, HR-04)."""
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    item = selectors.shipment_item_for_user(shipment, payload.barcode)
    record = services.recipient_destruction_record(
        actor=_user(request),
        item=item,
        destroyed_on=payload.destroyed_on,
        method=payload.method,
        certificate=payload.certificate,
    )
    return Status(201, record)


class LedgerEntryOut(Schema):
    organization: str = Field(alias="organization.code")
    direction: str
    counterpart: str
    counterpart_organization: str | None = None
    specimens: int
    data_records: int
    request: str = Field(alias="request.code")
    at: datetime

    @staticmethod
    def resolve_counterpart_organization(obj: LedgerEntry) -> str | None:
        other = obj.counterpart_organization
        return other.code if other is not None else None


class LedgerBalanceOut(Schema):
    organization: str
    counterpart: str
    given_specimens: int
    given_data_records: int
    received_specimens: int
    received_data_records: int
    requests: int


class LedgerOut(Schema):
    balances: list[LedgerBalanceOut]
    entries: list[LedgerEntryOut]


@router.get("/distribution/ledger", response=LedgerOut)
def distribution_ledger(request: HttpRequest) -> dict[str, Any]:
    """The reciprocity ledger (seed 003): balances per organization and counterpart, and the
    latest 500 entries, of the organizations where the user holds ``distribution.view``."""
    entries = selectors.ledger_for_user(request.user).select_related("counterpart_organization")
    return {
        "balances": selectors.ledger_balances_for_user(request.user),
        "entries": list(entries.order_by("-at", "-pk")[:500]),
    }


class ExportListLineOut(Schema):
    code: str
    label_en: str
    label_zh: str
    source: str
    listed: bool
    note: str


class ExportListOut(Schema):
    organization: str
    codes: list[str]
    lines: list[ExportListLineOut]


@router.get("/distribution/export-list", response=ExportListOut)
def distribution_export_list(request: HttpRequest, organization: str = "") -> dict[str, Any]:
    """The export list in force for an organization (HB-05): the material types that may go
    abroad with the central authority's approval, and where each line comes from."""
    found = selectors.export_list_organization_for_user(request.user, organization or None)
    return {
        "organization": found.code,
        "codes": sorted(services.export_list_codes(found)),
        "lines": [
            {
                "code": line.material_type.code,
                "label_en": line.material_type.label_en,
                "label_zh": line.material_type.label_zh,
                "source": line.source,
                "listed": line.listed,
                "note": line.note,
            }
            for line in services.export_list(found)
        ],
    }
