"""``biobank import specimens FILE --organization CODE``: a biobank's history from a sheet.

Columns (order free): ``barcode,participant_code,collection_code,material_type,quantity,unit,
collected_at,parent_barcode,sprec,container_barcode,position``, optionally ``quantity_taken``
(what a derivative used of its parent, in the parent's unit), ``source_organism`` and
``source_strain`` (non-human material, BB-03), and one column per associated-data field of the
organization's collections (its key). See ``COLUMNS_HELP``.

The file is read once and never held in memory. The first pass checks every row (types, codes,
duplicates in the file and in the database, parent quantities, positions, consent) and keeps only
what later rows need: one small entry per specimen; the rows it accepted go to a temporary spool
file as plain tuples (``_Spool``). Nothing is written unless every row is valid. The second pass
reads the spool back and writes everything in one transaction through ``BulkInsert`` at the driver's
bulk rate: participants new to the organization (code only), specimens with their final remaining
quantities, lineage, the creation and storage events, placements, associated data, one access record
per box and an audit event per specimen and per new participant (``AuditBatch``). A process killed
at any point leaves the database as it was.
"""

from __future__ import annotations

import gc
import json
import marshal
import tempfile
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from biobank.core.audit import AuditBatch, audit_record
from biobank.core.bulk import BulkInsert, BulkSession, allocate_ids, db_datetime, db_json
from biobank.core.importing import ImportReport, Progress
from biobank.core.models import AuditEvent, Organization, User
from biobank.core.tabular import Row, open_table
from biobank.core.tenancy import require_permission
from biobank.participants.models import Participant
from biobank.participants.services import CODE_PATTERN
from biobank.specimens import rules
from biobank.specimens.models import (
    Collection,
    DataField,
    DataValue,
    Lineage,
    MaterialType,
    Specimen,
    SpecimenEvent,
)
from biobank.specimens.models.specimens import Unit
from biobank.specimens.services.data import normalise_value
from biobank.specimens.sprec import SprecError
from biobank.specimens.sprec import parse as parse_sprec
from biobank.storage import rules as storage_rules
from biobank.storage.models import EQUIPMENT, HOLDERS, Placement, StorageAccess, StorageUnit

COLUMNS = (
    "barcode", "participant_code", "collection_code", "material_type", "quantity", "unit",
    "collected_at", "parent_barcode", "sprec", "container_barcode", "position",
)  # fmt: skip
OPTIONAL = ("quantity_taken", "source_organism", "source_strain")
TAIPEI = ZoneInfo("Asia/Taipei")
SCALE = 10_000  # quantities are kept as whole ten-thousandths (the database's 4 places)
CHUNK = 2000  # rows checked against the database at once
MAX_QUANTITY = Decimal("99999999.9999")
UNITS = frozenset(Unit.values)
WITHDRAWN = str(Participant.Status.WITHDRAWN)
AVAILABLE, DEPLETED = str(Specimen.Status.AVAILABLE), str(Specimen.Status.DEPLETED)
_NO_PARENT = -1


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class _Box:
    id: int
    barcode: str
    geometry: storage_rules.Geometry | None
    active: bool
    levels: tuple[tuple[str, frozenset[int], frozenset[int]], ...]
    equipment_id: int
    parameters: str  # the storage event's parameters, as JSON text


@dataclass(slots=True)
class _Parsed:
    number: int
    barcode: str
    participant_code: str
    collection: Collection | None
    mtype: MaterialType
    quantity: int
    unit: str
    collected_at: datetime | None
    parent_barcode: str
    sprec: str
    box: _Box | None
    position: tuple[int, int] | None
    taken: int | None
    source_organism: str
    source_strain: str
    data: list[tuple[DataField, str]] = field(default_factory=list)


@dataclass
class _Context:
    """What the organization already has, loaded once."""

    organization: Organization
    collections: dict[str, Collection]
    types: dict[str, MaterialType]
    boxes: dict[str, _Box]
    fields: dict[str, dict[int, DataField]]  # column key → collection id → field
    participants: dict[str, tuple[int, str]]  # code → (id, status)
    has_specimens: bool
    now: datetime
    language: str | None = None


def _load(organization: Organization) -> _Context:
    types = {
        t.code: t for t in MaterialType.objects.filter(organization__isnull=True, is_active=True)
    }
    types.update(
        {t.code: t for t in MaterialType.objects.filter(organization=organization, is_active=True)}
    )
    collections = {c.code: c for c in Collection.objects.filter(organization=organization)}
    fields: dict[str, dict[int, DataField]] = {}
    for data_field in DataField.objects.filter(
        collection__organization=organization, applies_to=DataField.AppliesTo.SPECIMEN
    ):
        fields.setdefault(data_field.key.casefold(), {})[data_field.collection_id] = data_field
    return _Context(
        organization=organization,
        collections=collections,
        types=types,
        boxes=_boxes(organization),
        fields=fields,
        participants={
            code: (pk, status)
            for pk, code, status in Participant.objects.filter(
                organization=organization
            ).values_list("pk", "code", "status")
        },
        has_specimens=Specimen.objects.filter(organization=organization).exists(),
        now=timezone.now(),
        language=get_language(),
    )


