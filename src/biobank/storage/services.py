"""Storage use cases: units, placing, moving, check-out/in, access records, temperature.

One specimen per position and one position per specimen are unique constraints on
``Placement``; a concurrent writer that loses the race gets a clear refusal, never a double
booking (tests/storage/test_concurrency.py). Every opening of a unit is an access record
(BS-07); every placement, move and return is a lifecycle event of the specimen (BB-02).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from biobank.core import services as core_services
from biobank.core.audit import audit_record, snapshot
from biobank.core.errors import ApplicationError
from biobank.core.models import AuditEvent, Organization, Site, User
from biobank.core.roles import Role
from biobank.core.tenancy import require_permission
from biobank.specimens.models import Specimen, SpecimenEvent
from biobank.specimens.rules import HELD_STATUSES
from biobank.storage import rules
from biobank.storage.models import (
    EQUIPMENT,
    HOLDERS,
    AccessGrant,
    CheckOut,
    ContainerType,
    Excursion,
    Kind,
    Placement,
    StorageAccess,
    StorageUnit,
    TemperatureReading,
)

RANK = {
    Kind.SITE: 0, Kind.ROOM: 1,
    Kind.FREEZER: 2, Kind.LN2_TANK: 2, Kind.REFRIGERATOR: 2, Kind.CABINET: 2, Kind.AUTOMATED: 2,
    Kind.RACK: 3, Kind.SHELF: 3, Kind.BOX: 4, Kind.PLATE: 4,
}  # fmt: skip
UNIT_FIELDS = [
    "barcode", "name", "kind", "parent", "rows", "columns", "scheme", "order", "set_point_c",
    "alarm_low_c", "alarm_high_c", "temperature_class", "site",
]  # fmt: skip


def geometry(unit: StorageUnit) -> rules.Geometry:
    if not unit.is_holder or not unit.rows or not unit.columns:
        raise ApplicationError(_("%s has no positions.") % unit.barcode, rule="BB-02")
    return _shape(unit.rows, unit.columns, unit.scheme, unit.order)


def _shape(rows: int, columns: int, scheme: str, order: str) -> rules.Geometry:
    if scheme not in {"alpha", "row-col", "numeric"} or order not in {"row", "column"}:
        raise ApplicationError(_("Unknown labelling or fill order."), rule="BB-02")
    return rules.Geometry(rows=rows, columns=columns, scheme=scheme, order=order)  # type: ignore[arg-type]


def ancestors(unit: StorageUnit) -> list[StorageUnit]:
    """The unit's ancestors, root first (one query through the materialised path)."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1] if part]
    by_id = {u.pk: u for u in StorageUnit.objects.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def equipment_of(unit: StorageUnit) -> StorageUnit | None:
    for candidate in [*reversed(ancestors(unit)), unit][::-1]:
        if candidate.kind in EQUIPMENT:
            return candidate
    return None


def subtree(unit: StorageUnit) -> QuerySet[StorageUnit]:
    return StorageUnit.objects.filter(path__startswith=unit.path)


# Units ---------------------------------------------------------------------------------------


def _fits_under(kind: str, parent_kind: str) -> bool:
    """Deeper kinds go inside shallower ones; racks and shelves may nest; boxes hold tubes."""
    if parent_kind in HOLDERS:
        return False
    rank, parent_rank = RANK[Kind(kind)], RANK[Kind(parent_kind)]
    return rank > parent_rank or (rank == parent_rank and kind in {Kind.RACK, Kind.SHELF})


@transaction.atomic
def unit_create(
    *,
    actor: User | None,
    organization: Organization,
    barcode: str,
    name: str,
    kind: str,
    parent: StorageUnit | None = None,
    container_type: ContainerType | None = None,
    rows: int | None = None,
    columns: int | None = None,
    scheme: str | None = None,
    order: str | None = None,
    set_point_c: Decimal | None = None,
    alarm_low_c: Decimal | None = None,
    alarm_high_c: Decimal | None = None,
    site: Site | None = None,
    temperature_class: Any = None,
) -> StorageUnit:
    """Add a unit to the hierarchy: site → room → equipment → rack/shelf → box/plate."""
    require_permission(actor, "storage.manage", organization)
    barcode = barcode.strip()
    if not barcode or not name.strip():
        raise ApplicationError(_("A storage unit needs a barcode and a name."))
    if kind not in RANK:
        raise ApplicationError(_("Unknown kind of storage unit: %s") % kind)
    if parent is not None:
        if parent.organization_id != organization.pk:
            raise ApplicationError(_("The parent belongs to another organization."))
        if not _fits_under(kind, parent.kind):
            raise ApplicationError(
                _("A %(kind)s cannot be inside a %(parent)s.")
                % {"kind": Kind(kind).label, "parent": Kind(parent.kind).label},
                rule="BB-02",
            )
    if StorageUnit.objects.filter(organization=organization, barcode=barcode).exists():
        raise ApplicationError(_("Barcode %s is already in use.") % barcode)
    if container_type is not None:
        rows = rows or container_type.rows
        columns = columns or container_type.columns
        scheme = scheme or container_type.scheme
        order = order or container_type.order
    unit = StorageUnit(
        organization=organization,
        barcode=barcode,
        name=name.strip(),
        kind=kind,
        parent=parent,
        container_type=container_type,
        rows=rows,
        columns=columns,
        scheme=scheme or "alpha",
        order=order or "row",
        set_point_c=set_point_c,
        alarm_low_c=alarm_low_c,
        alarm_high_c=alarm_high_c,
        temperature_class=temperature_class,
        site=site or (parent.site if parent else None),
    )
    if unit.is_holder:
        try:
            _shape(rows or 0, columns or 0, unit.scheme, unit.order)
        except ValueError as exc:
            raise ApplicationError(str(exc), rule="BB-02") from exc
    unit.path = "/"
    unit.save()
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.depth = parent.depth + 1 if parent else 0
    unit.save(update_fields=["path", "depth"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=organization,
        instance=unit,
        after=snapshot(unit, UNIT_FIELDS),
    )
    return unit


@transaction.atomic
def unit_move(
    *, actor: User | None, unit: StorageUnit, parent: StorageUnit, at: datetime | None = None
) -> StorageUnit:
    """Move a box or rack (with everything in it) under another unit: a transfer event for
    each specimen inside (BB-02) and an access record at both ends (BS-07)."""
    require_permission(actor, "storage.manage", unit.organization)
    unit = StorageUnit.objects.select_for_update().get(pk=unit.pk)
    if parent.path.startswith(unit.path):
        raise ApplicationError(_("A unit cannot move into itself."))
    if parent.organization_id != unit.organization_id or not _fits_under(unit.kind, parent.kind):
        raise ApplicationError(
            _("A %(kind)s cannot be inside a %(parent)s.")
            % {"kind": Kind(unit.kind).label, "parent": Kind(parent.kind).label},
            rule="BB-02",
        )
    before = snapshot(unit, UNIT_FIELDS)
    old_path, old_parent = unit.path, unit.parent
    new_path = f"{parent.path}{unit.pk}/"
    shift = parent.depth + 1 - unit.depth
    for node in StorageUnit.objects.select_for_update().filter(path__startswith=old_path):
        node.path = new_path + node.path[len(old_path) :]
        node.depth += shift
        node.save(update_fields=["path", "depth"])
    unit.refresh_from_db()
    unit.parent = parent
    unit.site = parent.site or unit.site
    unit.save(update_fields=["parent", "site", "updated_at"])
    when = at or timezone.now()
    inside = Specimen.objects.filter(placement__unit__path__startswith=unit.path)
    SpecimenEvent.objects.bulk_create(
        SpecimenEvent(
            specimen=s,
            activity="transfer",
            at=when,
            by=actor,
            parameters={
                "unit": unit.barcode,
                "from": old_parent.barcode if old_parent else "",
                "to": parent.barcode,
            },
        )
        for s in inside
    )
    for end in filter(None, [old_parent, parent]):
        _access(actor, end, StorageAccess.Purpose.TRANSFER, at=when, note=f"{unit.barcode} moved")
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=unit.organization,
        instance=unit,
        before=before,
        after=snapshot(unit, UNIT_FIELDS),
        reason="moved",
    )
    return unit


# Placing -------------------------------------------------------------------------------------


def _access(
    actor: User | None,
    unit: StorageUnit,
    purpose: str,
    *,
    at: datetime | None = None,
    specimen: Specimen | None = None,
    note: str = "",
    equipment: StorageUnit | None = None,
    equipment_id: int | None = None,
) -> None:
    """An access record on the equipment holding ``unit`` (or the unit itself); pass
    ``equipment`` (or the id of the unit to record it on) when it is already known."""
    StorageAccess.objects.create(
        unit_id=equipment_id or (equipment or equipment_of(unit) or unit).pk,
        person=actor,
        at=at or timezone.now(),
        purpose=purpose,
        specimen=specimen,
        note=note[:200],
    )


def _position(unit: StorageUnit, position: str | tuple[int, int]) -> tuple[int, int]:
    shape = geometry(unit)
    if isinstance(position, tuple):
        row, column = position
        if not (1 <= row <= shape.rows and 1 <= column <= shape.columns):
            raise ApplicationError(_("%s has no such position.") % unit.barcode, rule="BB-02")
        return row, column
    try:
        return rules.parse(shape, position)
    except rules.PositionError as exc:
        raise ApplicationError(str(exc), rule="BB-02") from exc


@dataclass(frozen=True)
class _Level:
    """One level of a unit's hierarchy as placing needs it."""

    pk: int
    barcode: str
    kind: str
    set_point_c: Decimal | None
    types: set[int]
    collections: set[int]


@dataclass(frozen=True)
class Restriction:
    """What one level of the hierarchy accepts (empty sets: anything)."""

    barcode: str
    types: frozenset[int]
    collections: frozenset[int]


def _path_ids(unit: StorageUnit) -> list[int]:
    """The ids of the unit's ancestors and of itself, root first."""
    return [int(part) for part in unit.path.strip("/").split("/") if part]


def _refuse_placed(specimen: Specimen) -> None:
    """Refuse to place a specimen that is already in a box."""
    existing = Placement.objects.filter(specimen=specimen).select_related("unit").first()
    if existing is not None:
        raise ApplicationError(
            _("%(barcode)s is already in %(unit)s %(label)s; move it instead.")
            % {
                "barcode": specimen.barcode,
                "unit": existing.unit.barcode,
                "label": label_of(existing),
            },
            rule="BB-02",
        )


def restrictions(units: Sequence[StorageUnit]) -> dict[int, list[Restriction]]:
    """For each unit, the restrictions of itself and its ancestors, in two queries."""
    ids = {int(part) for u in units for part in u.path.strip("/").split("/") if part}
    levels = {
        u.pk: Restriction(
            u.barcode,
            frozenset(t.pk for t in u.allowed_material_types.all()),
            frozenset(c.pk for c in u.allowed_collections.all()),
        )
        for u in StorageUnit.objects.filter(pk__in=ids).prefetch_related(
            "allowed_material_types", "allowed_collections"
        )
    }
    return {
        u.pk: [
            levels[int(part)]
            for part in u.path.strip("/").split("/")
            if part and int(part) in levels
        ]
        for u in units
    }


def _refusal(levels: Sequence[Restriction], specimen: Specimen) -> str | None:
    for level in levels:
        if (
            level.types
            and specimen.material_type_id not in level.types
            and (specimen.material_type.maps_to_id not in level.types)
        ):
            return _("%(unit)s does not take %(type)s.") % {
                "unit": level.barcode,
                "type": specimen.material_type.label,
            }
        if level.collections and specimen.collection_id not in level.collections:
            return _("%s is reserved for other collections.") % level.barcode
    return None


def _check_restrictions(unit: StorageUnit, specimen: Specimen) -> None:
    refusal = _refusal(restrictions([unit])[unit.pk], specimen)
    if refusal:
        raise ApplicationError(refusal, rule="BB-02")


def label_of(placement: Placement) -> str:
    return rules.label(geometry(placement.unit), placement.row, placement.column)


@transaction.atomic
def specimen_place(
    *,
    actor: User | None,
    specimen: Specimen,
    unit: StorageUnit,
    position: str | tuple[int, int],
    at: datetime | None = None,
) -> Placement:
    """Put a specimen into a position of a box (BB-02), recorded as storage and as an access."""
    require_permission(actor, "specimen.manage", unit.organization)
    if specimen.organization_id != unit.organization_id:
        raise ApplicationError(_("The specimen belongs to another organization."))
    if specimen.status not in HELD_STATUSES or specimen.status == Specimen.Status.MISSING:
        raise ApplicationError(_("%s is not held here any more.") % specimen.barcode, rule="BB-02")
    row, column = _position(unit, position)
    # the unit and its ancestors with what each accepts, for the restrictions and for the
    # equipment, in one query of plain values (LEFT JOINs: a level restricted both ways comes
    # back as types × collections rows, a handful in practice)
    path = _path_ids(unit)
    levels: dict[int, _Level] = {}
    rows = (
        StorageUnit.objects.filter(pk__in=path)
        .order_by()
        .values_list(
            "pk", "barcode", "kind", "set_point_c", "allowed_material_types", "allowed_collections"
        )
    )
    for pk, barcode, kind, set_point_c, type_id, collection_id in rows:
        level = levels.setdefault(pk, _Level(pk, barcode, kind, set_point_c, set(), set()))
        if type_id is not None:
            level.types.add(type_id)
        if collection_id is not None:
            level.collections.add(collection_id)
    chain = [levels[i] for i in path if i in levels]
    refusal = _refusal(
        [Restriction(lv.barcode, frozenset(lv.types), frozenset(lv.collections)) for lv in chain],
        specimen,
    )
    if refusal:
        raise ApplicationError(refusal, rule="BB-02")
    when = at or timezone.now()
    try:
        with transaction.atomic():
            placement = Placement.objects.create(
                unit=unit,
                row=row,
                column=column,
                specimen=specimen,
                placed_at=when,
                placed_by=actor,
            )
    except IntegrityError as exc:
        # one position per specimen and one specimen per position: the constraints decide,
        # then say which (the specimen already placed first, as before the insert)
        _refuse_placed(specimen)
        holder = (
            Placement.objects.filter(unit=unit, row=row, column=column)
            .select_related("specimen")
            .first()
        )
        raise ApplicationError(
            _("%(unit)s %(label)s is taken by %(barcode)s.")
            % {
                "unit": unit.barcode,
                "label": rules.label(geometry(unit), row, column),
                "barcode": holder.specimen.barcode if holder else "?",
            },
            rule="BB-02",
        ) from exc
    label = rules.label(geometry(unit), row, column)
    equipment = next((level for level in reversed(chain) if level.kind in EQUIPMENT), None)
    parameters: dict[str, Any] = {}
    if equipment is not None and equipment.set_point_c is not None:
        parameters["temperature_c"] = float(equipment.set_point_c)
    from biobank.specimens.services.specimens import specimen_event_record

    specimen_event_record(
        actor=actor,
        specimen=specimen,
        activity="storage",
        at=min(when, timezone.now()),
        parameters=parameters,
        result=f"{unit.barcode} {label}",
    )
    _access(
        actor,
        unit,
        StorageAccess.Purpose.PLACING,
        at=when,
        specimen=specimen,
        note=f"{specimen.barcode} → {unit.barcode} {label}",
        equipment_id=equipment.pk if equipment is not None else unit.pk,
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        organization=unit.organization,
        instance=placement,
        object_repr=f"{specimen.barcode} at {unit.barcode} {label}",
        after={"specimen": specimen.barcode, "unit": unit.barcode, "position": label},
    )
    return placement


@transaction.atomic
def specimen_move(
    *,
    actor: User | None,
    specimen: Specimen,
    unit: StorageUnit,
    position: str | tuple[int, int],
    at: datetime | None = None,
) -> Placement:
    """Move a placed specimen to another position: one transfer event, from and to (BB-02)."""
    require_permission(actor, "specimen.manage", unit.organization)
    current = (
        Placement.objects.select_for_update()
        .select_related("unit")
        .filter(specimen=specimen)
        .first()
    )
    if current is None:
        raise ApplicationError(_("%s is not in storage; place it instead.") % specimen.barcode)
    row, column = _position(unit, position)
    _check_restrictions(unit, specimen)
    origin = f"{current.unit.barcode} {label_of(current)}"
    destination = f"{unit.barcode} {rules.label(geometry(unit), row, column)}"
    when = at or timezone.now()
    current.delete()
    try:
        with transaction.atomic():
            placement = Placement.objects.create(
                unit=unit,
                row=row,
                column=column,
                specimen=specimen,
                placed_at=when,
                placed_by=actor,
            )
    except IntegrityError as exc:
        raise ApplicationError(_("%s is taken.") % destination, rule="BB-02") from exc
    SpecimenEvent.objects.create(
        specimen=specimen,
        activity="transfer",
        at=when,
        by=actor,
        parameters={"from": origin, "to": destination},
    )
    _access(
        actor,
        unit,
        StorageAccess.Purpose.TRANSFER,
        at=when,
        specimen=specimen,
        note=f"{specimen.barcode} {origin} → {destination}",
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=unit.organization,
        instance=placement,
        before={"position": origin},
        after={"position": destination},
        object_repr=f"{specimen.barcode} moved",
    )
    return placement


def release_position(specimen: Specimen, actor: User | None, reason: str) -> None:
    """Free the specimen's position when it leaves the stock (registered with specimens)."""
    placement = Placement.objects.select_related("unit").filter(specimen=specimen).first()
    if placement is None:
        return
    label = f"{placement.unit.barcode} {label_of(placement)}"
    CheckOut.objects.filter(specimen=specimen, returned_at__isnull=True).update(
        returned_at=timezone.now(), returned_by=actor
    )
    placement.delete()
    _access(
        actor,
        placement.unit,
        StorageAccess.Purpose.RETRIEVING,
        specimen=specimen,
        note=f"{specimen.barcode} {label}: {reason}",
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=specimen.organization,
        object_type="storage.placement",
        object_id=str(placement.pk),
        object_repr=f"{specimen.barcode} left {label}",
        before={"position": label},
        after=None,
        reason=reason,
    )


@transaction.atomic
def specimen_remove(*, actor: User | None, specimen: Specimen, reason: str) -> None:
    """Take a specimen out of storage for good (it is recorded elsewhere, e.g. shipped)."""
    require_permission(actor, "specimen.manage", specimen.organization)
    if not reason.strip():
        raise ApplicationError(_("Say why."))
    release_position(specimen, actor, reason)


# Check-out and check-in ----------------------------------------------------------------------


@transaction.atomic
def specimen_check_out(
    *, actor: User, specimen: Specimen, reason: str, at: datetime | None = None
) -> CheckOut:
    """Temporary removal: the position stays reserved until the specimen is back."""
    require_permission(actor, "specimen.manage", specimen.organization)
    placement = Placement.objects.select_related("unit").filter(specimen=specimen).first()
    if placement is None:
        raise ApplicationError(_("%s is not in storage.") % specimen.barcode)
    if CheckOut.objects.filter(specimen=specimen, returned_at__isnull=True).exists():
        raise ApplicationError(_("%s is already checked out.") % specimen.barcode)
    when = at or timezone.now()
    checkout = CheckOut.objects.create(
        specimen=specimen,
        unit=placement.unit,
        row=placement.row,
        column=placement.column,
        out_at=when,
        out_by=actor,
        reason=reason.strip() or "check-out",
    )
    _access(
        actor,
        placement.unit,
        StorageAccess.Purpose.RETRIEVING,
        at=when,
        specimen=specimen,
        note=f"check-out: {reason}",
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=specimen.organization,
        instance=checkout,
        after={"specimen": specimen.barcode, "reason": reason},
    )
    return checkout


@transaction.atomic
def specimen_check_in(*, actor: User, specimen: Specimen, at: datetime | None = None) -> CheckOut:
    """Return to the reserved position; frozen material counts one more freeze-thaw cycle."""
    require_permission(actor, "specimen.manage", specimen.organization)
    checkout = (
        CheckOut.objects.select_for_update()
        .filter(specimen=specimen, returned_at__isnull=True)
        .first()
    )
    if checkout is None:
        raise ApplicationError(_("%s is not checked out.") % specimen.barcode)
    when = at or timezone.now()
    checkout.returned_at, checkout.returned_by = when, actor
    checkout.save(update_fields=["returned_at", "returned_by"])
    equipment = equipment_of(checkout.unit)
    frozen = (
        equipment is not None and equipment.set_point_c is not None and equipment.set_point_c < 0
    )
    if frozen:
        from biobank.specimens.services.specimens import specimen_event_record

        specimen_event_record(
            actor=actor,
            specimen=specimen,
            activity="thaw",
            at=checkout.out_at,
            result=checkout.reason,
        )
        specimen_event_record(
            actor=actor,
            specimen=specimen,
            activity="freeze",
            at=when,
            parameters={"temperature_c": float(equipment.set_point_c)}
            if equipment is not None and equipment.set_point_c is not None
            else {},
        )
    _access(
        actor,
        checkout.unit,
        StorageAccess.Purpose.PLACING,
        at=when,
        specimen=specimen,
        note="check-in",
    )
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        organization=specimen.organization,
        instance=checkout,
        after={"specimen": specimen.barcode, "returned_at": when},
    )
    return checkout


