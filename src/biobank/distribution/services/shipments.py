"""Shipments and spills in transport (BB-02, BS-02, BS-14, HB-03, HB-04, HB-05)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.biosafety import services as biosafety_services
from biobank.biosafety.models import InfectiousMaterial
from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, User
from biobank.core.tenancy import require_permission
from biobank.distribution import rules
from biobank.distribution.models import (
    DistributionRequest,
    RequestItem,
    Shipment,
    TransitSpill,
)
from biobank.distribution.services.common import (
    Status,
    _audit_item,
    _check,
    _ledger,
    _locked,
    _move,
    _require_requester_or,
    _specimen_event,
    _specimen_status,
    _tell_requester,
    _tell_staff,
    approvals_decision,
)
from biobank.distribution.services.fulfilment import item_retrieve
from biobank.distribution.services.selection import (
    _consents_by_participant,
    request_facts,
    specimen_facts,
)
from biobank.specimens import links as specimen_links
from biobank.specimens.models import Specimen, SpecimenEvent


def recorded_agents(
    request: DistributionRequest, specimen_ids: Iterable[int]
) -> list[rules.RecordedAgent]:
    """The biosafety register's infectious-material records on these specimens: their agent
    and its risk group (BS-02). Read from the biosafety app's register, never written."""
    records = (
        InfectiousMaterial.objects.filter(
            organization=request.organization, specimen_id__in=list(specimen_ids)
        )
        .select_related("agent", "specimen")
        .order_by("pk")
    )
    return [
        rules.RecordedAgent(
            barcode=record.specimen.barcode if record.specimen else record.code,
            agent=record.agent.name,
            risk_group=record.agent.risk_group,
        )
        for record in records
    ]


def shipment_risk_group_preview(request: DistributionRequest) -> rules.RiskGroupChoice:
    """What the register says of the material waiting to ship, before the shipment is built:
    the packaging will use this risk group, or the one entered when nothing is recorded."""
    waiting = request.items.filter(
        state__in=[RequestItem.State.RESERVED, RequestItem.State.RETRIEVED]
    ).values_list("specimen_id", "shipped_id")
    ids = {pk for pair in waiting for pk in pair if pk is not None}
    return rules.shipment_risk_group(recorded_agents(request, ids), None)


