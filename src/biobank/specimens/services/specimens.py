"""Specimens: registration, visits following the planned tree, lifecycle events, lineage
(aliquot, derive, pool), holds, destruction. Quantities are conserved (BB-04)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, Site, User
from biobank.core.tenancy import require_permission
from biobank.participants import services as participant_services
from biobank.participants.models import Consent, Participant
from biobank.participants.rules import ProposedUse
from biobank.specimens import links, rules
from biobank.specimens.events import ParameterError, validate_parameters
from biobank.specimens.models import (
    Collection,
    Lineage,
    MaterialType,
    Specimen,
    SpecimenEvent,
    SpecimenNumbering,
    SpecimenRequirement,
)
from biobank.specimens.services.collections import material_type_for
from biobank.specimens.services.sprec_derivation import derived_sprec

AUDITED = [
    "barcode", "collection", "participant", "material_type", "acquired_type", "quantity",
    "remaining", "unit", "status", "sprec", "freeze_thaw_count", "consent_withdrawn", "on_hold",
    "infectious", "delinked", "received_at", "receipt_condition",
]  # fmt: skip


# what recording an event may change on the specimen
EVENT_FIELDS = [
    "freeze_thaw_count", "received_at", "receipt_condition", "status", "sprec", "updated_at",
]  # fmt: skip


def _state(specimen: Specimen) -> dict[str, Any]:
    return snapshot(specimen, AUDITED)


def _audit(
    actor: User | None,
    specimen: Specimen,
    action: str,
    before: dict[str, Any] | None,
    reason: str = "",
) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=specimen.organization,
        instance=specimen,
        before=before,
        after=_state(specimen),
        reason=reason,
    )


# Barcodes ------------------------------------------------------------------------------------


def barcodes_next(organization: Organization, count: int) -> list[str]:
    """Reserve ``count`` barcodes from the organization's pattern (locked, so never twice)."""
    numbering, _ = SpecimenNumbering.objects.get_or_create(
        organization=organization, defaults={"prefix": f"{organization.code}-"}
    )
    numbering = SpecimenNumbering.objects.select_for_update().get(pk=numbering.pk)
    first = numbering.next_number
    numbering.next_number = first + count
    numbering.save(update_fields=["next_number"])
    return [f"{numbering.prefix}{n:0{numbering.width}d}" for n in range(first, first + count)]


# Registration --------------------------------------------------------------------------------


def _check_source(category: str, participant: Participant | None, source_organism: str) -> None:
    decision = rules.source_is_valid(category, participant is not None, source_organism)
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)


def _check_consent(participant: Participant | None, on: date) -> None:
    """New human material needs a current consent (HB-02) and no withdrawal (HB-03)."""
    if participant is None:
        return
    if participant.status == Participant.Status.WITHDRAWN:
        raise ApplicationError(_("The participant withdrew consent."), rule="HB-03")
    if participant.status == Participant.Status.DELINKED:
        return
    # whether any consent is current, as ``active_consents`` would list it: one EXISTS query
    # instead of loading the consents with their terms (three queries, a fifth of a creation)
    current = [Consent.State.ACTIVE, Consent.State.NARROWED]
    if not participant.consents.filter(state__in=current).exists():
        raise ApplicationError(_("The participant has no consent on record."), rule="HB-02")


def _create(
    *,
    organization: Organization,
    barcode: str,
    material_type: MaterialType,
    acquired_type: MaterialType,
    quantity: Decimal,
    unit: str,
    status: str,
    collection: Collection | None = None,
    participant: Participant | None = None,
    **fields: Any,
) -> Specimen:
    if quantity < 0:
        raise ApplicationError(_("A quantity cannot be negative."), rule="BB-04")
    # the unique constraint on (organization, barcode) finds a barcode in use, instead of a
    # query before the insert; no savepoint: every caller is atomic and lets the refusal
    # roll its block back
    try:
        return Specimen.objects.create(
            organization=organization,
            barcode=barcode,
            material_type=material_type,
            acquired_type=acquired_type,
            category_id=material_type.category_id,
            quantity=quantity,
            remaining=quantity,
            unit=unit,
            status=status,
            collection=collection,
            participant=participant,
            delinked=participant is not None and participant.is_delinked,
            **fields,
        )
    except IntegrityError as exc:
        raise ApplicationError(_("Barcode %s is already in use.") % barcode) from exc