def time_out_of_storage(specimen: Specimen, *, now: datetime | None = None) -> timedelta:
    now = now or timezone.now()
    total = timedelta()
    for checkout in CheckOut.objects.filter(specimen=specimen):
        total += (checkout.returned_at or now) - checkout.out_at
    return total


# Find places and rack scans ------------------------------------------------------------------


def find_places(
    *, within: StorageUnit, specimens: Sequence[Specimen], keep_together: bool = False
) -> list[tuple[Specimen, StorageUnit, int, int]]:
    """Free positions under ``within`` for ``specimens`` in fill order, honouring each box's
    restrictions; aliquots of one parent stay in one box when ``keep_together``."""
    holders = list(subtree(within).filter(kind__in=list(HOLDERS), is_active=True).order_by("path"))
    if not specimens:
        return []
    rules_of = restrictions(holders)
    kinds = {
        (s.material_type_id, s.material_type.maps_to_id, s.collection_id): s for s in specimens
    }
    holders = [
        h for h in holders if all(_refusal(rules_of[h.pk], s) is None for s in kinds.values())
    ]
    occupied: dict[int, set[tuple[int, int]]] = {}
    for unit_id, row, column in Placement.objects.filter(unit__in=holders).values_list(
        "unit_id", "row", "column"
    ):
        occupied.setdefault(unit_id, set()).add((row, column))
    boxes = [
        rules.BoxSpace(
            key=str(h.pk), geometry=geometry(h), occupied=frozenset(occupied.get(h.pk, set()))
        )
        for h in holders
    ]
    groups: dict[int | str, list[Specimen]] = {}
    for specimen in specimens:
        parent = (
            specimen.parent_links.values_list("parent_id", flat=True).first()
            if keep_together
            else None
        )
        groups.setdefault(parent if parent is not None else f"s{specimen.pk}", []).append(specimen)
    ordered = [s for group in groups.values() for s in group]
    try:
        places = rules.find_places(
            boxes, [len(g) for g in groups.values()], keep_together=keep_together
        )
    except rules.PositionError as exc:
        raise ApplicationError(str(exc), rule="BB-02") from exc
    by_id = {str(h.pk): h for h in holders}
    return [
        (s, by_id[key], row, column) for s, (key, row, column) in zip(ordered, places, strict=True)
    ]


