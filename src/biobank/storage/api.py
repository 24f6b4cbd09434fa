"""Storage in the HTTP API: units, box contents, placing and moving, temperature readings."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from biobank.core.models import User
from biobank.specimens.selectors import specimen_get_for_user
from biobank.storage import selectors, services
from biobank.storage.models import StorageUnit

router = Router(tags=["storage"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class UnitOut(Schema):
    id: UUID = Field(alias="public_id")
    barcode: str
    name: str
    kind: str
    parent: str | None = None
    rows: int | None
    columns: int | None
    scheme: str
    order: str
    set_point_c: Decimal | None

    @staticmethod
    def resolve_parent(obj: StorageUnit) -> str | None:
        return obj.parent.barcode if obj.parent_id and obj.parent else None


class CellOut(Schema):
    position: str
    barcode: str | None
    material_type: str | None
    status: str | None


class PlaceIn(Schema):
    barcode: str
    position: str


class PlacementOut(Schema):
    unit: str
    position: str
    barcode: str


class ReadingIn(Schema):
    value_c: Decimal
    at: datetime | None = None
    source: str = "monitor"


class ReadingOut(Schema):
    at: datetime
    value_c: Decimal
    excursion_open: bool
    excursion_opened_now: bool


@router.get("/storage/units", response=list[UnitOut])
def unit_list(request: HttpRequest, parent: UUID | None = None) -> list[StorageUnit]:
    """Units at the top (no ``parent``) or the children of ``parent``."""
    units = selectors.unit_list_for_user(request.user).select_related("parent")
    if parent is None:
        return list(units.filter(parent__isnull=True))
    return list(units.filter(parent__public_id=parent))


@router.get("/storage/units/{unit_id}", response=UnitOut)
def unit_detail(request: HttpRequest, unit_id: UUID) -> StorageUnit:
    return selectors.unit_get_for_user(request.user, unit_id)


@router.get("/storage/units/{unit_id}/contents", response=list[CellOut])
def unit_contents(request: HttpRequest, unit_id: UUID) -> list[dict[str, Any]]:
    """Every position of a box, empty ones included, in row order."""
    unit = selectors.unit_get_for_user(request.user, unit_id)
    grid = selectors.box_grid(unit)
    return [
        {
            "position": cell.label,
            "barcode": cell.specimen.barcode if cell.specimen else None,
            "material_type": cell.specimen.material_type.code if cell.specimen else None,
            "status": cell.specimen.status if cell.specimen else None,
        }
        for _label, row in grid.rows
        for cell in row
    ]


@router.post("/storage/units/{unit_id}/placements", response={201: PlacementOut})
def unit_place(request: HttpRequest, unit_id: UUID, payload: PlaceIn) -> Status:
    unit = selectors.unit_get_for_user(request.user, unit_id)
    specimen = specimen_get_for_user(request.user, payload.barcode)
    placement = services.specimen_place(
        actor=_user(request), specimen=specimen, unit=unit, position=payload.position
    )
    return Status(
        201,
        {
            "unit": unit.barcode,
            "position": services.label_of(placement),
            "barcode": specimen.barcode,
        },
    )


@router.post("/storage/units/{unit_id}/moves", response={201: PlacementOut})
def unit_move_in(request: HttpRequest, unit_id: UUID, payload: PlaceIn) -> Status:
    unit = selectors.unit_get_for_user(request.user, unit_id)
    specimen = specimen_get_for_user(request.user, payload.barcode)
    placement = services.specimen_move(
        actor=_user(request), specimen=specimen, unit=unit, position=payload.position
    )
    return Status(
        201,
        {
            "unit": unit.barcode,
            "position": services.label_of(placement),
            "barcode": specimen.barcode,
        },
    )


@router.post("/storage/units/{unit_id}/readings", response={201: ReadingOut})
def unit_reading(request: HttpRequest, unit_id: UUID, payload: ReadingIn) -> Status:
    """A temperature reading, as a monitor posts it; an excursion opens an obligation."""
    unit = selectors.unit_get_for_user(request.user, unit_id)
    at = payload.at or timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    result = services.temperature_record(
        actor=_user(request), unit=unit, at=at, value_c=payload.value_c, source=payload.source
    )
    return Status(
        201,
        {
            "at": result.reading.at,
            "value_c": result.reading.value_c,
            "excursion_open": result.excursion is not None and result.excursion.ended_at is None,
            "excursion_opened_now": result.opened,
        },
    )


class FindIn(Schema):
    barcodes: list[str]
    keep_together: bool = False
    place: bool = False


class SuggestionOut(Schema):
    barcode: str
    unit: str
    position: str


class CheckOutIn(Schema):
    reason: str


class AccessOut(Schema):
    at: datetime
    person: str | None = Field(None, alias="person.username")
    unit: str = Field(alias="unit.barcode")
    purpose: str
    specimen: str | None = Field(None, alias="specimen.barcode")
    note: str


@router.post("/storage/units/{unit_id}/find-places", response=list[SuggestionOut])
def unit_find_places(request: HttpRequest, unit_id: UUID, payload: FindIn) -> list[dict[str, str]]:
    """Free positions under the unit for the barcodes, in fill order; ``place`` places them."""
    unit = selectors.unit_get_for_user(request.user, unit_id)
    specimens = [specimen_get_for_user(request.user, b) for b in payload.barcodes]
    places = services.find_places(
        within=unit, specimens=specimens, keep_together=payload.keep_together
    )
    out = []
    for specimen, box, row, column in places:
        if payload.place:
            services.specimen_place(
                actor=_user(request), specimen=specimen, unit=box, position=(row, column)
            )
        out.append(
            {
                "barcode": specimen.barcode,
                "unit": box.barcode,
                "position": services.rules.label(services.geometry(box), row, column),
            }
        )
    return out


@router.post("/specimens/{barcode}/check-out", response={201: dict})
def specimen_check_out(request: HttpRequest, barcode: str, payload: CheckOutIn) -> Status:
    specimen = specimen_get_for_user(request.user, barcode)
    checkout = services.specimen_check_out(
        actor=_user(request), specimen=specimen, reason=payload.reason
    )
    return Status(201, {"barcode": specimen.barcode, "out_at": checkout.out_at.isoformat()})


@router.post("/specimens/{barcode}/check-in", response={201: dict})
def specimen_check_in(request: HttpRequest, barcode: str) -> Status:
    specimen = specimen_get_for_user(request.user, barcode)
    services.specimen_check_in(actor=_user(request), specimen=specimen)
    return Status(
        201,
        {
            "barcode": specimen.barcode,
            "minutes_out_of_storage": round(
                services.time_out_of_storage(specimen).total_seconds() / 60, 1
            ),
        },
    )


@router.get("/storage/units/{unit_id}/access", response=list[AccessOut])
def unit_access(request: HttpRequest, unit_id: UUID) -> list[Any]:
    """Access records of the unit and everything under it, last three years (BS-07)."""
    unit = selectors.unit_get_for_user(request.user, unit_id)
    return list(selectors.access_records(unit)[:5000])