def _event(
    specimen: Specimen,
    activity: str,
    *,
    at: datetime,
    by: User | None,
    site: Site | None = None,
    sop: str = "",
    sop_version: str = "",
    parameters: dict[str, Any] | None = None,
    result: str = "",
) -> SpecimenEvent:
    try:
        clean = validate_parameters(activity, parameters or {})
    except ParameterError as exc:
        raise ApplicationError(_("Event parameters: %s") % exc, rule="BB-02") from exc
    return SpecimenEvent.objects.create(
        specimen=specimen,
        activity=activity,
        at=at,
        by=by,
        site=site,
        sop=sop,
        sop_version=sop_version,
        parameters=clean,
        result=result,
    )


@transaction.atomic
def specimen_register(
    *,
    actor: User | None,
    organization: Organization,
    material_type: str,
    quantity: Decimal,
    unit: str,
    barcode: str = "",
    collection: Collection | None = None,
    participant: Participant | None = None,
    source_organism: str = "",
    source_strain: str = "",
    source_identifier: str = "",
    collected_at: datetime | None = None,
    collection_site: Site | None = None,
    container_type: str = "",
    sop: str = "",
    sop_version: str = "",
    parameters: dict[str, Any] | None = None,
    status: str = Specimen.Status.COLLECTED,
) -> Specimen:
    """Register a specimen as collected or acquired (BB-02), with its source (BB-03)."""
    require_permission(actor, "specimen.manage", organization)
    mtype = material_type_for(organization, material_type)
    _check_source(mtype.category_id, participant, source_organism)
    if participant is not None and participant.organization_id != organization.pk:
        raise ApplicationError(_("The participant belongs to another organization."))
    if collection is not None and collection.organization_id != organization.pk:
        raise ApplicationError(_("The collection belongs to another organization."))
    at = collected_at or timezone.now()
    if at > timezone.now():
        raise ApplicationError(_("The collection time is in the future."), rule="BB-02")
    _check_consent(participant, timezone.localdate(at))
    specimen = _create(
        organization=organization,
        barcode=barcode.strip() or barcodes_next(organization, 1)[0],
        material_type=mtype,
        acquired_type=mtype,
        quantity=quantity,
        unit=unit,
        status=status,
        collection=collection,
        participant=participant,
        source_organism=source_organism,
        source_strain=source_strain,
        source_identifier=source_identifier,
        collected_at=at,
        collection_site=collection_site,
        container_type=container_type,
    )
    activity = "collection" if participant is not None else "acquisition"
    _event(
        specimen,
        activity,
        at=at,
        by=actor,
        site=collection_site,
        sop=sop,
        sop_version=sop_version,
        parameters=parameters,
    )
    _audit(actor, specimen, AuditEvent.Action.CREATE, None)
    return specimen


@dataclass
class Visit:
    primaries: list[Specimen]
    expected: list[Specimen]