def box_contents(unit: StorageUnit) -> dict[tuple[int, int], Specimen]:
    return {
        (p.row, p.column): p.specimen
        for p in Placement.objects.filter(unit=unit).select_related("specimen__material_type")
    }


def scan_compare(unit: StorageUnit, rows: Iterable[tuple[str, str]]) -> rules.ScanDiff:
    expected = {position: specimen.barcode for position, specimen in box_contents(unit).items()}
    return rules.compare_scan(geometry(unit), expected, rows)


@transaction.atomic
def scan_apply(*, actor: User, unit: StorageUnit, diff: rules.ScanDiff) -> int:
    """Make the system agree with a clean rack scan: move, place, release. Returns changes."""
    if not diff.clean:
        raise ApplicationError(_("Resolve the scan's problems first."), rule="BB-02")
    shape = geometry(unit)
    changes = 0
    for label, barcode in diff.missing:
        specimen = Specimen.objects.get(organization=unit.organization, barcode=barcode)
        still_here = Placement.objects.filter(specimen=specimen, unit=unit).first()
        scanned_elsewhere = any(b == barcode for _l, b in diff.placed_elsewhere)
        if still_here and not scanned_elsewhere:
            release_position(specimen, actor, f"not found in the re-scan of {unit.barcode} {label}")
            changes += 1
    # free the positions of tubes that moved within the box, then put them where scanned
    moving = [
        (label, Specimen.objects.get(organization=unit.organization, barcode=barcode))
        for label, barcode in diff.placed_elsewhere
    ]
    for _label, specimen in moving:
        Placement.objects.filter(specimen=specimen).delete()
    for label, specimen in moving:
        Placement.objects.create(
            unit=unit,
            row=rules.parse(shape, label)[0],
            column=rules.parse(shape, label)[1],
            specimen=specimen,
            placed_at=timezone.now(),
            placed_by=actor,
        )
        SpecimenEvent.objects.create(
            specimen=specimen,
            activity="transfer",
            at=timezone.now(),
            by=actor,
            parameters={"to": f"{unit.barcode} {label}", "from": "re-scan"},
        )
        changes += 1
    for label, barcode in diff.new:
        found = Specimen.objects.filter(organization=unit.organization, barcode=barcode).first()
        if found is None:
            raise ApplicationError(
                _("%s is not a specimen of this organization.") % barcode, rule="BB-02"
            )
        if Placement.objects.filter(specimen=found).exists():
            specimen_move(actor=actor, specimen=found, unit=unit, position=label)
        else:
            specimen_place(actor=actor, specimen=found, unit=unit, position=label)
        changes += 1
    _access(actor, unit, StorageAccess.Purpose.INVENTORY, note=f"rack scan: {changes} change(s)")
    return changes


