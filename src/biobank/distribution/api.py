"""Distribution in the HTTP API: requests, eligibility, review, reservation, pick list,
shipments and receipts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from biobank.core.models import User
from biobank.core.selectors import organization_get_for_user
from biobank.distribution import rules, selectors, services
from biobank.distribution.models import Approval, DistributionRequest, RequestItem, Shipment

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
    condition: str
    items_received: int | None = None
    received_at: datetime | None = None
    note: str = ""


class ReceiptOut(Schema):
    condition: str
    items_received: int
    received_at: datetime
    note: str


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
    summary = services.eligibility(distribution).summary
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


@router.post("/distribution/shipments/{shipment_id}/receipt", response={201: ReceiptOut})
def distribution_shipment_receipt(
    request: HttpRequest, shipment_id: UUID, payload: ReceiptIn
) -> Status:
    shipment = selectors.shipment_get_for_user(request.user, shipment_id)
    data = payload.dict()
    data["received_at"] = _aware(data["received_at"])
    receipt = services.shipment_receive(actor=_user(request), shipment=shipment, **data)
    return Status(201, receipt)
