"""Storage for ``biobank demo``: a freezer room with two -80 °C freezers (racks A and B of
9 × 9 boxes), an LN2 tank, temperature readings, and the demo's specimens placed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from biobank.core.demo import DemoContext
from biobank.core.models import Site
from biobank.specimens.models import Specimen
from biobank.storage import services
from biobank.storage.models import ContainerType, StorageUnit

D = Decimal


def _tree(context: DemoContext) -> dict[str, StorageUnit]:
    demo, lin = context.organizations["DEMO"], context.users["lin"]
    site = Site.objects.filter(organization=demo, code="FRZ-ROOM").first()
    box_type = ContainerType.objects.get(organization=None, code="BOX-9X9")
    made: dict[str, StorageUnit] = {}
    room = services.unit_create(
        actor=lin,
        organization=demo,
        barcode="B2-FRZ",
        name="B2 超低溫冷凍庫房",
        kind="room",
        site=site,
    )
    for code in ("F-80-01", "F-80-02"):
        freezer = services.unit_create(
            actor=lin,
            organization=demo,
            barcode=code,
            name=f"{code} -80 °C 冷凍櫃",
            kind="freezer",
            parent=room,
            set_point_c=D("-80"),
            alarm_low_c=D("-95"),
            alarm_high_c=D("-65"),
        )
        made[code] = freezer
        for rack_letter in "AB":
            rack = services.unit_create(
                actor=lin,
                organization=demo,
                barcode=f"{code}-R{rack_letter}",
                name=f"{code} 架 {rack_letter}",
                kind="rack",
                parent=freezer,
            )
            for n in range(1, 6):
                made[f"{code}-{rack_letter}{n}"] = services.unit_create(
                    actor=lin,
                    organization=demo,
                    barcode=f"{code}-{rack_letter}{n}",
                    name=f"{code} 架 {rack_letter} 盒 {n}",
                    kind="box",
                    parent=rack,
                    container_type=box_type,
                )
    tank = services.unit_create(
        actor=lin,
        organization=demo,
        barcode="LN2-01",
        name="液態氮桶 1",
        kind="ln2_tank",
        parent=room,
        set_point_c=D("-190"),
        alarm_high_c=D("-150"),
    )
    made["LN2-01"] = tank
    canister = services.unit_create(
        actor=lin, organization=demo, barcode="LN2-01-C1", name="提桶 1", kind="rack", parent=tank
    )
    for n in range(1, 5):
        services.unit_create(
            actor=lin,
            organization=demo,
            barcode=f"LN2-01-C1-{n}",
            name=f"提桶 1 盒 {n}",
            kind="box",
            parent=canister,
            container_type=box_type,
        )
    return made


def _place(
    context: DemoContext, within: StorageUnit, specimens: list[Specimen], keep: bool
) -> None:
    chen = context.users["chen"]
    for specimen, box, row, column in services.find_places(
        within=within, specimens=specimens, keep_together=keep
    ):
        services.specimen_place(
            actor=chen,
            specimen=specimen,
            unit=box,
            position=(row, column),
            at=specimen.collected_at + timedelta(hours=2) if specimen.collected_at else None,
        )


def load(context: DemoContext) -> None:
    demo = context.organizations["DEMO"]
    if StorageUnit.objects.filter(organization=demo).exists():
        return
    units = _tree(context)
    available = Specimen.objects.filter(organization=demo, status="available").select_related(
        "material_type"
    )
    # the first 120 visits' plasma in the freezers, some buffy coat and tissue in LN2 (the rest
    # of the demo stock stays to be placed, as in a real week)
    plasma = list(available.filter(material_type__code="PLASMA").order_by("barcode")[:240])
    half = len(plasma) // 2
    _place(context, units["F-80-01"], plasma[:half], keep=True)
    _place(context, units["F-80-02"], plasma[half:], keep=True)
    cold = list(
        available.filter(material_type__code__in=["BUFFY_COAT", "TISSUE_FROZEN"]).order_by(
            "barcode"
        )[:300]
    )
    _place(context, units["LN2-01"], cold, keep=False)
    # a week of readings; F-80-02 warmed up for a while last Tuesday
    lin = context.users["lin"]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for hours in range(7 * 24, 0, -6):
        at = now - timedelta(hours=hours)
        services.temperature_record(actor=lin, unit=units["F-80-01"], at=at, value_c=D("-79.5"))
        warm = 100 <= hours <= 106
        services.temperature_record(
            actor=lin, unit=units["F-80-02"], at=at, value_c=D("-58.0") if warm else D("-80.2")
        )
