"""Reads for distribution, narrowed to what the user may see: the requests of organizations
where they hold ``distribution.view``, and their own requests as requester."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from biobank.core.models import Obligation, Organization
from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.distribution.models import (
    DistributionRequest,
    LedgerEntry,
    ReceiptLine,
    RequestItem,
    Shipment,
)
from biobank.storage.models import Placement
from biobank.storage.services import label_of


def request_list_for_user(user: AnyUser) -> QuerySet[DistributionRequest]:
    if not user.is_authenticated:
        return DistributionRequest.objects.none()
    return DistributionRequest.objects.filter(
        Q(organization__in=organizations_with_permission(user, "distribution.view"))
        | Q(requester_id=user.pk)
    ).select_related("organization", "requester")


def request_get_for_user(user: AnyUser, public_id: UUID | str) -> DistributionRequest:
    try:
        UUID(str(public_id))
    except ValueError:
        raise Http404("request not found") from None
    request = request_list_for_user(user).filter(public_id=public_id).first()
    if request is None:
        raise Http404("request not found")
    return request


def shipment_get_for_user(user: AnyUser, public_id: UUID | str) -> Shipment:
    shipment = (
        Shipment.objects.filter(request__in=request_list_for_user(user), public_id=public_id)
        .select_related("request__organization", "request__requester")
        .first()
    )
    if shipment is None:
        raise Http404("shipment not found")
    return shipment


def items_of(request: DistributionRequest) -> QuerySet[RequestItem]:
    return request.items.select_related(
        "specimen__material_type", "specimen__participant", "shipped", "shipment"
    ).order_by("pk")


def shipments_of(request: DistributionRequest) -> QuerySet[Shipment]:
    """The request's shipments with their items, receipt, receipt lines and spills."""
    return request.shipments.select_related("receipt").prefetch_related(
        "spills",
        Prefetch(
            "items",
            queryset=RequestItem.objects.select_related("shipped", "specimen").order_by("pk"),
        ),
        Prefetch(
            "receipt__lines",
            queryset=ReceiptLine.objects.select_related("item__shipped", "item__specimen"),
        ),
    )


def shipment_barcodes(shipment: Shipment) -> list[str]:
    """The barcodes that left in the shipment (the aliquot, or the specimen itself), in the
    items' order: how the recipient names them on receipt."""
    return [
        item.shipped.barcode if item.shipped is not None else item.specimen.barcode
        for item in shipment.items.all()
    ]


@dataclass(frozen=True)
class PickLine:
    item: RequestItem
    location: str
    path: str
    row: int
    column: int


def pick_list(request: DistributionRequest) -> list[PickLine]:
    """The reserved specimens in storage order (site > room > freezer > rack > box > position).
    A specimen of a withdrawn participant never appears (HB-03)."""
    items = list(
        request.items.filter(state=RequestItem.State.RESERVED, specimen__consent_withdrawn=False)
        .exclude(specimen__participant__status="withdrawn")
        .select_related("specimen__material_type", "specimen__participant")
    )
    placements = {
        p.specimen_id: p
        for p in Placement.objects.filter(specimen__in=[i.specimen_id for i in items])
        .select_related("unit")
        .order_by()
    }
    lines = []
    for item in items:
        placement = placements.get(item.specimen_id)
        if placement is None:
            lines.append(PickLine(item, "—", "\uffff", 0, 0))
        else:
            lines.append(
                PickLine(
                    item,
                    f"{placement.unit.barcode} {label_of(placement)}",
                    placement.unit.path,
                    placement.row,
                    placement.column,
                )
            )
    return sorted(lines, key=lambda line: (line.path, line.row, line.column, line.item.pk))


def withdrawal_notices(request: DistributionRequest) -> QuerySet[Obligation]:
    """Obligations to tell this request's recipient to destroy what they received (HB-03)."""
    return Obligation.objects.filter(
        organization=request.organization,
        subject_type="withdrawal.notify",
        subject_id=request.recipient_key,
    ).order_by("due_at", "pk")


def ledger_for_user(user: AnyUser) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(
        organization__in=organizations_with_permission(user, "distribution.view")
    ).select_related("organization", "request")


@dataclass(frozen=True)
class LedgerBalance:
    """What one organization gave to and received from one counterpart (seed 003)."""

    organization: str
    counterpart: str
    given_specimens: int
    given_data_records: int
    received_specimens: int
    received_data_records: int
    requests: int


def ledger_balances_for_user(user: AnyUser) -> list[LedgerBalance]:
    """The ledger summed per organization and counterpart, given beside received, in one
    grouped query."""
    rows = (
        ledger_for_user(user)
        .order_by()
        .values("organization__code", "counterpart", "direction")
        .annotate(
            specimens=Sum("specimens"),
            data_records=Sum("data_records"),
            requests=Count("request", distinct=True),
        )
    )
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        key = (row["organization__code"], row["counterpart"])
        total = totals.setdefault(key, {"requests": 0})
        total[f"{row['direction']}_specimens"] = row["specimens"] or 0
        total[f"{row['direction']}_data_records"] = row["data_records"] or 0
        total["requests"] += row["requests"]
    return [
        LedgerBalance(
            organization=organization,
            counterpart=counterpart,
            given_specimens=total.get("given_specimens", 0),
            given_data_records=total.get("given_data_records", 0),
            received_specimens=total.get("received_specimens", 0),
            received_data_records=total.get("received_data_records", 0),
            requests=total["requests"],
        )
        for (organization, counterpart), total in sorted(totals.items())
    ]


def export_list_organizations_for_user(user: AnyUser) -> QuerySet[Organization]:
    """Organizations whose export list the user may read (``distribution.view``)."""
    return organizations_with_permission(user, "distribution.view").order_by("code")


def export_list_organization_for_user(user: AnyUser, code: str | None) -> Organization:
    """The organization of that code whose export list the user may read, or their first."""
    organizations = export_list_organizations_for_user(user)
    found = organizations.filter(code=code).first() if code else organizations.first()
    if found is None:
        raise Http404("organization not found")
    return found


def shipment_item_for_user(shipment: Shipment, barcode: str) -> RequestItem:
    """The item of the shipment named by the barcode that left (or the specimen it came
    from), as the recipient names it; the shipment was read through ``shipment_get_for_user``."""
    barcode = barcode.strip()
    item = (
        shipment.items.filter(Q(shipped__barcode=barcode) | Q(specimen__barcode=barcode))
        .select_related("request__organization", "request__requester", "shipped", "specimen")
        .order_by("pk")
        .first()
    )
    if item is None:
        raise Http404("item not found")
    return item