@transaction.atomic
def visit_register(
    *,
    actor: User | None,
    collection: Collection,
    participant: Participant,
    collected_at: datetime,
    collection_site: Site | None = None,
    parameters: dict[str, Any] | None = None,
) -> Visit:
    """Register a participant's visit following the collection's planned tree in one step:
    primary specimens collected, everything planned from them created as expected."""
    organization = collection.organization
    require_permission(actor, "specimen.manage", organization)
    plan = list(collection.plan.select_related("material_type"))
    if not plan:
        raise ApplicationError(_("The collection has no planned specimens."))
    by_id = {node.pk: node for node in plan}

    def instances(node: SpecimenRequirement) -> int:
        return node.count * (instances(by_id[node.parent_id]) if node.parent_id else 1)

    codes = iter(barcodes_next(organization, sum(instances(node) for node in plan)))
    visit = Visit(primaries=[], expected=[])

    def build(node: SpecimenRequirement, parent: Specimen | None) -> None:
        for _n in range(node.count):
            if parent is None:
                specimen = specimen_register(
                    actor=actor,
                    organization=organization,
                    material_type=node.material_type.code,
                    quantity=node.quantity,
                    unit=node.unit,
                    barcode=next(codes),
                    collection=collection,
                    participant=participant,
                    collected_at=collected_at,
                    collection_site=collection_site,
                    container_type=node.container_type,
                    parameters=parameters,
                )
                visit.primaries.append(specimen)
            else:
                specimen = _create(
                    organization=organization,
                    barcode=next(codes),
                    material_type=node.material_type,
                    acquired_type=parent.acquired_type,
                    quantity=node.quantity,
                    unit=node.unit,
                    status=Specimen.Status.EXPECTED,
                    collection=collection,
                    participant=participant,
                    collected_at=collected_at,
                    container_type=node.container_type,
                )
                Lineage.objects.create(
                    parent=parent,
                    child=specimen,
                    kind=node.kind,
                    quantity_taken=node.quantity_taken
                    if node.quantity_taken is not None
                    else (node.quantity if node.unit == parent.unit else Decimal(0)),
                )
                _audit(actor, specimen, AuditEvent.Action.CREATE, None, reason="planned")
                visit.expected.append(specimen)
            for child in [n for n in plan if n.parent_id == node.pk]:
                build(child, specimen)

    for root in [n for n in plan if n.parent_id is None]:
        build(root, None)
    return visit


@transaction.atomic
def specimen_prepare_planned(
    *,
    actor: User | None,
    specimen: Specimen,
    at: datetime | None = None,
    parameters: dict[str, Any] | None = None,
    sop: str = "",
    sop_version: str = "",
) -> Specimen:
    """Turn an expected specimen into a real one: take its planned amount from the parent."""
    require_permission(actor, "specimen.manage", specimen.organization)
    specimen = Specimen.objects.select_for_update().get(pk=specimen.pk)
    if specimen.status != Specimen.Status.EXPECTED:
        raise ApplicationError(_("Only an expected specimen is prepared as planned."))
    link = specimen.parent_links.select_related("parent").first()
    if link is None:
        raise ApplicationError(_("This specimen has no planned parent."))
    parent = Specimen.objects.select_for_update().get(pk=link.parent_id)
    _take(actor, parent, [link.quantity_taken], reason=f"prepared {specimen.barcode}")
    before = _state(specimen)
    specimen.status = Specimen.Status.AVAILABLE
    specimen.save(update_fields=["status", "updated_at"])
    when = at or timezone.now()
    _event(
        specimen,
        "preparation",
        at=when,
        by=actor,
        sop=sop,
        sop_version=sop_version,
        parameters=parameters or {"method": link.kind},
    )
    _audit(actor, specimen, AuditEvent.Action.TRANSITION, before, reason="prepared as planned")
    return specimen


# Events --------------------------------------------------------------------------------------


