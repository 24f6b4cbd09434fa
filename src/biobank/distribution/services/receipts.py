"""After shipment: receipt by the recipient, returns of unused material and the recipient's
destruction (BB-02, HB-03, HR-04).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    ItemReturn,
    Receipt,
    ReceiptLine,
    RecipientDestruction,
    RequestItem,
    Shipment,
)
from biobank.distribution.services.common import (
    Status,
    _audit_item,
    _check,
    _locked,
    _move,
    _require_requester_or,
    _specimen_event,
    _specimen_status,
    _tell_requester,
    _tell_staff,
)
from biobank.specimens.models import Specimen, SpecimenEvent


def _barcode(item: RequestItem) -> str:
    return item.shipped.barcode if item.shipped is not None else item.specimen.barcode


def _outcomes(
    items: Sequence[RequestItem],
    *,
    items_received: int | None,
    damaged: Sequence[str],
    missing: Sequence[str],
) -> list[str]:
    """Each item's outcome, in the items' order. Items are named by the barcode that left (or
    the specimen it came from); without names, the first ``items_received`` arrived."""
    damaged_set = {b.strip() for b in damaged if b.strip()}
    missing_set = {b.strip() for b in missing if b.strip()}
    if damaged_set & missing_set:
        raise ApplicationError(
            _("An item is either damaged or missing: %s")
            % ", ".join(sorted(damaged_set & missing_set))
        )
    known = {_barcode(i) for i in items} | {i.specimen.barcode for i in items}
    unknown = (damaged_set | missing_set) - known
    if unknown:
        raise ApplicationError(
            _("Not in this shipment: %s") % ", ".join(sorted(unknown)), rule="BB-02"
        )
    if not damaged_set and not missing_set and items_received is not None:
        if items_received < 0 or items_received > len(items):
            raise ApplicationError(_("Between 0 and %d items can be received.") % len(items))
        return [
            ReceiptLine.Outcome.RECEIVED if n < items_received else ReceiptLine.Outcome.MISSING
            for n in range(len(items))
        ]
    outcomes: list[str] = []
    for item in items:
        names = {_barcode(item), item.specimen.barcode}
        if names & missing_set:
            outcomes.append(ReceiptLine.Outcome.MISSING)
        elif names & damaged_set:
            outcomes.append(ReceiptLine.Outcome.DAMAGED)
        else:
            outcomes.append(ReceiptLine.Outcome.RECEIVED)
    arrived = sum(1 for o in outcomes if o != ReceiptLine.Outcome.MISSING)
    if items_received is not None and items_received != arrived:
        raise ApplicationError(
            _("%(n)d items arrived by the list, not %(m)d.") % {"n": arrived, "m": items_received}
        )
    return outcomes


@transaction.atomic
def shipment_receive(
    *,
    actor: User | None,
    shipment: Shipment,
    condition: str,
    items_received: int | None = None,
    damaged: Sequence[str] = (),
    missing: Sequence[str] = (),
    received_at: datetime | None = None,
    note: str = "",
) -> Receipt:
    """The recipient confirms receipt: all, partial, damaged or temperature breach (BB-02).
    A partial or damaged receipt names the items concerned: ``damaged`` and ``missing`` list
    barcodes, every other item arrived; each item's outcome is kept as a receipt line. Items
    that arrived (damaged or not) get a receipt event; missing ones stay shipped."""
    request = shipment.request
    _require_requester_or(actor, "distribution.fulfil", request)
    request = _locked(request)
    if condition not in Receipt.Condition.values:
        raise ApplicationError(_("Unknown condition %s.") % condition)
    if Receipt.objects.filter(shipment=shipment).exists():
        raise ApplicationError(_("This shipment's receipt is already recorded."))
    items = list(shipment.items.select_related("shipped", "specimen").order_by("pk"))
    outcomes = _outcomes(items, items_received=items_received, damaged=damaged, missing=missing)
    counts = Counter(outcomes)
    _check(
        rules.receipt_consistent(
            condition,
            received=counts[ReceiptLine.Outcome.RECEIVED],
            damaged=counts[ReceiptLine.Outcome.DAMAGED],
            missing=counts[ReceiptLine.Outcome.MISSING],
        )
    )
    if condition != Receipt.Condition.COMPLETE and not note.strip():
        raise ApplicationError(_("Describe what was wrong."))
    when = received_at or timezone.now()
    if when < shipment.shipped_at:
        raise ApplicationError(_("Received before it was shipped."))
    receipt = Receipt.objects.create(
        shipment=shipment,
        received_at=when,
        condition=condition,
        items_received=len(items) - counts[ReceiptLine.Outcome.MISSING],
        note=note.strip(),
        recorded_by=actor,
    )
    lines = ReceiptLine.objects.bulk_create(
        ReceiptLine(receipt=receipt, item=item, outcome=outcome)
        for item, outcome in zip(items, outcomes, strict=True)
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=receipt,
        after={
            **snapshot(receipt),
            "lines": {_barcode(line.item): line.outcome for line in lines},
        },
    )
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome == ReceiptLine.Outcome.MISSING:
            continue
        before = snapshot(item)
        item.state = RequestItem.State.RECEIVED
        item.save(update_fields=["state", "updated_at"])
        if item.shipped is not None:
            _specimen_event(
                actor,
                item.shipped,
                SpecimenEvent.Activity.RECEIPT,
                when,
                request=request.code,
                condition=condition,
                outcome=outcome,
            )
        _audit_item(actor, request, item, before, reason=f"received: {condition}, {outcome}")
    if request.status == Status.SHIPPED:
        _move(actor, request, Status.RECEIVED, reason=condition)
    problems = [
        (_barcode(item), ReceiptLine.Outcome(outcome).label)
        for item, outcome in zip(items, outcomes, strict=True)
        if outcome != ReceiptLine.Outcome.RECEIVED
    ]
    _tell_staff(request, "distribution.fulfil", "received", receipt=receipt, problems=problems)
    return receipt


@transaction.atomic
def item_return(
    *,
    actor: User | None,
    item: RequestItem,
    condition: str,
    returned_at: datetime | None = None,
    unit: Any = None,
    position: str = "",
) -> ItemReturn:
    """Unused material comes back: available again, with a return event, and stored (BB-02)."""
    request = item.request
    require_permission(actor, "distribution.fulfil", request.organization)
    item = RequestItem.objects.select_for_update().get(pk=item.pk)
    if item.state not in {RequestItem.State.SHIPPED, RequestItem.State.RECEIVED}:
        raise ApplicationError(_("Only shipped material is returned."), rule="BB-02")
    if not condition.strip():
        raise ApplicationError(_("Describe the condition on return."))
    specimen = (
        Specimen.objects.select_for_update()
        .select_related("organization")
        .get(pk=item.shipped_id or item.specimen_id)
    )
    when = returned_at or timezone.now()
    _specimen_event(
        actor,
        specimen,
        SpecimenEvent.Activity.RETURN,
        when,
        request=request.code,
        condition=condition,
    )
    _specimen_status(actor, specimen, Specimen.Status.AVAILABLE, f"returned from {request.code}")
    location = ""
    if unit is not None:
        from biobank.storage import services as storage_services

        placement = storage_services.specimen_place(
            actor=actor, specimen=specimen, unit=unit, position=position, at=when
        )
        location = f"{unit.barcode} {storage_services.label_of(placement)}"
    before = snapshot(item)
    item.state = RequestItem.State.RETURNED
    item.save(update_fields=["state", "updated_at"])
    _audit_item(actor, request, item, before, reason="returned")
    record = ItemReturn.objects.create(
        item=item,
        returned_at=when,
        condition=condition.strip(),
        location=location,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=record,
        after=snapshot(record),
    )
    _tell_requester(request, "returned", record=record, barcode=specimen.barcode)
    return record


@transaction.atomic
def recipient_destruction_record(
    *,
    actor: User | None,
    item: RequestItem,
    destroyed_on: date,
    method: str,
    certificate: str = "",
) -> RecipientDestruction:
    """The recipient destroyed what they received (HB-03 after a withdrawal, HR-04 at the end
    of the study): recorded against the item."""
    request = item.request
    _require_requester_or(actor, "distribution.fulfil", request)
    item = RequestItem.objects.select_for_update().get(pk=item.pk)
    if item.state not in {RequestItem.State.SHIPPED, RequestItem.State.RECEIVED}:
        raise ApplicationError(_("Only material at the recipient is destroyed there."))
    if not method.strip():
        raise ApplicationError(_("Name the method."))
    if destroyed_on > timezone.localdate():
        raise ApplicationError(_("The destruction date is in the future."))
    before = snapshot(item)
    item.state = RequestItem.State.DESTROYED
    item.save(update_fields=["state", "updated_at"])
    _audit_item(actor, request, item, before, reason="destroyed by the recipient")
    record = RecipientDestruction.objects.create(
        item=item,
        destroyed_on=destroyed_on,
        method=method.strip(),
        certificate=certificate.strip(),
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=record,
        after=snapshot(record),
    )
    # the reviewers follow up withdrawals (HB-03) and the study's end (HR-04)
    _tell_staff(
        request,
        ("distribution.review", "distribution.fulfil"),
        "destroyed",
        record=record,
        barcode=_barcode(item),
    )
    return record