# Temperature ---------------------------------------------------------------------------------


@dataclass
class ReadingResult:
    reading: TemperatureReading
    excursion: Excursion | None
    opened: bool


@transaction.atomic
def temperature_record(
    *,
    actor: User | None,
    unit: StorageUnit,
    at: datetime,
    value_c: Decimal,
    source: str = TemperatureReading.Source.MANUAL,
) -> ReadingResult:
    """A reading; outside the unit's limits it opens an excursion and an obligation to assess
    the specimens inside (BB-02); back inside the limits it closes the excursion."""
    require_permission(actor, "storage.manage", unit.organization)
    if unit.kind not in EQUIPMENT:
        raise ApplicationError(_("Temperatures are recorded for equipment."), rule="BB-02")
    reading, _created = TemperatureReading.objects.get_or_create(
        unit=unit, at=at, defaults={"value_c": value_c, "source": source}
    )
    outside = (unit.alarm_low_c is not None and value_c < unit.alarm_low_c) or (
        unit.alarm_high_c is not None and value_c > unit.alarm_high_c
    )
    current = Excursion.objects.select_for_update().filter(unit=unit, ended_at__isnull=True).first()
    if outside and current is None:
        affected = list(
            Specimen.objects.filter(placement__unit__path__startswith=unit.path)
            .order_by("barcode")
            .values_list("barcode", flat=True)
        )
        obligation = core_services.obligation_open(
            organization=unit.organization,
            rule_id="BB-02",
            title=_("Assess %(n)d specimens after the temperature excursion of %(unit)s")
            % {"n": len(affected), "unit": unit.barcode},
            due_at=at + timedelta(hours=24),
            subject=unit,
            responsible_role=Role.BIOBANK_MANAGER,
        )
        current = Excursion.objects.create(
            unit=unit, started_at=at, worst_c=value_c, affected=affected, obligation=obligation
        )
        return ReadingResult(reading, current, True)
    if current is not None:
        if outside:
            worse = (
                value_c > current.worst_c
                if value_c > (unit.alarm_high_c or value_c)
                else value_c < current.worst_c
            )
            if worse:
                current.worst_c = value_c
                current.save(update_fields=["worst_c"])
        else:
            current.ended_at = at
            current.save(update_fields=["ended_at"])
    return ReadingResult(reading, current, False)