@transaction.atomic
def specimen_event_record(
    *,
    actor: User | None,
    specimen: Specimen,
    activity: str,
    at: datetime,
    site: Site | None = None,
    sop: str = "",
    sop_version: str = "",
    parameters: dict[str, Any] | None = None,
    result: str = "",
) -> SpecimenEvent:
    """Record a lifecycle event (BB-02); freezing and thawing keep the freeze-thaw count."""
    require_permission(actor, "specimen.manage", specimen.organization)
    if activity not in SpecimenEvent.Activity.values:
        raise ApplicationError(_("Unknown activity %s.") % activity, rule="BB-02")
    if at > timezone.now():
        raise ApplicationError(_("The event time is in the future."), rule="BB-02")
    # the material type (for the SPREC) and organization (for the audit) in the same query;
    # only the specimen's row is locked
    specimen = (
        Specimen.objects.select_for_update(of=("self",))
        .select_related("material_type", "organization")
        .get(pk=specimen.pk)
    )
    event = _event(
        specimen,
        activity,
        at=at,
        by=actor,
        site=site,
        sop=sop,
        sop_version=sop_version,
        parameters=parameters,
        result=result,
    )
    before = _state(specimen)
    if activity == SpecimenEvent.Activity.THAW:
        specimen.freeze_thaw_count += 1
    if activity == SpecimenEvent.Activity.RECEPTION:
        specimen.received_at = at
        specimen.receipt_condition = (parameters or {}).get("condition", "") or ""
        if specimen.status in {Specimen.Status.COLLECTED, Specimen.Status.EXPECTED}:
            specimen.status = Specimen.Status.RECEIVED
    if activity in {"storage", "preservation"} and specimen.status in {
        Specimen.Status.COLLECTED,
        Specimen.Status.RECEIVED,
        Specimen.Status.IN_PROCESS,
    }:
        specimen.status = Specimen.Status.AVAILABLE
    specimen.sprec = derived_sprec(specimen) or specimen.sprec
    # the row was just read under lock, so writing only what an event changes is the same
    specimen.save(update_fields=EVENT_FIELDS)
    _audit(actor, specimen, AuditEvent.Action.UPDATE, before, reason=f"event: {activity}")
    return event


# Lineage -------------------------------------------------------------------------------------


def _take(
    actor: User | None,
    parent: Specimen,
    amounts: Sequence[Decimal],
    *,
    reason: str,
    keep_empty: bool = False,
) -> None:
    decision = rules.can_process(
        status=parent.status, consent_withdrawn=parent.consent_withdrawn, on_hold=parent.on_hold
    )
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)
    try:
        take = rules.take_from(parent.remaining, list(amounts), keep_when_empty=keep_empty)
    except rules.QuantityError as exc:
        raise ApplicationError(str(exc), rule=exc.rule) from exc
    before = _state(parent)
    parent.remaining = take.remaining
    if take.depleted:
        parent.status = Specimen.Status.DEPLETED
    parent.save(update_fields=["remaining", "status", "updated_at"])
    if take.depleted:
        links.released(parent, actor, "depleted")
    _audit(actor, parent, AuditEvent.Action.UPDATE, before, reason=reason)


def _children(
    actor: User | None,
    parents: Sequence[tuple[Specimen, Decimal]],
    kind: str,
    material_type: MaterialType,
    quantities: Sequence[Decimal],
    unit: str,
    barcodes: Sequence[str],
    at: datetime,
    parameters: dict[str, Any] | None,
    container_type: str,
    sop: str,
    sop_version: str,
) -> list[Specimen]:
    first = parents[0][0]
    owners = {p.participant_id for p, _t in parents}
    participant = first.participant if len(owners) == 1 else None
    decision = rules.lineage_is_valid(
        kind, [p.material_type.code for p, _t in parents], material_type.code
    )
    if not decision:
        raise ApplicationError(decision.reason, rule=decision.rule)
    shares = {parent.pk: rules.split_taken(taken, list(quantities)) for parent, taken in parents}
    codes = list(barcodes) or barcodes_next(first.organization, len(quantities))
    if len(codes) != len(quantities):
        raise ApplicationError(_("Give one barcode per child."))
    children: list[Specimen] = []
    for code, quantity in zip(codes, quantities, strict=True):
        child = _create(
            organization=first.organization,
            barcode=code,
            material_type=material_type,
            acquired_type=first.acquired_type,
            quantity=quantity,
            unit=unit,
            status=Specimen.Status.AVAILABLE,
            collection=first.collection,
            participant=participant,
            source_organism=first.source_organism,
            source_strain=first.source_strain,
            collected_at=first.collected_at,
            container_type=container_type or first.container_type,
            infectious=any(p.infectious for p, _t in parents),
            consent_withdrawn=any(p.consent_withdrawn for p, _t in parents),
        )
        for parent, _taken in parents:
            Lineage.objects.create(
                parent=parent,
                child=child,
                kind=kind,
                quantity_taken=shares[parent.pk][len(children)],
            )
        _event(
            child,
            "preparation",
            at=at,
            by=actor,
            sop=sop,
            sop_version=sop_version,
            parameters=parameters or {"method": kind},
        )
        derived = derived_sprec(child)
        if derived:
            child.sprec = derived
            child.save(update_fields=["sprec"])
        _audit(
            actor,
            child,
            AuditEvent.Action.CREATE,
            None,
            reason=f"{kind} of {', '.join(p.barcode for p, _ in parents)}",
        )
        children.append(child)
    return children