def _boxes(organization: Organization) -> dict[str, _Box]:
    """Every box and plate of the organization, with the restrictions of its whole path and
    the equipment (and its set point) that holds it."""
    units = {u.pk: u for u in StorageUnit.objects.filter(organization=organization)}
    types: dict[int, set[int]] = {}
    for unit_id, type_id in StorageUnit.allowed_material_types.through.objects.filter(
        storageunit__organization=organization
    ).values_list("storageunit_id", "materialtype_id"):
        types.setdefault(unit_id, set()).add(type_id)
    kept: dict[int, set[int]] = {}
    for unit_id, collection_id in StorageUnit.allowed_collections.through.objects.filter(
        storageunit__organization=organization
    ).values_list("storageunit_id", "collection_id"):
        kept.setdefault(unit_id, set()).add(collection_id)
    boxes = {}
    for unit in units.values():
        if unit.kind not in HOLDERS:
            continue
        path = [units[int(part)] for part in unit.path.strip("/").split("/") if part]
        levels = tuple(
            (level.barcode, frozenset(types.get(level.pk, ())), frozenset(kept.get(level.pk, ())))
            for level in path
            if level.pk in types or level.pk in kept
        )
        equipment = next((level for level in reversed(path) if level.kind in EQUIPMENT), unit)
        geometry = None
        if unit.rows and unit.columns:
            geometry = storage_rules.Geometry(
                unit.rows,
                unit.columns,
                unit.scheme,  # type: ignore[arg-type]
                unit.order,  # type: ignore[arg-type]
            )
        boxes[unit.barcode] = _Box(
            id=unit.pk,
            barcode=unit.barcode,
            geometry=geometry,
            active=unit.is_active,
            levels=levels,
            equipment_id=equipment.pk,
            parameters=json.dumps(
                {}
                if equipment.set_point_c is None
                else {"temperature_c": float(equipment.set_point_c)}
            ),
        )
    return boxes


@lru_cache(maxsize=4096)
def _position(geometry: storage_rules.Geometry, text: str) -> tuple[int, int]:
    return storage_rules.parse(geometry, text)


@lru_cache(maxsize=4096)
def _label(geometry: storage_rules.Geometry, row: int, column: int) -> str:
    return storage_rules.label(geometry, row, column)


@lru_cache(maxsize=256)
def _source_is_valid(
    category: str, has_participant: bool, has_organism: bool, _language: str | None
) -> rules.Decision:
    """``rules.source_is_valid``, remembered per combination and language (a million rows
    ask the same few questions)."""
    return rules.source_is_valid(category, has_participant, "x" if has_organism else "")


@lru_cache(maxsize=1024)
def _sprec(code: str) -> str:
    return parse_sprec(code).code