def occupancy(units: Iterable[StorageUnit]) -> dict[int, tuple[int, int]]:
    """(used, capacity) of each unit over all boxes below it, in two queries for any number."""
    units = list(units)
    if not units:
        return {}
    below = reduce(or_, [Q(path__startswith=u.path) for u in units])
    holders = list(
        StorageUnit.objects.filter(below, kind__in=list(HOLDERS)).values_list(
            "pk", "path", "rows", "columns"
        )
    )
    used = dict(_counts([pk for pk, _p, _r, _c in holders]))
    result = {}
    for unit in units:
        inside = [(pk, r or 0, c or 0) for pk, path, r, c in holders if path.startswith(unit.path)]
        result[unit.pk] = (
            sum(used.get(pk, 0) for pk, _r, _c in inside),
            sum(r * c for _pk, r, c in inside),
        )
    return result


def _counts(unit_ids: list[int]) -> list[tuple[int, int]]:
    from django.db.models import Count

    return list(
        Placement.objects.filter(unit_id__in=unit_ids)
        .values("unit_id")
        .annotate(n=Count("id"))
        .values_list("unit_id", "n")
    )


# Access list and logger files --------------------------------------------------------------


@transaction.atomic
def access_grant(*, actor: User | None, unit: StorageUnit, user: User) -> AccessGrant:
    """Put a person on the unit's access list (BS-07)."""
    require_permission(actor, "storage.grant", unit.organization)
    if not user.memberships.filter(organization=unit.organization, ended_at__isnull=True).exists():
        raise ApplicationError(
            _("Only members of %s can be given access.") % unit.organization.code, rule="BS-07"
        )
    grant, created = AccessGrant.objects.get_or_create(
        unit=unit, user=user, revoked_at=None, defaults={"granted_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            organization=unit.organization,
            instance=grant,
            after={"unit": unit.barcode, "user": user.get_username()},
        )
    return grant


@transaction.atomic
def access_revoke(*, actor: User | None, grant: AccessGrant) -> AccessGrant:
    require_permission(actor, "storage.grant", grant.unit.organization)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditEvent.Action.TRANSITION,
            organization=grant.unit.organization,
            instance=grant,
            after={"unit": grant.unit.barcode, "revoked": True},
        )
    return grant