def _locked(specimen: Specimen) -> Specimen:
    return (
        Specimen.objects.select_for_update()
        .select_related("material_type", "organization")
        .get(pk=specimen.pk)
    )


@transaction.atomic
def specimen_aliquot(
    *,
    actor: User | None,
    parent: Specimen,
    count: int,
    quantity_each: Decimal,
    barcodes: Sequence[str] = (),
    keep_empty: bool = False,
    at: datetime | None = None,
    container_type: str = "",
) -> list[Specimen]:
    """Split a specimen into ``count`` aliquots of the same material (BB-04)."""
    require_permission(actor, "specimen.manage", parent.organization)
    if count < 1 or quantity_each <= 0:
        raise ApplicationError(_("Give a positive count and quantity."))
    parent = _locked(parent)
    total = quantity_each * count
    _take(actor, parent, [total], reason=f"{count} aliquots", keep_empty=keep_empty)
    return _children(
        actor,
        [(parent, total)],
        "aliquot",
        parent.material_type,
        [quantity_each] * count,
        parent.unit,
        barcodes,
        at or timezone.now(),
        None,
        container_type,
        "",
        "",
    )


@transaction.atomic
def specimen_derive(
    *,
    actor: User | None,
    parent: Specimen,
    material_type: str,
    quantity_taken: Decimal,
    quantities: Sequence[Decimal],
    unit: str,
    barcodes: Sequence[str] = (),
    parameters: dict[str, Any] | None = None,
    keep_empty: bool = False,
    at: datetime | None = None,
    container_type: str = "",
    sop: str = "",
    sop_version: str = "",
    concentration: Decimal | None = None,
    concentration_unit: str = "",
) -> list[Specimen]:
    """Prepare derivatives of another material (whole blood → plasma, buffy coat → DNA):
    ``quantity_taken`` of the parent, in its unit, makes children of ``quantities`` (BB-04)."""
    require_permission(actor, "specimen.manage", parent.organization)
    if not quantities or any(q <= 0 for q in quantities) or quantity_taken <= 0:
        raise ApplicationError(_("Give positive quantities."))
    parent = _locked(parent)
    mtype = material_type_for(parent.organization, material_type)
    _take(actor, parent, [quantity_taken], reason=f"derived {mtype.code}", keep_empty=keep_empty)
    children = _children(
        actor,
        [(parent, quantity_taken)],
        "derivative",
        mtype,
        quantities,
        unit,
        barcodes,
        at or timezone.now(),
        parameters,
        container_type,
        sop,
        sop_version,
    )
    if concentration is not None:
        if concentration <= 0 or not concentration_unit.strip():
            raise ApplicationError(_("A concentration is positive and has its unit."), rule="BB-01")
        Specimen.objects.filter(pk__in=[c.pk for c in children]).update(
            concentration=concentration, concentration_unit=concentration_unit.strip()
        )
        for child in children:
            child.concentration, child.concentration_unit = (
                concentration,
                concentration_unit.strip(),
            )
    return children