@transaction.atomic
def shipment_create(
    *,
    actor: User | None,
    request: DistributionRequest,
    temperature: str,
    courier: str,
    tracking_number: str,
    containers: int = 1,
    dry_ice_kg: Decimal | None = None,
    risk_group: int | None = None,
    category_a_pathogen: bool = False,
    affects_humans: bool = True,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Ship the request's material: packaging class by rule (BS-02), every item judged again on
    the shipping date (HB-03, HB-04, HB-05); the specimens become distributed, their positions
    are freed and a distribution event is recorded (BB-02); the ledger gains the entry."""
    require_permission(actor, "distribution.fulfil", request.organization)
    request = _locked(request)
    if request.status != Status.FULFILLING:
        raise ApplicationError(_("Only a request being fulfilled is shipped."), rule="BB-02")
    _check(approvals_decision(request))
    when = shipped_at or timezone.now()
    for item in request.items.filter(state=RequestItem.State.RESERVED).order_by("pk"):
        item_retrieve(actor=actor, item=item)
    items = list(
        request.items.filter(state=RequestItem.State.RETRIEVED)
        .select_related("shipped__participant", "shipped__material_type__maps_to", "specimen")
        .order_by("pk")
    )
    if not items:
        raise ApplicationError(_("Nothing is ready to ship."))
    shipped = [item.shipped for item in items if item.shipped is not None]
    facts = request_facts(request, timezone.localdate(when))
    consents = _consents_by_participant({s.participant_id for s in shipped if s.participant_id})
    for specimen in shipped:
        on_shelf = specimen_facts(specimen)
        # reserved for this very request: judge it as if available
        decision = rules.specimen_eligibility(
            rules.SpecimenFacts(**{**on_shelf.__dict__, "status": "available"}),
            rules.RequestFacts(**{**facts.__dict__, "quantity": None}),
            consents.get(specimen.participant_id or 0, []),
        )
        if not decision:
            raise ApplicationError(f"{specimen.barcode}: {decision.reason}", rule=decision.rule)
    _check(rules.temperature_valid(temperature, dry_ice_kg))
    recorded = recorded_agents(request, {i.specimen_id for i in items} | {s.pk for s in shipped})
    chosen = rules.shipment_risk_group(recorded, risk_group)
    infectious = any(s.infectious for s in shipped) or bool(recorded)
    try:
        packaging = rules.shipment_packaging(
            any_infectious=infectious,
            risk_group=chosen.risk_group,
            category_a_pathogen=category_a_pathogen,
            affects_humans=affects_humans,
        )
    except ValueError as exc:
        raise ApplicationError(str(exc), rule="BS-02") from exc
    if not courier.strip() or not tracking_number.strip():
        raise ApplicationError(_("Give the courier and the tracking number."))
    shipment = Shipment.objects.create(
        request=request,
        containers=containers,
        risk_group=chosen.risk_group,
        risk_group_source=chosen.source,
        risk_group_basis=chosen.reason[:500],
        packaging_category=packaging.category,
        un_number=packaging.un_number or "",
        shipping_name=packaging.shipping_name,
        packing_instruction=packaging.packing_instruction or "",
        temperature=temperature,
        dry_ice_kg=dry_ice_kg,
        courier=courier.strip(),
        tracking_number=tracking_number.strip(),
        shipped_at=when,
        shipped_by=actor,
        infectious=infectious,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=shipment,
        after=snapshot(shipment),
        reason=f"{packaging.reason}; {chosen.reason}",
    )
    for item in items:
        leaving = item.shipped
        assert leaving is not None
        specimen = leaving
        _specimen_event(
            actor,
            specimen,
            SpecimenEvent.Activity.DISTRIBUTION,
            when,
            request=request.code,
            destination=f"{request.destination_institution}, {request.destination_country}",
            courier=shipment.courier,
            tracking=shipment.tracking_number,
            packaging=packaging.category,
        )
        _specimen_status(actor, specimen, Specimen.Status.DISTRIBUTED, f"shipped {request.code}")
        specimen_links.released(specimen, actor, "distributed")
        if item.specimen_id != specimen.pk:
            parent = Specimen.objects.select_for_update().get(pk=item.specimen_id)
            if parent.status == Specimen.Status.RESERVED:
                _specimen_status(actor, parent, Specimen.Status.AVAILABLE, "aliquot shipped")
        before = snapshot(item)
        item.state = RequestItem.State.SHIPPED
        item.shipment = shipment
        item.save(update_fields=["state", "shipment", "updated_at"])
        _audit_item(actor, request, item, before, reason="shipped")
    _ledger(request, specimens=len(items), data_records=0, at=when)
    _move(actor, request, Status.SHIPPED)
    _tell_requester(
        request,
        "shipped",
        shipment=shipment,
        count=len(items),
        barcodes=[item.shipped.barcode for item in items if item.shipped is not None],
    )
    return shipment


@transaction.atomic
def spill_report(
    *,
    actor: User | None,
    shipment: Shipment,
    notified_at: datetime,
    reported_by: str,
    description: str,
) -> TransitSpill:
    """A spill or leak in transit (BS-14): recorded; for infectious material a biosafety
    incident opens, which owns the committee notice and the 24-hour report to the
    authorities (``biosafety.services.incident_from_transport_spill``)."""
    request = shipment.request
    _require_requester_or(actor, "distribution.fulfil", request)
    if not description.strip() or not reported_by.strip():
        raise ApplicationError(_("Say who reported it and what happened."), rule="BS-14")
    spill = TransitSpill.objects.create(
        shipment=shipment,
        notified_at=notified_at,
        reported_by=reported_by.strip(),
        description=description.strip(),
        infectious=shipment.infectious,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=request.organization,
        instance=spill,
        after=snapshot(spill),
    )
    # BS-14: the biosafety incident is the single owner of the committee notice and the
    # 24-hour report to the authorities (for infectious material).
    biosafety_services.incident_from_transport_spill(
        actor=actor,
        organization=request.organization,
        notified_at=notified_at,
        reported_by=spill.reported_by,
        description=spill.description,
        infectious=shipment.infectious,
        source=("distribution.transitspill", str(spill.pk)),
        reference=request.code,
    )
    # the people fulfilling the request, and the biosafety officers who own the incident
    _tell_staff(request, ("distribution.fulfil", "specimen.destroy"), "spill", spill=spill)
    return spill
