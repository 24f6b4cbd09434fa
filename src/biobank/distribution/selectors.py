"""Reads for distribution, narrowed to what the user may see: the requests of organizations
where they hold ``distribution.view``, and their own requests as requester."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404

from biobank.core.models import Obligation
from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.distribution.models import DistributionRequest, LedgerEntry, RequestItem, Shipment
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