@transaction.atomic
def specimen_pool(
    *,
    actor: User | None,
    parents: Sequence[tuple[Specimen, Decimal]],
    quantity: Decimal,
    barcode: str = "",
    at: datetime | None = None,
) -> Specimen:
    """Pool several specimens of one material type into one (BB-04)."""
    if len(parents) < 2:
        raise ApplicationError(_("A pool joins at least two specimens."), rule="BB-04")
    organization = parents[0][0].organization
    require_permission(actor, "specimen.manage", organization)
    locked = []
    for parent, taken in sorted(parents, key=lambda item: item[0].pk):  # fixed lock order
        if parent.organization_id != organization.pk:
            raise ApplicationError(_("Pooled specimens belong to one organization."))
        row = _locked(parent)
        _take(actor, row, [taken], reason="pooled")
        locked.append((row, taken))
    units = {row.unit for row, _t in locked}
    if len(units) != 1:
        raise ApplicationError(_("Pooled specimens share one unit."), rule="BB-04")
    return _children(
        actor,
        locked,
        "pool",
        locked[0][0].material_type,
        [quantity],
        units.pop(),
        [barcode] if barcode else [],
        at or timezone.now(),
        None,
        "",
        "",
        "",
    )[0]


# Holds, destruction, status ------------------------------------------------------------------


@transaction.atomic
def specimen_set_hold(
    *, actor: User | None, specimen: Specimen, on_hold: bool, reason: str
) -> Specimen:
    require_permission(actor, "specimen.manage", specimen.organization)
    if not reason.strip():
        raise ApplicationError(_("Say why."))
    specimen = _locked(specimen)
    before = _state(specimen)
    specimen.on_hold = on_hold
    specimen.save(update_fields=["on_hold", "updated_at"])
    _audit(actor, specimen, AuditEvent.Action.TRANSITION, before, reason=reason)
    return specimen


@transaction.atomic
def specimen_destroy(
    *, actor: User | None, specimen: Specimen, method: str, reason: str, at: datetime | None = None
) -> Specimen:
    """Destroy a specimen: recorded as an event, never deleted (BB-02, HB-03)."""
    require_permission(actor, "specimen.destroy", specimen.organization)
    specimen = _locked(specimen)
    if specimen.status in {Specimen.Status.DESTROYED, Specimen.Status.DISTRIBUTED}:
        raise ApplicationError(_("This specimen is no longer held."))
    before = _state(specimen)
    _event(
        specimen,
        "destruction",
        at=at or timezone.now(),
        by=actor,
        parameters={"method": method, "reason": reason},
    )
    specimen.status = Specimen.Status.DESTROYED
    specimen.remaining = Decimal(0)
    specimen.save(update_fields=["status", "remaining", "updated_at"])
    links.released(specimen, actor, "destroyed")
    _audit(actor, specimen, AuditEvent.Action.TRANSITION, before, reason=reason)
    return specimen


@transaction.atomic
def specimen_mark_missing(*, actor: User | None, specimen: Specimen, reason: str) -> Specimen:
    require_permission(actor, "specimen.manage", specimen.organization)
    specimen = _locked(specimen)
    if specimen.status in {Specimen.Status.DESTROYED, Specimen.Status.DISTRIBUTED}:
        raise ApplicationError(_("This specimen is no longer held."), rule="BB-02")
    before = _state(specimen)
    specimen.status = Specimen.Status.MISSING
    specimen.save(update_fields=["status", "updated_at"])
    links.released(specimen, actor, "missing")
    _audit(actor, specimen, AuditEvent.Action.TRANSITION, before, reason=reason)
    return specimen


# New use -------------------------------------------------------------------------------------


def specimen_use_check(specimen: Specimen, use: ProposedUse | None = None) -> rules.Decision:
    """Whether the specimen may go to a new use, and, for human material, whether the
    participant's consent permits ``use`` (HB-03, HB-04)."""
    decision = rules.new_use_block(
        status=specimen.status,
        consent_withdrawn=specimen.consent_withdrawn,
        on_hold=specimen.on_hold,
        remaining=specimen.remaining,
    )
    if not decision or use is None or specimen.participant is None or specimen.delinked:
        return decision
    consent = participant_services.consent_check_use(specimen.participant, use)
    return rules.Decision(consent.allowed, consent.reason, consent.rule)
