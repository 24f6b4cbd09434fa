"""A small freezer for storage tests: room → -80 °C freezer → rack → two 9 × 9 boxes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from biobank.specimens.models import Specimen
from biobank.specimens.services import specimens as specimen_services
from biobank.storage import services
from biobank.storage.models import StorageUnit
from tests.participants.conftest import general_form  # noqa: F401 (fixture)
from tests.specimens.conftest import consenting  # noqa: F401 (fixture)


@dataclass
class Freezer:
    room: StorageUnit
    freezer: StorageUnit
    rack: StorageUnit
    box1: StorageUnit
    box2: StorageUnit


@pytest.fixture
def freezer(cast) -> Freezer:
    room = services.unit_create(
        actor=cast.manager, organization=cast.demo, barcode="ROOM-1", name="room", kind="room"
    )
    f80 = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="F-80-01",
        name="freezer",
        kind="freezer",
        parent=room,
        set_point_c=Decimal("-80"),
        alarm_low_c=Decimal("-95"),
        alarm_high_c=Decimal("-65"),
    )
    rack = services.unit_create(
        actor=cast.manager,
        organization=cast.demo,
        barcode="RACK-A",
        name="rack A",
        kind="rack",
        parent=f80,
    )
    box1, box2 = (
        services.unit_create(
            actor=cast.manager,
            organization=cast.demo,
            barcode=f"BOX-{n}",
            name=f"box {n}",
            kind="box",
            parent=rack,
            rows=9,
            columns=9,
        )
        for n in (1, 2)
    )
    return Freezer(room, f80, rack, box1, box2)


def seeds(cast, count: int) -> list[Specimen]:
    """Non-human specimens: quick to make, no consent needed."""
    return [
        specimen_services.specimen_register(
            actor=cast.technician,
            organization=cast.demo,
            material_type="SEED",
            quantity=Decimal("10"),
            unit="g",
            source_organism="Oryza sativa",
        )
        for _ in range(count)
    ]