def _quantity(text: str, column: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _RowError(column, _("a number, like 1.5")) from None
    if not value.is_finite() or value < 0:
        raise _RowError(column, _("a quantity cannot be negative"))
    if value > MAX_QUANTITY:
        raise _RowError(column, _("too large"))
    scaled = value * SCALE
    if scaled != scaled.to_integral_value():
        raise _RowError(column, _("at most four decimal places"))
    return int(scaled)


def _collected_at(text: str, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        raise _RowError(
            "collected_at", _("an ISO 8601 date and time, like 2024-03-01T09:30")
        ) from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=TAIPEI)
    if value > now:
        raise _RowError("collected_at", _("the collection time is in the future"))
    return value


def _refusal(box: _Box, mtype: MaterialType, collection: Collection | None) -> str | None:
    for barcode, types, collections in box.levels:
        if types and mtype.id not in types and mtype.maps_to_id not in types:
            return _("%(unit)s does not take %(type)s.") % {"unit": barcode, "type": mtype.label}
        if collections and (collection is None or collection.id not in collections):
            return _("%s is reserved for other collections.") % barcode
    return None


def _parse(row: Row, context: _Context, extra: list[str]) -> tuple[_Parsed | None, list[_RowError]]:
    """Convert one row, checking what does not depend on other rows."""
    v = row.values
    errors: list[_RowError] = []

    def attempt(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except _RowError as error:
            errors.append(error)
            return None

    barcode = v["barcode"]
    if not barcode:
        errors.append(_RowError("barcode", _("required")))
    elif len(barcode) > 64:
        errors.append(_RowError("barcode", _("at most 64 characters")))
    mtype = context.types.get(v["material_type"])
    if mtype is None:
        errors.append(
            _RowError("material_type", _("unknown material type %s") % (v["material_type"] or '""'))
        )
    collection = None
    if v["collection_code"]:
        collection = context.collections.get(v["collection_code"])
        if collection is None:
            errors.append(
                _RowError("collection_code", _("no collection %s") % v["collection_code"])
            )
    quantity = attempt(lambda: _quantity(v["quantity"], "quantity")) if v["quantity"] else None
    if not v["quantity"]:
        errors.append(_RowError("quantity", _("required")))
    unit = v["unit"]
    if unit not in UNITS:
        errors.append(_RowError("unit", _("one of %s") % ", ".join(Unit.values)))
    collected_at = attempt(lambda: _collected_at(v["collected_at"], context.now))
    taken = None
    if v.get("quantity_taken"):
        taken = attempt(lambda: _quantity(v["quantity_taken"], "quantity_taken"))
    code = v["participant_code"]
    organism = v.get("source_organism", "")
    if mtype is not None:
        decision = _source_is_valid(
            mtype.category_id, bool(code), bool(organism.strip()), context.language
        )
        if not decision:
            errors.append(
                _RowError("participant_code" if code or mtype.category_id == "human"
                          else "source_organism", decision.reason)
            )  # fmt: skip
    if code and not CODE_PATTERN.match(code):
        errors.append(_RowError("participant_code", _("1-40 letters, digits, '.', '_' or '-'")))
    sprec = ""
    if v["sprec"]:
        try:
            sprec = _sprec(v["sprec"].strip().upper())
        except SprecError as error:
            errors.append(_RowError("sprec", str(error)))
    box, position = None, None
    if v["container_barcode"]:
        box = context.boxes.get(v["container_barcode"])
        if box is None:
            errors.append(
                _RowError("container_barcode", _("no box or plate %s") % v["container_barcode"])
            )
        elif not box.active or box.geometry is None:
            errors.append(_RowError("container_barcode", _("%s is not in use") % box.barcode))
        elif not v["position"]:
            errors.append(_RowError("position", _("required with a container")))
        else:
            try:
                position = _position(box.geometry, v["position"])
            except storage_rules.PositionError as error:
                errors.append(_RowError("position", str(error)))
            if mtype is not None:
                refusal = _refusal(box, mtype, collection)
                if refusal:
                    errors.append(_RowError("container_barcode", refusal))
    elif v["position"]:
        errors.append(_RowError("container_barcode", _("a position needs its container")))
    data: list[tuple[DataField, str]] = []
    for column in extra:
        if not v[column]:
            continue
        by_collection = context.fields.get(column.casefold(), {})
        data_field = by_collection.get(collection.id) if collection is not None else None
        if data_field is None:
            errors.append(_RowError(column, _("not a data field of this row's collection")))
            continue
        try:
            data.append((data_field, normalise_value(data_field, v[column])))
        except Exception as error:  # ApplicationError carries the reason
            errors.append(_RowError(column, getattr(error, "message", str(error))))
    if errors or mtype is None or quantity is None:
        return None, errors
    return (
        _Parsed(
            number=row.number,
            barcode=barcode,
            participant_code=code,
            collection=collection,
            mtype=mtype,
            quantity=quantity,
            unit=unit,
            collected_at=collected_at,
            parent_barcode=v["parent_barcode"],
            sprec=sprec,
            box=box,
            position=position,
            taken=taken,
            source_organism=organism,
            source_strain=v.get("source_strain", ""),
            data=data,
        ),
        errors,
    )


@dataclass
class _Existing:
    id: int
    material_type_id: int
    unit: str
    remaining: int
    status: str
    barcode: str


# One accepted row in the spool: only values marshal writes (no objects), the objects by the
# keys the first pass found them under.
_SpoolRow = tuple[
    int, str, str, str, str, int, str, "str | None", str, str, str, int, int, "int | None", str,
    str, tuple[tuple[int, str], ...],
]  # fmt: skip


class _Spool:
    """The rows the first pass accepted, in file order, in a temporary file (``marshal``, one
    list per chunk): the second pass writes from it without reading the sheet and checking
    every cell a second time. It lives as long as the import; the file goes when it closes."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="biobank-import-")  # noqa: SIM115
        self.rows = 0

    def add(self, chunk: list[tuple[_Parsed, dict[str, str]]]) -> None:
        rows: list[_SpoolRow] = []
        for parsed, values in chunk:
            position = parsed.position or (0, 0)
            rows.append(
                (
                    parsed.number, parsed.barcode, parsed.participant_code,
                    values["collection_code"], values["material_type"], parsed.quantity,
                    parsed.unit,
                    parsed.collected_at.isoformat() if parsed.collected_at else None,
                    parsed.parent_barcode, parsed.sprec, values["container_barcode"],
                    position[0], position[1], parsed.taken, parsed.source_organism,
                    parsed.source_strain,
                    tuple((data_field.pk, value) for data_field, value in parsed.data),
                )
            )  # fmt: skip
        # one read of a known length later: marshal.load on a file reads it a few bytes at a
        # time through Python calls
        data = marshal.dumps(rows)
        self.file.write(len(data).to_bytes(8, "little"))
        self.file.write(data)
        self.rows += len(rows)

    def __iter__(self) -> Iterator[_SpoolRow]:
        self.file.seek(0)
        while size := int.from_bytes(self.file.read(8), "little"):
            data = self.file.read(size)
            if len(data) != size:
                raise RuntimeError("the import's spool file is cut short")
            yield from marshal.loads(data)  # noqa: S302 (our own file, written above)

    def parsed(self, context: _Context) -> Iterator[_Parsed]:
        """The rows as the first pass parsed them."""
        fields = {f.pk: f for by in context.fields.values() for f in by.values()}
        collections, types, boxes = context.collections, context.types, context.boxes
        last_text: str | None = None
        last_time: datetime | None = None
        for (
            number, barcode, code, collection, mtype, quantity, unit, collected, parent, sprec,
            container, row, column, taken, organism, strain, data,
        ) in self:  # fmt: skip
            if collected != last_text:  # a visit's specimens share their time
                last_text = collected
                last_time = datetime.fromisoformat(collected) if collected else None
            yield _Parsed(
                number=number,
                barcode=barcode,
                participant_code=code,
                collection=collections[collection] if collection else None,
                mtype=types[mtype],
                quantity=quantity,
                unit=unit,
                collected_at=last_time,
                parent_barcode=parent,
                sprec=sprec,
                box=boxes[container] if container else None,
                position=(row, column) if container else None,
                taken=taken,
                source_organism=organism,
                source_strain=strain,
                data=[(fields[pk], value) for pk, value in data],
            )

    def close(self) -> None:
        self.file.close()


class _Checked:
    """What the first pass learned: an index per specimen of the file, in file order."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.types = array("q")
        self.units: list[str] = []
        self.left = array("q")  # remaining, in ten-thousandths, after the file's children
        self.rows_of = array("l")  # the row each came from
        self.existing_parents: dict[str, _Existing] = {}
        self.new_participants: list[str] = []
        self.rejected: dict[str, int] = {}  # barcodes of rows with errors → first such row
        self.rows = 0


def _lookup(context: _Context, barcodes: set[str]) -> dict[str, _Existing]:
    if not context.has_specimens or not barcodes:
        return {}
    found = {}
    names = sorted(barcodes)
    for start in range(0, len(names), 500):
        for pk, barcode, type_id, unit, remaining, status in Specimen.objects.filter(
            organization=context.organization, barcode__in=names[start : start + 500]
        ).values_list("pk", "barcode", "material_type_id", "unit", "remaining", "status"):
            found[barcode] = _Existing(pk, type_id, unit, int(remaining * SCALE), status, barcode)
    return found


def _occupied(box_ids: set[int]) -> dict[int, dict[tuple[int, int], int]]:
    taken: dict[int, dict[tuple[int, int], int]] = {pk: {} for pk in box_ids}
    for unit_id, row, column in Placement.objects.filter(unit_id__in=box_ids).values_list(
        "unit_id", "row", "column"
    ):
        taken[unit_id][(row, column)] = 0
    return taken


def _check(
    table: Iterator[Row],
    context: _Context,
    extra: list[str],
    report: ImportReport,
    progress: Callable[[int], None],
    spool: _Spool | None = None,
) -> _Checked:
    """The first pass; the accepted rows go to ``spool`` while every row so far is valid (after
    the first error nothing will be written, so nothing more is kept)."""
    checked = _Checked()
    # per box, the positions taken and the row that took each (0: taken before the import)
    positions: dict[int, dict[tuple[int, int], int]] = {}
    new_participants: set[str] = set()

    def chunks() -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for row in table:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    for chunk in chunks():
        parsed_rows = []
        for row in chunk:
            report.rows += 1
            parsed, errors = _parse(row, context, extra)
            for error in errors:
                report.add_error(row.number, error.column, error.message)
            parsed_rows.append((row, parsed))
        wanted = {p.barcode for _r, p in parsed_rows if p is not None}
        wanted |= {
            p.parent_barcode
            for _r, p in parsed_rows
            if p is not None and p.parent_barcode and p.parent_barcode not in checked.index
        }
        existing = _lookup(context, wanted)
        boxes = {p.box.id for _r, p in parsed_rows if p is not None and p.box is not None}
        positions.update(_occupied(boxes - positions.keys()))
        accepted: list[tuple[_Parsed, dict[str, str]]] = []
        for row, parsed in parsed_rows:
            barcode = row.values["barcode"]
            if parsed is None:
                if barcode and barcode not in checked.index:
                    checked.rejected.setdefault(barcode, row.number)
                continue
            before = report.error_count
            index = checked.index.get(barcode)
            first = checked.rows_of[index] if index is not None else checked.rejected.get(barcode)
            if first is not None:
                report.add_error(
                    row.number, "barcode", _("%(barcode)s repeats row %(row)d")
                    % {"barcode": barcode, "row": first}
                )  # fmt: skip
            elif barcode in existing:
                report.add_error(row.number, "barcode", _("%s already exists") % barcode)
            code = parsed.participant_code
            if code:
                known = context.participants.get(code)
                if known is not None and known[1] == WITHDRAWN:
                    report.add_error(
                        row.number,
                        "participant_code",
                        _("participant %s withdrew consent (HB-03)") % code,
                    )
            if parsed.parent_barcode:
                _check_parent(parsed, checked, existing, report)
            if parsed.box is not None and parsed.position is not None:
                taken = positions[parsed.box.id]
                holder = taken.get(parsed.position)
                if holder is not None:
                    where = f"{parsed.box.barcode} {row.values['position']}"
                    report.add_error(
                        row.number,
                        "position",
                        _("%(where)s is taken by row %(row)d") % {"where": where, "row": holder}
                        if holder
                        else _("%s is already taken") % where,
                    )
                else:
                    taken[parsed.position] = row.number
            if report.error_count != before or barcode in checked.index:
                if barcode not in checked.index:
                    checked.rejected.setdefault(barcode, row.number)
                continue
            if code and code not in context.participants and code not in new_participants:
                new_participants.add(code)
                checked.new_participants.append(code)
            checked.index[barcode] = len(checked.types)
            checked.types.append(parsed.mtype.id)
            checked.units.append(parsed.unit)
            checked.left.append(parsed.quantity)
            checked.rows_of.append(row.number)
            accepted.append((parsed, row.values))
        if spool is not None and report.ok:
            spool.add(accepted)
        progress(report.rows)
    checked.rows = report.rows
    return checked


def _check_parent(
    parsed: _Parsed, checked: _Checked, existing: dict[str, _Existing], report: ImportReport
) -> None:
    parent = parsed.parent_barcode
    number = parsed.number
    if parent == parsed.barcode:
        report.add_error(number, "parent_barcode", _("a specimen cannot be its own parent"))
        return
    index = checked.index.get(parent)
    if index is not None:
        type_id, unit, left = checked.types[index], checked.units[index], checked.left[index]
    elif parent in checked.existing_parents or parent in existing:
        found = checked.existing_parents.setdefault(parent, existing.get(parent))  # type: ignore[arg-type]
        if found.status not in rules.PROCESSABLE_STATUSES:
            report.add_error(
                number, "parent_barcode", _("%(barcode)s is %(status)s")
                % {"barcode": parent, "status": found.status}
            )  # fmt: skip
            return
        type_id, unit, left = found.material_type_id, found.unit, found.remaining
    elif parent not in checked.rejected:  # a rejected parent has its own errors
        report.add_error(
            number,
            "parent_barcode",
            _("no specimen %s in this organization or earlier in the file") % parent,
        )
        return
    else:
        return
    if type_id == parsed.mtype.id:  # an aliquot takes its own quantity, in the same unit
        if unit != parsed.unit:
            report.add_error(number, "unit", _("an aliquot keeps its parent's unit (%s)") % unit)
            return
        need = parsed.quantity if parsed.taken is None else parsed.taken
    else:
        need = parsed.taken or 0
    if need > left:
        report.add_error(
            number,
            "quantity_taken" if parsed.taken is not None else "quantity",
            _("%(parent)s has only %(left)s %(unit)s left")
            % {"parent": parent, "left": f"{Decimal(left) / SCALE:f}", "unit": unit},
        )
        return
    if index is not None:
        checked.left[index] = left - need
    else:
        checked.existing_parents[parent].remaining = left - need


def _decimal(scaled: int) -> Decimal:
    return Decimal(scaled).scaleb(-4)


_text = json.encoder.encode_basestring  # a JSON string, as json.dumps writes it


def _json_value(value: int | str | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _text(value)
    return str(value)


def _after_json(
    parsed: _Parsed,
    collection_id: int | None,
    participant_id: int | None,
    type_id: int,
    quantity: Decimal,
    remaining: Decimal,
    status: str,
    container: str | None,
    label: str | None,
) -> str:
    """The audit event's ``after`` as canonical JSON (keys sorted, no spaces: what
    ``biobank.core.audit`` hashes), written out directly because a million rows would spend
    seconds in ``json.dumps``. Rows with associated data go through ``json.dumps``."""
    collected = parsed.collected_at.isoformat() if parsed.collected_at else None
    if parsed.data:
        values: dict[str, Any] = {
            "acquired_type": type_id, "barcode": parsed.barcode, "collected_at": collected,
            "collection": collection_id, "material_type": type_id,
            "parent": parsed.parent_barcode or None, "participant": participant_id,
            "quantity": str(quantity), "remaining": str(remaining), "sprec": parsed.sprec,
            "status": status, "unit": parsed.unit,
        }  # fmt: skip
        if container is not None:
            values["container"], values["position"] = container, label
        values.update({f"data:{field.key}": value for field, value in parsed.data})
        return db_json(values) or "{}"
    placed = ""
    if container is not None:
        placed = f'"container":{_text(container)},'
    position = f'"position":{_text(label)},' if label is not None else ""
    return (
        f'{{"acquired_type":{type_id},"barcode":{_text(parsed.barcode)},'
        f'"collected_at":{_json_value(collected)},"collection":{_json_value(collection_id)},'
        f'{placed}"material_type":{type_id},"parent":{_json_value(parsed.parent_barcode or None)},'
        f'"participant":{_json_value(participant_id)},{position}'
        f'"quantity":"{quantity}","remaining":"{remaining}","sprec":{_text(parsed.sprec)},'
        f'"status":{_text(status)},"unit":{_text(parsed.unit)}}}'
    )


class _Writer:
    """The second pass: rows into tables, all in the caller's transaction."""

    def __init__(
        self, context: _Context, checked: _Checked, actor: User | None, session: BulkSession
    ) -> None:
        self.context = context
        self.checked = checked
        self.actor_id = actor.pk if actor is not None and actor.pk else None
        self.organization_id = context.organization.id
        self.now = context.now
        self.now_db = db_datetime(self.now)
        self.first_id = allocate_ids(Specimen, len(checked.types))
        self.participants = {code: pk for code, (pk, _s) in context.participants.items()}
        self.delinked = {
            code for code, (_pk, status) in context.participants.items()
            if status == Participant.Status.DELINKED
        }  # fmt: skip
        self.audit = AuditBatch(
            actor=actor,
            organization=context.organization,
            action=AuditEvent.Action.CREATE,
            reason="import",
            at=self.now,
            session=session,
        )
        self.specimens = BulkInsert(
            Specimen,
            [
                "id", "organization", "barcode", "collection", "participant", "source_organism",
                "source_strain", "source_identifier", "category", "material_type",
                "acquired_type", "quantity", "remaining", "unit", "concentration_unit",
                "container_type", "collected_at", "receipt_condition", "sprec",
                "freeze_thaw_count", "status", "consent_withdrawn", "on_hold", "infectious",
                "delinked", "created_at", "updated_at",
            ],
            session=session,
        )  # fmt: skip
        event_fields = [
            "specimen", "activity", "at", "by", "sop", "sop_version", "parameters", "result",
            "created_at",
        ]  # fmt: skip
        self.events = BulkInsert(SpecimenEvent, event_fields, session=session)
        self.placements = BulkInsert(
            Placement,
            ["unit", "row", "column", "specimen", "placed_at", "placed_by"],
            session=session,
        )
        self.lineage = BulkInsert(
            Lineage, ["parent", "child", "kind", "quantity_taken", "created_at"], session=session
        )
        self.data = BulkInsert(
            DataValue, ["field", "specimen", "value", "updated_at"], session=session
        )
        self.session = session
        self.per_box: dict[int, tuple[_Box, int]] = {}
        self._collected: datetime | None = None
        self._collected_db: Any = None
        self._create_participants()

    def _create_participants(self) -> None:
        codes = self.checked.new_participants
        if not codes:
            return
        first = allocate_ids(Participant, len(codes))
        rows = BulkInsert(
            Participant,
            ["id", "public_id", "organization", "code", "sex", "status", "created_at",
             "updated_at"],
        )  # fmt: skip
        from biobank.core.bulk import db_uuid

        organization_id = self.context.organization.pk
        for offset, code in enumerate(codes):
            pk = first + offset
            rows.add(
                (pk, db_uuid(uuid.uuid4()), organization_id, code, Participant.Sex.UNKNOWN,
                 Participant.Status.ACTIVE, self.now_db, self.now_db)
            )  # fmt: skip
            self.participants[code] = pk
            self.audit.add(
                "participants.participant",
                str(pk),
                code,
                {"code": code, "sex": "U", "birth_year": None, "status": "active",
                 "delinked_at": None},
            )  # fmt: skip
        rows.close()

    def write(self, parsed: _Parsed) -> None:
        checked = self.checked
        index = checked.index[parsed.barcode]
        pk = self.first_id + index
        mtype = parsed.mtype
        type_id = mtype.id
        collection_id = parsed.collection.id if parsed.collection is not None else None
        left = checked.left[index]
        status = AVAILABLE
        if left == 0 and parsed.quantity > 0 and parsed.box is None:
            status = DEPLETED
        participant_id = self.participants.get(parsed.participant_code)
        delinked = parsed.participant_code in self.delinked
        parent_id = None
        if parsed.parent_barcode:
            parent_index = checked.index.get(parsed.parent_barcode)
            parent_id = (
                self.first_id + parent_index
                if parent_index is not None
                else checked.existing_parents[parsed.parent_barcode].id
            )
        quantity, remaining = _decimal(parsed.quantity), _decimal(left)
        collected = parsed.collected_at
        if collected is not self._collected:  # the spool shares one time across a visit
            self._collected, self._collected_db = collected, db_datetime(collected)
        collected_db = self._collected_db
        self.specimens.add(
            (
                pk, self.organization_id, parsed.barcode,
                collection_id, participant_id,
                parsed.source_organism, parsed.source_strain, "", mtype.category_id, type_id,
                type_id, quantity, remaining, parsed.unit, "", "", collected_db, "",
                parsed.sprec, 0, status, False, False, False, delinked, self.now_db, self.now_db,
            )
        )  # fmt: skip
        if parent_id is None:
            activity = "collection" if participant_id is not None else "acquisition"
            result = "" if collected is not None else "imported; collection time not recorded"
        else:
            activity = "preparation"
            aliquot = _parent_type(checked, parsed) == type_id
            kind = "aliquot" if aliquot else "derivative"  # Lineage.Kind, as plain text
            result = f"{kind} of {parsed.parent_barcode}"
            taken = parsed.taken if parsed.taken is not None else (
                parsed.quantity if aliquot else 0
            )  # fmt: skip
            self.lineage.add((parent_id, pk, kind, _decimal(taken), self.now_db))
        self.events.add(
            (pk, activity, collected_db if collected else self.now_db, self.actor_id,
             "", "", "{}", result, self.now_db)
        )  # fmt: skip
        container = label = None
        if parsed.box is not None and parsed.position is not None:
            box, (row, column) = parsed.box, parsed.position
            assert box.geometry is not None
            label = _label(box.geometry, row, column)
            container = box.barcode
            self.placements.add((box.id, row, column, pk, self.now_db, self.actor_id))
            self.events.add(
                (pk, "storage", self.now_db, self.actor_id, "", "", box.parameters,
                 f"{container} {label}", self.now_db)
            )  # fmt: skip
            self.per_box[box.id] = (box, self.per_box.get(box.id, (box, 0))[1] + 1)
        for data_field, value in parsed.data:
            self.data.add((data_field.id, pk, value, self.now_db))
        after = _after_json(
            parsed, collection_id, participant_id, type_id, quantity, remaining, status,
            container, label,
        )  # fmt: skip
        self.audit.add_json("specimens.specimen", str(pk), parsed.barcode, after)

    def close(self) -> None:
        """Send the last batches and wait for them, then the few writes through the ORM."""
        for name in ("specimens", "lineage", "events", "placements", "data"):
            getattr(self, name).close()
        self.audit.flush()
        self.session.drain()  # the connection is this thread's again
        self.audit.close()
        for barcode, parent in self.checked.existing_parents.items():
            specimen = Specimen.objects.select_for_update().get(pk=parent.id)
            before = {"remaining": str(specimen.remaining)}
            specimen.remaining = _decimal(parent.remaining)
            specimen.save(update_fields=["remaining", "updated_at"])
            audit_record(
                actor=None if self.actor_id is None else User.objects.get(pk=self.actor_id),
                action=AuditEvent.Action.UPDATE,
                organization=self.context.organization,
                instance=specimen,
                object_repr=barcode,
                before=before,
                after={"remaining": str(specimen.remaining)},
                reason="children imported",
            )
        StorageAccess.objects.bulk_create(
            StorageAccess(
                unit_id=box.equipment_id,
                person_id=self.actor_id,
                at=self.now,
                purpose=StorageAccess.Purpose.PLACING,
                note=(
                    _("import: %(count)d specimens into %(box)s")
                    % {"count": count, "box": box.barcode}
                )[:200],
            )
            for box, count in self.per_box.values()
        )
        self.audit.close()


def _parent_type(checked: _Checked, parsed: _Parsed) -> int:
    index = checked.index.get(parsed.parent_barcode)
    if index is not None:
        return int(checked.types[index])
    return checked.existing_parents[parsed.parent_barcode].material_type_id


def import_specimens(
    path: Path,
    *,
    organization_code: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: User | None = None,
) -> ImportReport:
    """Specimens with their lineage, positions and associated data, all-or-nothing.

    Columns ``barcode,participant_code,collection_code,material_type,quantity,unit,
    collected_at,parent_barcode,sprec,container_barcode,position``; optional
    ``quantity_taken``, ``source_organism``, ``source_strain`` and data-field keys.
    """
    # The import keeps millions of small objects alive and creates no reference cycles; the
    # cyclic collector would walk all of them again and again (most of the time at a million
    # rows), so it pauses for the import.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_specimens(path, organization_code, dry_run, progress, actor)
    finally:
        if collecting:
            gc.enable()


def _import_specimens(
    path: Path,
    organization_code: str,
    dry_run: bool,
    progress: Progress | None,
    actor: User | None,
) -> ImportReport:
    report = ImportReport(kind="specimens", dry_run=dry_run)
    organization = Organization.objects.filter(code=organization_code).first()
    if organization is None:
        report.add_error(0, "", _("no organization %s") % organization_code)
        return report
    require_permission(actor, "specimen.manage", organization)
    context = _load(organization)
    table = open_table(
        path,
        required=COLUMNS,
        optional=OPTIONAL,
        allow_extra=lambda name: name.casefold() in context.fields,
    )
    extra = [c for c in table.columns if c not in COLUMNS and c not in OPTIONAL]

    def tell(phase: str) -> Callable[[int], None]:
        def told(rows: int) -> None:
            if progress is not None:
                progress(rows, table.fraction, phase)

        return told

    spool = None if dry_run else _Spool()
    try:
        checked = _check(iter(table), context, extra, report, tell("checking"), spool)
        if not report.ok or spool is None:
            report.created = len(checked.types) if report.ok else 0
            return report
        written = _write(context, checked, actor, spool, tell("writing"))
    finally:
        if spool is not None:
            spool.close()
    report.created = written
    if written >= STATISTICS_AFTER:
        _refresh_statistics()
    return report


def _write(
    context: _Context,
    checked: _Checked,
    actor: User | None,
    spool: _Spool,
    told: Callable[[int], None],
) -> int:
    """The second pass, in one transaction: the spooled rows through ``_Writer``."""
    if spool.rows != len(checked.types):
        raise RuntimeError("the import's spool lost rows")  # a full disk would show here
    with transaction.atomic(), BulkSession() as session:
        writer = _Writer(context, checked, actor, session)
        written = 0
        for parsed in spool.parsed(context):
            writer.write(parsed)
            written += 1
            if written % CHUNK == 0:
                told(written)
        if written != len(checked.types):
            raise RuntimeError("the import's spool lost rows")
        writer.close()
        told(written)
    return written


STATISTICS_AFTER = 10_000  # rows imported after which the planner's statistics are refreshed


def _refresh_statistics() -> None:
    """Tell the query planner how the tables grew: PostgreSQL plans a fresh million rows as if
    the tables were empty until ANALYZE (a first search page of 200 ms instead of 7 ms)."""
    tables = [
        model._meta.db_table
        for model in (Specimen, SpecimenEvent, Lineage, Placement, Participant, AuditEvent)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
        else:
            cursor.execute("PRAGMA optimize")


COLLECTION_COLUMNS = ("code", "name", "principal_investigator", "irb_reference")
COLLECTION_OPTIONAL = ("kind", "irb_valid_from", "irb_valid_until", "material_types", "description")


def import_collections(
    path: Path,
    *,
    organization_code: str,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: User | None = None,
) -> ImportReport:
    """Collections (cohorts, projects), all-or-nothing.

    Columns ``code,name,principal_investigator,irb_reference``; optional ``kind`` (cohort,
    project, …), ``irb_valid_from`` and ``irb_valid_until`` (YYYY-MM-DD), ``material_types``
    (codes separated by spaces or semicolons) and ``description``.
    """
    from datetime import date

    from biobank.core.errors import ApplicationError
    from biobank.specimens.services.collections import collection_create

    report = ImportReport(kind="collections", dry_run=dry_run)
    organization = Organization.objects.filter(code=organization_code).first()
    if organization is None:
        report.add_error(0, "", _("no organization %s") % organization_code)
        return report
    require_permission(actor, "collection.manage", organization)
    existing = set(
        Collection.objects.filter(organization=organization).values_list("code", flat=True)
    )
    types = set(
        MaterialType.objects.filter(
            Q(organization__isnull=True) | Q(organization=organization)
        ).values_list("code", flat=True)
    )
    seen: dict[str, int] = {}
    valid: list[dict[str, Any]] = []
    for row in open_table(path, required=COLLECTION_COLUMNS, optional=COLLECTION_OPTIONAL):
        report.rows += 1
        v = row.values
        before = report.error_count
        code = v["code"]
        if not code:
            report.add_error(row.number, "code", _("required"))
        elif len(code) > 40:
            report.add_error(row.number, "code", _("at most 40 characters"))
        elif code in existing:
            report.add_error(row.number, "code", _("%s already exists") % code)
        elif code in seen:
            report.add_error(
                row.number, "code", _("%(barcode)s repeats row %(row)d")
                % {"barcode": code, "row": seen[code]}
            )  # fmt: skip
        seen.setdefault(code, row.number)
        for column, limit in (("name", 200), ("principal_investigator", 120)):
            if not v[column]:
                report.add_error(row.number, column, _("required"))
            elif len(v[column]) > limit:
                report.add_error(row.number, column, _("at most %d characters") % limit)
        kind = v.get("kind", "") or Collection.Kind.COHORT
        if kind not in Collection.Kind.values:
            report.add_error(row.number, "kind", _("one of %s") % ", ".join(Collection.Kind.values))
        dates: dict[str, date | None] = {}
        for column in ("irb_valid_from", "irb_valid_until"):
            dates[column] = None
            if v.get(column):
                try:
                    dates[column] = date.fromisoformat(v[column])
                except ValueError:
                    report.add_error(row.number, column, _("a date, YYYY-MM-DD"))
        if (
            dates["irb_valid_from"]
            and dates["irb_valid_until"]
            and (dates["irb_valid_until"] < dates["irb_valid_from"])
        ):
            report.add_error(
                row.number, "irb_valid_until", _("The IRB approval ends before it starts.")
            )
        codes = v.get("material_types", "").replace(";", " ").split()
        for unknown in sorted(set(codes) - types):
            report.add_error(row.number, "material_types", _("unknown material type %s") % unknown)
        if report.error_count == before:
            valid.append(
                {
                    "code": code,
                    "name": v["name"],
                    "principal_investigator": v["principal_investigator"],
                    "irb_reference": v["irb_reference"],
                    "irb_valid_from": dates["irb_valid_from"],
                    "irb_valid_until": dates["irb_valid_until"],
                    "kind": kind,
                    "material_types": codes,
                    "description": v.get("description", ""),
                }
            )
        if progress is not None and report.rows % 1000 == 0:
            progress(report.rows, None, "checking")
    if not report.ok or dry_run:
        report.created = len(valid) if report.ok else 0
        return report
    try:
        with transaction.atomic():
            for fields in valid:
                collection_create(actor=actor, organization=organization, **fields)
                report.created += 1
    except ApplicationError as error:
        report.created = 0
        report.add_error(0, "", error.message)
    return report
