"""Reads for storage, narrowed to the user's organizations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from biobank.core.tenancy import AnyUser, organizations_with_permission
from biobank.specimens.models import Specimen
from biobank.storage import rules
from biobank.storage.models import Placement, StorageAccess, StorageUnit
from biobank.storage.services import ancestors, geometry


def unit_list_for_user(user: AnyUser) -> QuerySet[StorageUnit]:
    return StorageUnit.objects.filter(
        organization__in=organizations_with_permission(user, "storage.view")
    ).select_related("organization")


def unit_get_for_user(user: AnyUser, public_id: UUID | str) -> StorageUnit:
    unit = unit_list_for_user(user).filter(public_id=public_id).select_related("site").first()
    if unit is None:
        raise Http404("storage unit not found")
    return unit


@dataclass
class Cell:
    row: int
    column: int
    label: str
    specimen: Specimen | None


@dataclass
class Grid:
    unit: StorageUnit
    rows: list[tuple[str, list[Cell]]]
    column_labels: list[str]
    used: int
    capacity: int


def box_grid(unit: StorageUnit) -> Grid:
    """The positions of a box with what is in each: one query, whatever the stock size."""
    shape = geometry(unit)
    placed = {
        (p.row, p.column): p.specimen
        for p in Placement.objects.filter(unit=unit).select_related(
            "specimen__material_type", "specimen__participant"
        )
    }
    rows = [
        (
            chr(64 + r) if shape.scheme == "alpha" else str(r),
            [
                Cell(r, c, rules.label(shape, r, c), placed.get((r, c)))
                for c in range(1, shape.columns + 1)
            ],
        )
        for r in range(1, shape.rows + 1)
    ]
    return Grid(
        unit=unit,
        rows=rows,
        column_labels=[str(c) for c in range(1, shape.columns + 1)],
        used=len(placed),
        capacity=shape.rows * shape.columns,
    )


def breadcrumbs(unit: StorageUnit) -> list[StorageUnit]:
    return [*ancestors(unit), unit]


def access_records(unit: StorageUnit, *, years: int = 3) -> QuerySet[StorageAccess]:
    """Access records of the unit and everything under it, the last ``years`` years (BS-07)."""
    since = timezone.now() - timedelta(days=365 * years + 1)
    return (
        StorageAccess.objects.filter(unit__path__startswith=unit.path, at__gte=since)
        .select_related("person", "unit", "specimen")
        .order_by("-at", "-id")
    )


def inventory(unit: StorageUnit) -> QuerySet[Placement]:
    """保存清單: everything stored under ``unit``, in storage order."""
    return (
        Placement.objects.filter(unit__path__startswith=unit.path)
        .select_related(
            "unit", "specimen__material_type", "specimen__participant", "specimen__collection"
        )
        .order_by("unit__path", "row", "column")
    )