def may_open(user: User, unit: StorageUnit) -> bool:
    """Whether ``user`` is on the access list of the unit or one of its ancestors; a unit
    without any list is open to the organization's storage staff."""
    chain = [*ancestors(unit), unit]
    grants = AccessGrant.objects.filter(unit__in=chain, revoked_at__isnull=True)
    return not grants.exists() or grants.filter(user=user).exists()


def free_by_temperature(units: Iterable[StorageUnit]) -> list[tuple[str, int, int]]:
    """(temperature class, free positions, capacity) over the given equipment."""
    from biobank.specimens.models import StorageTemperature

    bands = list(StorageTemperature.objects.exclude(min_c=None).exclude(max_c=None))
    equipment = [u for u in units if u.kind in EQUIPMENT]
    usage = occupancy(equipment)
    totals: dict[str, list[int]] = {}
    for unit in equipment:
        band = unit.temperature_class or next(
            (
                b
                for b in bands
                if unit.set_point_c is not None
                and b.min_c is not None
                and b.max_c is not None
                and b.min_c <= unit.set_point_c <= b.max_c
            ),
            None,
        )
        name = band.label if band else _("unknown")
        used, capacity = usage.get(unit.pk, (0, 0))
        entry = totals.setdefault(name, [0, 0])
        entry[0] += capacity - used
        entry[1] += capacity
    return [(name, free, capacity) for name, (free, capacity) in sorted(totals.items())]


@transaction.atomic
def unit_restrict(
    *,
    actor: User | None,
    unit: StorageUnit,
    material_types: Sequence[Any],
    collections: Sequence[Any],
    temperature_class: Any = None,
) -> StorageUnit:
    """What a unit (and everything below it) accepts: material types, collections, and its
    temperature class (BB-02). Empty lists accept anything."""
    require_permission(actor, "storage.manage", unit.organization)
    if any(c.organization_id != unit.organization_id for c in collections):
        raise ApplicationError(_("The collection belongs to another organization."))
    before = {
        "material_types": sorted(t.code for t in unit.allowed_material_types.all()),
        "collections": sorted(c.code for c in unit.allowed_collections.all()),
        "temperature_class": unit.temperature_class_id,
    }
    unit.allowed_material_types.set(material_types)
    unit.allowed_collections.set(collections)
    unit.temperature_class = temperature_class
    unit.save(update_fields=["temperature_class", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        organization=unit.organization,
        instance=unit,
        before=before,
        after={
            "material_types": sorted(t.code for t in material_types),
            "collections": sorted(c.code for c in collections),
            "temperature_class": temperature_class.pk if temperature_class else None,
        },
        reason="restrictions",
    )
    return unit
